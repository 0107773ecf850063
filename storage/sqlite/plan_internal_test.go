package sqlite

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
)

// planIncidents is how many incidents TestQueryPlansUseIndexes loads:
// 100 000, or 10 000 under the race detector, where loading 100 000 takes
// minutes (the plans are the same; the test runs with one goroutine, so
// the race detector has nothing to find in it).
var planIncidents = map[bool]int{false: 100_000, true: 10_000}[raceEnabled]

// loadPlanData fills s with planIncidents incidents and one timer each, in
// one transaction, and runs ANALYZE (the triggers on sla_timers fill in
// the incidents' SLA summary). The rows are generated inside SQLite
// (a recursive CTE, one prepared INSERT per table), and the indexes of the
// two tables are dropped for the load and built again from their stored
// definitions afterwards, which sorts once instead of inserting row by
// row. now is the instant the breached and at-risk filters are judged at:
// about 1 % of the timers are breached then and 1 % more at risk.
func loadPlanData(t *testing.T, s *Store, base, now time.Time) {
	t.Helper()
	ctx := t.Context()
	tx, err := s.w.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()

	var indexes []string
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_schema
		WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('incidents', 'sla_timers')`)
	require.NoError(t, err)
	var names []string
	for rows.Next() {
		var name, def string
		require.NoError(t, rows.Scan(&name, &def))
		names, indexes = append(names, name), append(indexes, def)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	require.NotEmpty(t, indexes)
	for _, name := range names {
		_, err := tx.ExecContext(ctx, "DROP INDEX "+name)
		require.NoError(t, err)
	}

	states, err := json.Marshal([]incident.State{incident.New, incident.InProgress, incident.OnHold, incident.Resolved, incident.Closed, incident.Canceled})
	require.NoError(t, err)
	const series = "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1) "
	// Pairs of incidents share their OpenedAt (the ID decides), every
	// 1000th is a child of inc-000001, the resolved ones are resolved an
	// hour after opening.
	_, err = tx.ExecContext(ctx, series+`INSERT INTO incidents (`+incidentCols+`)
		SELECT printf('inc-%06d', i), printf('INC%07d', i), 'Incident ' || i, 'Something is broken',
			'carol', '', '[]', printf('svc-%02d', i % 50), '', '', 1, 1, i % 5 + 1, 0,
			json_extract(?, '$[' || (i % 6) || ']'), '', printf('group-%02d', i % 20), printf('agent-%03d', i % 200),
			'', '', '', ? + (i / 2) * 1000000, NULL,
			CASE WHEN i % 6 = 3 THEN ? + (i / 2) * 1000000 + 3600000000 END, NULL, ? + (i / 2) * 1000000,
			0, 0, CASE WHEN i % 1000 = 999 THEN 'inc-000001' END, 1
		FROM n`, planIncidents, string(states), micro(base), micro(base), micro(base))
	require.NoError(t, err)
	// Timers breach from an hour before now on, spread evenly over 100
	// hours, and are at risk an hour before they breach.
	breach0 := micro(now.Add(-time.Hour))
	step := (100 * time.Hour).Microseconds() / int64(planIncidents)
	_, err = tx.ExecContext(ctx, series+`INSERT INTO sla_timers (id, incident_id, policy, metric, timer, stage, at_risk_at, breach_at, next_wake_at)
		SELECT printf('inc-%06d/gold', i), printf('inc-%06d', i), 'gold', 'resolution', '{}', 'running',
			?2 + i * ?3 - 3600000000, ?2 + i * ?3, ?2 + i * ?3 - 3600000000
		FROM n`, planIncidents, breach0, step)
	require.NoError(t, err)
	for _, def := range indexes {
		_, err := tx.ExecContext(ctx, def)
		require.NoError(t, err)
	}
	_, err = tx.ExecContext(ctx, "ANALYZE")
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	var n int
	require.NoError(t, s.r.QueryRowContext(ctx, "SELECT count(*) FROM incidents").Scan(&n))
	require.Equal(t, planIncidents, n)
}

// plan returns the EXPLAIN QUERY PLAN lines of query.
func plan(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
		out = append(out, detail)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestQueryPlansUseIndexes loads planIncidents incidents and checks that every
// List filter, paging, and the other indexed reads are answered through an
// index, never by scanning a table.
func TestQueryPlansUseIndexes(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 100 000 incidents")
	}
	t.Parallel()
	// A cache large enough that the load never spills to the log before
	// its commit.
	s, err := Open(t.Context(), "file:"+filepath.Join(t.TempDir(), "plan.db")+"?_pragma=cache_size(-131072)", WithSync(SyncNormal))
	require.NoError(t, err)
	defer s.Close()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := base.Add(20 * time.Hour)
	began := time.Now()
	loadPlanData(t, s, base, now)
	t.Logf("loaded %d incidents and timers in %s", planIncidents, time.Since(began).Round(time.Millisecond))

	cursor := incident.Cursor{OpenedAt: base.Add(30 * time.Minute), ID: "inc-003600"}.String()
	lists := []struct {
		name  string
		q     incident.Query
		index string
	}{
		{"state", incident.Query{States: []incident.State{incident.OnHold}}, "incidents_state"},
		{"priority", incident.Query{Priorities: []itsm.Priority{itsm.PriorityCritical}}, "incidents_priority"},
		{"assignee", incident.Query{Assignee: "agent-007"}, "incidents_assignee"},
		{"group", incident.Query{AssignmentGroup: "group-03"}, "incidents_group"},
		{"service", incident.Query{Service: "svc-42"}, "incidents_service"},
		{"breached", incident.Query{Breached: true, Now: now}, "incidents_sla_breach"},
		{"at risk", incident.Query{AtRisk: true, Now: now}, "incidents_sla_at_risk"},
		{"paging", incident.Query{After: cursor}, "incidents_opened"},
		{"paging with state", incident.Query{States: []incident.State{incident.New}, After: cursor}, "incidents_state"},
	}
	type check struct {
		name, index, query string
		args               []any
		empty              bool // the data has no rows for it
	}
	var checks []check
	for _, l := range lists {
		query, args, err := listSQL(l.q)
		require.NoError(t, err)
		checks = append(checks, check{"List/" + l.name, l.index, query, args, false})
	}
	checks = append(checks,
		check{"Children", "incidents_parent", sqlChildren, []any{"inc-000001"}, false},
		check{"ResolvedBefore", "incidents_resolved_open", sqlResolvedBefore, []any{micro(now), 100}, false},
		check{"TimersDue", "incidents_sla_wake", sqlTimersDue, []any{micro(now), 100}, false},
		check{"Timers", "sqlite_autoindex_sla_timers_1", sqlTimers, []any{"inc-000001"}, false},
		check{"History", "audit_events", sqlHistory, []any{"incident", "inc-000001"}, true},
	)
	for _, c := range checks {
		lines := plan(t, s, c.query, c.args...)
		t.Logf("%s:\n\t%s", c.name, strings.Join(lines, "\n\t"))
		joined := strings.Join(lines, "\n")
		require.Contains(t, joined, "USING", c.name)
		require.Contains(t, joined, c.index, c.name)
		for _, line := range lines {
			if strings.HasPrefix(line, "SCAN ") {
				require.Contains(t, line, "USING", "%s scans a table: %s", c.name, line)
				require.NotContains(t, c.name, "/", "%s walks a whole index instead of searching it: %s", c.name, line)
			}
		}
		// The query runs and returns what the plan promises.
		rows, err := s.r.QueryContext(context.Background(), c.query, c.args...)
		require.NoError(t, err, c.name)
		require.Equal(t, !c.empty, rows.Next(), "%s returns rows", c.name)
		require.NoError(t, rows.Close())
	}
}
