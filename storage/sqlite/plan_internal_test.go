package sqlite

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage/internal/sqlrec"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// planRecords is how many records TestQueryPlansUseIndexes loads: 100 000,
// or 10 000 under the race detector, where loading 100 000 takes minutes
// (the plans are the same; the test runs with one goroutine, so the race
// detector has nothing to find in it).
var planRecords = map[bool]int{false: 100_000, true: 10_000}[raceEnabled]

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

// TestQueryPlansUseIndexes loads planRecords records of
// storagetest.CustomKind with their timers (storagetest.LoadRecords) and
// checks that every List filter, the attribute filters of both of the
// kind's filterable attributes, paging, TimersDue and the other reads by
// key are answered by searching an index, never by scanning a table or
// walking a whole index. The database is not analyzed: the plans must not
// depend on statistics an application may never gather.
func TestQueryPlansUseIndexes(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 100 000 records")
	}
	t.Parallel()
	ctx := t.Context()
	// A cache large enough that the load never spills to the log before
	// its commits.
	s, err := Open(ctx, "file:"+filepath.Join(t.TempDir(), "plan.db")+"?_pragma=cache_size(-131072)", WithSync(SyncNormal))
	require.NoError(t, err)
	defer s.Close()
	schema := storagetest.CustomKind()
	began := time.Now()
	now, err := storagetest.LoadRecords(ctx, s, schema, planRecords, 1)
	require.NoError(t, err)
	t.Logf("loaded %d records with their timers in %s", planRecords, time.Since(began).Round(time.Millisecond))

	var parent record.Ref
	require.NoError(t, s.r.QueryRowContext(ctx, "SELECT parent_kind, parent_id FROM records WHERE parent_id <> '' LIMIT 1").Scan(&parent.Kind, &parent.ID))
	var last record.Record
	var opened int64
	require.NoError(t, s.r.QueryRowContext(ctx, "SELECT id, opened_at FROM records ORDER BY opened_at LIMIT 1 OFFSET 5000").Scan(&last.ID, &opened))
	last.OpenedAt = fromMicro(opened)
	cursor := record.CursorAt(record.ByOpened, &last).String()
	yes := true
	month := record.Range{From: now.AddDate(0, -1, 0)}
	year := record.Range{From: now.AddDate(-1, 0, 0), To: now.AddDate(0, -6, 0)}
	// index names the indexes a query must search, separated by
	// spaces; "" takes any index, for
	// the filters whose plans are only logged.
	lists := []struct {
		name  string
		q     record.Query
		index string
	}{
		{"state", record.Query{States: []string{schema.States()[2].Name}}, "records_state"},
		{"state category", record.Query{StateCategories: []itsm.StateCategory{itsm.CategoryPending}}, "records_state_category"},
		{"priority", record.Query{Priorities: []itsm.Priority{itsm.PriorityCritical}}, "records_priority"},
		{"assignee", record.Query{Assignee: "dave"}, "records_assignee"},
		{"group", record.Query{AssignmentGroup: "network-ops"}, "records_group"},
		{"service", record.Query{Service: "email"}, "records_service"},
		{"category", record.Query{Category: "network"}, "records_category"},
		{"requester", record.Query{Requester: "ann"}, "records_requester"},
		{"config item", record.Query{ConfigItem: "mx-01"}, "record_config_items_item"},
		{"parent", record.Query{Parent: parent}, "records_parent"},
		{"major", record.Query{Major: &yes}, "records_major"},
		{"opened", record.Query{Opened: month}, "records_opened"},
		{"resolved", record.Query{Resolved: year, Order: record.ByResolved}, "records_resolved"},
		{"closed", record.Query{Closed: year, Order: record.ByClosed}, "records_closed"},
		// The SLA filters read the timers in List order, each arm through
		// its own index, probe a record's earlier timers by key, and read
		// the records with an unhandled wake-up through records_sla_wake.
		{"breached", record.Query{SLA: record.SLAFilter{Breached: true}, Now: now},
			"sla_timers_breached records_sla_wake sqlite_autoindex_sla_timers_1"},
		{"breached resolution", record.Query{SLA: record.SLAFilter{Breached: true, Metric: sla.MetricResolution}, Now: now},
			"sla_timers_breached_metric records_sla_wake sqlite_autoindex_sla_timers_1"},
		{"breached kind", record.Query{SLA: record.SLAFilter{Breached: true, PolicyKinds: []sla.PolicyKind{sla.KindSLA}}, Now: now},
			"sla_timers_breached records_sla_wake"},
		{"breached resolution month", record.Query{SLA: record.SLAFilter{Breached: true, Metric: sla.MetricResolution}, Now: now,
			Opened: record.Range{From: now.AddDate(0, -6, 0)}, AssignmentGroup: "network-ops"}, "sla_timers_breached_metric records_sla_wake"},
		{"at risk", record.Query{SLA: record.SLAFilter{AtRisk: true}, Now: now},
			"sla_timers_at_risk sla_timers_breach_ahead records_sla_wake sqlite_autoindex_sla_timers_1"},
		{"at risk response", record.Query{SLA: record.SLAFilter{AtRisk: true, Metric: sla.MetricResponse}, Now: now},
			"sla_timers_at_risk sla_timers_breach_ahead records_sla_wake"},
		{"metric", record.Query{SLA: record.SLAFilter{Metric: sla.MetricResponse}}, "sla_timers_metric sqlite_autoindex_sla_timers_1"},
		{"metric paging", record.Query{SLA: record.SLAFilter{Metric: sla.MetricResolution}, After: cursor}, "sla_timers_metric"},
		{"policy kind", record.Query{SLA: record.SLAFilter{PolicyKinds: []sla.PolicyKind{sla.KindOLA}}}, "sla_timers_policy_kind"},
		{"policy kinds", record.Query{SLA: record.SLAFilter{PolicyKinds: []sla.PolicyKind{sla.KindOLA, sla.KindUC}}}, "sla_timers_policy_kind"},
		{"attr site", record.Query{Attrs: []record.AttrFilter{{Name: "site", In: []record.Value{record.Text("north")}}}}, "rattr_work_order_site"},
		{"attr cost", record.Query{Attrs: []record.AttrFilter{{Name: "cost_cents", In: []record.Value{record.Int(42)}}}}, "rattr_work_order_cost_cents"},
		// Several values of one column keep no List order in its index
		// either: SQLite walks the kind in List order.
		{"attr cost in", record.Query{Attrs: []record.AttrFilter{{Name: "cost_cents", In: []record.Value{record.Int(42), record.Int(3)}}}}, ""},
		{"categories", record.Query{StateCategories: []itsm.StateCategory{itsm.CategoryNew, itsm.CategoryActive, itsm.CategoryPending}}, ""},
		{"priorities", record.Query{Priorities: []itsm.Priority{itsm.PriorityCritical, itsm.PriorityHigh}}, ""},
		// A range keeps no List order in the attribute's index: SQLite
		// walks the kind in List order and stops once the page is full,
		// which beats sorting every match of a wide range.
		{"attr cost range", record.Query{Attrs: []record.AttrFilter{{Name: "cost_cents", Min: record.Int(0), Max: record.Int(250)}}}, "records_opened"},
		{"paging", record.Query{After: cursor}, "records_opened"},
		{"paging with state", record.Query{States: []string{schema.States()[0].Name}, After: cursor}, "records_state"},
	}
	type check struct {
		name, index, query string
		args               []any
		rows               bool // the data has rows for it
	}
	var checks []check
	for _, l := range lists {
		l.q.Kind = schema.Kind()
		require.NoError(t, schema.CheckQuery(l.q), l.name)
		query, args := sqlrec.List(sq, schema, l.q, "r.doc")
		checks = append(checks, check{"List/" + l.name, l.index, query, args, true})
	}
	// Two hours back no timer of the data was at risk yet.
	past := record.Query{Kind: schema.Kind(), SLA: record.SLAFilter{AtRisk: true}, Now: now.Add(-2 * time.Hour)}
	pastQuery, pastArgs := sqlrec.List(sq, schema, past, "r.doc")
	checks = append(checks, check{"List/at risk in the past", "sla_timers_at_risk sla_timers_breach_ahead records_sla_wake",
		pastQuery, pastArgs, false})
	summaries, sargs := sqlrec.Summaries(sq, schema.Kind(), []string{parent.ID, "st-000001"})
	checks = append(checks,
		check{"TimersDue", "records_sla_wake", sqlTimersDue, []any{micro(now.Add(8 * time.Hour)), 100}, true},
		check{"Summaries", "sqlite_autoindex_sla_timers_1", summaries, sargs, true},
		check{"Timers", "sqlite_autoindex_sla_timers_1", sqlTimers, []any{parent.Kind, parent.ID}, true},
		check{"Get", "sqlite_autoindex_records_1", sqlGetRecord, []any{parent.Kind, parent.ID}, true},
		check{"GetByNumber", "sqlite_autoindex_records_2", sqlGetByNumber, []any{schema.Kind(), "WO0000001"}, true},
		check{"Journal", "record_journal", sqlJournal, []any{parent.Kind, parent.ID}, false},
		check{"Links", "record_links_from", sqlLinks, []any{parent.Kind, parent.ID}, false},
		// The load writes no events of its own, but saving a timer
		// records the SLA crossings it has reached, with their events.
		check{"History", "audit_events", sqlHistory, []any{parent.Kind, parent.ID}, true},
	)
	for _, c := range checks {
		lines := plan(t, s, c.query, c.args...)
		t.Logf("%s:\n\t%s", c.name, strings.Join(lines, "\n\t"))
		joined := strings.Join(lines, "\n")
		for _, index := range strings.Fields(c.index) {
			require.Contains(t, joined, index, c.name)
		}
		for _, line := range lines {
			// The arms of an SLA filter (a1, a2, ...) and their union (k)
			// are a page each, which the statement reads whole.
			require.False(t, strings.HasPrefix(line, "SCAN ") && !subquery.MatchString(line),
				"%s scans a table or a whole index: %s", c.name, line)
		}
		// The query runs and returns what the plan promises.
		rows, err := s.r.QueryContext(ctx, c.query, c.args...)
		require.NoError(t, err, c.name)
		require.Equal(t, c.rows, rows.Next(), "%s returns rows", c.name)
		require.NoError(t, rows.Close())
	}
}

// subquery matches the plan line of a scan of an SLA arm's rows or of
// their union.
var subquery = regexp.MustCompile(`^SCAN (a[0-9]+|k)$`)
