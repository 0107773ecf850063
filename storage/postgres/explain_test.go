package postgres_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage/postgres"
)

// explainSize is how many incidents TestListUsesIndexes loads.
const explainSize = 100_000

// loadIncidents fills the store with n incidents (one journal entry and
// one SLA timer each) with COPY, spread so that each List filter selects
// a small share:
//
//	state       70 % closed, 10 % resolved, 10 % in_progress, 5 % new, 3 % on_hold, 2 % canceled
//	priority    2 % critical (1), the rest 2..5
//	assignee    500 people; assignment group 200 groups; service 100 services
//	links       a problem for every tenth incident, a change for every twentieth
//	timers      met for closed, resolved and canceled incidents; for the
//	            others running, breached for 1 % of all incidents and at
//	            risk at now for another 1 %, due in days for the rest
//
// It returns the instant the breached and at-risk filters are judged at.
func loadIncidents(t *testing.T, s *postgres.Store, n int) time.Time {
	t.Helper()
	ctx := t.Context()
	now := t0.Add(time.Duration(n+1440) * time.Minute)
	states := func(k int) incident.State {
		switch m := k % 100; {
		case m < 70:
			return incident.Closed
		case m < 80:
			return incident.Resolved
		case m < 90:
			return incident.InProgress
		case m < 95:
			return incident.New
		case m < 98:
			return incident.OnHold
		default:
			return incident.Canceled
		}
	}
	incRows := make([][]any, n)
	journal := make([][]any, n)
	var problems, changes [][]any
	timers := make([][]any, n)
	for k := range n {
		opened := t0.Add(time.Duration(k) * time.Minute)
		prio := 2 + k%4
		if k%50 == 0 {
			prio = 1
		}
		st := states(k)
		incRows[k] = []any{fmt.Sprintf("inc-%06d", k), fmt.Sprintf("INC%07d", k), fmt.Sprintf("Incident %d on host %d", k, k%997),
			"Generated for the plan test", "carol", "Carol", []string{"employee"},
			fmt.Sprintf("svc-%03d", k%100), "", "", int16(2), int16(2), int16(prio), false,
			string(st), "", fmt.Sprintf("group-%03d", k%200), fmt.Sprintf("user-%03d", k%500), "", "", "",
			opened, nil, nil, nil, opened, int32(0), false, "", int64(1)}
		if k%10 == 0 {
			problems = append(problems, []any{fmt.Sprintf("inc-%06d", k), int32(0), fmt.Sprintf("prb-%d", k/10)})
		}
		if k%20 == 0 {
			changes = append(changes, []any{fmt.Sprintf("inc-%06d", k), int32(0), fmt.Sprintf("chg-%d", k/20)})
		}
		journal[k] = []any{fmt.Sprintf("inc-%06d", k), int32(0), "comment", "carol", opened, "It is down."}
		var (
			stage                    = "met"
			atRisk, breach, nextWake any
		)
		switch {
		case st == incident.Closed || st == incident.Resolved || st == incident.Canceled:
		case k%100 == 85: // breached
			stage, atRisk, breach = "breached", opened.Add(-time.Hour), opened.Add(time.Hour)
		case k%100 == 86: // at risk at now
			stage, atRisk, breach, nextWake = "running", now.Add(-time.Hour), now.Add(time.Hour), now.Add(time.Hour)
		default:
			stage, atRisk, breach, nextWake = "running", now.Add(240*time.Hour), now.Add(480*time.Hour), now.Add(240*time.Hour)
		}
		timers[k] = []any{fmt.Sprintf("tmr-%06d", k), fmt.Sprintf("inc-%06d", k), []byte(`{}`), stage, atRisk, breach, nextWake}
	}
	schema := s.Schema()
	_, err := s.Pool().CopyFrom(ctx, pgx.Identifier{schema, "incidents"}, []string{"id", "number", "title", "description",
		"caller_id", "caller_name", "caller_roles", "service", "config_item", "category", "impact", "urgency", "priority",
		"priority_overridden", "state", "hold_reason", "assignment_group", "assignee", "resolution_code", "resolution_notes",
		"cancel_reason", "opened_at", "first_response_at", "resolved_at", "closed_at", "updated_at", "reopen_count", "major",
		"parent_id", "version"}, pgx.CopyFromRows(incRows))
	require.NoError(t, err)
	_, err = s.Pool().CopyFrom(ctx, pgx.Identifier{schema, "incident_journal"},
		[]string{"incident_id", "position", "kind", "author", "at", "text"}, pgx.CopyFromRows(journal))
	require.NoError(t, err)
	_, err = s.Pool().CopyFrom(ctx, pgx.Identifier{schema, "incident_problems"},
		[]string{"incident_id", "position", "problem_id"}, pgx.CopyFromRows(problems))
	require.NoError(t, err)
	_, err = s.Pool().CopyFrom(ctx, pgx.Identifier{schema, "incident_changes"},
		[]string{"incident_id", "position", "change_id"}, pgx.CopyFromRows(changes))
	require.NoError(t, err)
	_, err = s.Pool().CopyFrom(ctx, pgx.Identifier{schema, "sla_timers"},
		[]string{"id", "incident_id", "timer", "stage", "at_risk_at", "breach_at", "next_wake_at"}, pgx.CopyFromRows(timers))
	require.NoError(t, err)
	_, err = s.Pool().Exec(ctx, "ANALYZE "+schema+".incidents, "+schema+".incident_journal, "+schema+".sla_timers, "+
		schema+".incident_problems, "+schema+".incident_changes")
	require.NoError(t, err)
	return now
}

// planNode is the part of EXPLAIN (FORMAT JSON) output the test reads.
type planNode struct {
	NodeType     string     `json:"Node Type"`
	RelationName string     `json:"Relation Name"`
	IndexName    string     `json:"Index Name"`
	Plans        []planNode `json:"Plans"`
}

func (p planNode) walk(fn func(planNode)) {
	fn(p)
	for _, c := range p.Plans {
		c.walk(fn)
	}
}

// TestListUsesIndexes loads 100 000 incidents and checks that the List
// statement of every filter reads incidents and timers through the
// intended index rather than scanning them.
func TestListUsesIndexes(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 100 000 incidents; skipped with -short")
	}
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	now := loadIncidents(t, s, explainSize)

	page, err := s.List(ctx, incident.Query{States: []incident.State{incident.New}, Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Incidents, 10)
	cursor := page.Next

	cases := []struct {
		name    string
		q       incident.Query
		indexes []string // each must be used; any of the alternatives separated by |
	}{
		{"State", incident.Query{States: []incident.State{incident.OnHold}}, []string{"incidents_state_idx"}},
		{"Priority", incident.Query{Priorities: []itsm.Priority{itsm.PriorityCritical}}, []string{"incidents_priority_idx"}},
		{"Assignee", incident.Query{Assignee: "user-042"}, []string{"incidents_assignee_idx"}},
		{"AssignmentGroup", incident.Query{AssignmentGroup: "group-007"}, []string{"incidents_group_idx"}},
		{"Service", incident.Query{Service: "svc-013"}, []string{"incidents_service_idx"}},
		// With 1 % of incidents breached, walking the list order and probing
		// each incident's timers finds a page soonest; when few timers have
		// breached (judged early), the breach index leads.
		{"Breached", incident.Query{Breached: true, Now: now}, []string{"sla_timers_breach_idx|sla_timers_pkey"}},
		{"BreachedRare", incident.Query{Breached: true, Now: t0.Add(2000 * time.Minute)}, []string{"sla_timers_breach_idx"}},
		{"AtRisk", incident.Query{AtRisk: true, Now: now}, []string{"sla_timers_at_risk_idx|sla_timers_pkey"}},
		{"Paging", incident.Query{After: cursor}, []string{"incidents_opened_idx"}},
		{"PagingWithState", incident.Query{States: []incident.State{incident.New}, After: cursor}, []string{"incidents_state_idx"}},
	}
	var trigram bool
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", s.Schema()+".incidents_text_trgm_idx").Scan(&trigram))
	if trigram {
		cases = append(cases, struct {
			name    string
			q       incident.Query
			indexes []string
		}{"Text", incident.Query{Text: "INC0077777"}, []string{"incidents_text_trgm_idx"}})
	} else {
		t.Log("pg_trgm is not available: Text searches scan, not checked")
	}
	for _, tc := range cases {
		sql, args, err := postgres.ListSQL(s, tc.q)
		require.NoError(t, err)
		requirePlan(t, s, tc.name, sql, args, tc.indexes...)
		// And the statement runs and finds something.
		page, err := s.List(ctx, tc.q)
		require.NoError(t, err, tc.name)
		require.NotEmpty(t, page.Incidents, tc.name)
	}

	// The other readers that select by more than a key, and an
	// incident's timers, read through the primary key (incident_id, id).
	children, resolved, timers, due, claim := postgres.ReaderSQL(s)
	requirePlan(t, s, "Children", children, []any{"inc-000007"}, "incidents_parent_idx")
	requirePlan(t, s, "ResolvedBefore", resolved, []any{t0.Add(time.Hour), 100}, "incidents_resolved_idx")
	requirePlan(t, s, "Timers", timers, []any{"inc-000007"}, "sla_timers_pkey")
	requirePlan(t, s, "TimersDue", due, []any{now, 100}, "sla_timers_wake_idx")
	requirePlan(t, s, "ClaimDue", claim, []any{now, 100}, "sla_timers_wake_idx")
	// Due timers come in the wake index's order, without sorting.
	requireUnsorted(t, s, "TimersDue", due, []any{now, 100})
	requireUnsorted(t, s, "ClaimDue", claim, []any{now, 100})
}

// requirePlan explains sql and fails unless it uses each of indexes (any
// of the alternatives separated by |) and scans none of the adapter's big
// tables sequentially. It logs the plan's scans.
func requirePlan(t *testing.T, s *postgres.Store, name, sql string, args []any, indexes ...string) {
	t.Helper()
	used := map[string]bool{}
	var summary []string
	explain(t, s, name, sql, args).walk(func(p planNode) {
		if p.IndexName != "" {
			used[p.IndexName] = true
		}
		if p.NodeType == "Seq Scan" {
			require.NotContains(t, []string{"incidents", "sla_timers", "incident_journal", "incident_problems", "incident_changes"},
				p.RelationName, "%s: sequential scan of %s", name, p.RelationName)
		}
		if p.RelationName != "" || p.IndexName != "" {
			summary = append(summary, p.NodeType+" "+p.RelationName+" "+p.IndexName)
		}
	})
	for _, want := range indexes {
		found := false
		for _, alt := range strings.Split(want, "|") {
			found = found || used[alt]
		}
		require.Truef(t, found, "%s: %s not used; plan: %s", name, want, strings.Join(summary, "; "))
	}
	t.Logf("%-16s %s", name, strings.Join(summary, "; "))
}

// requireUnsorted explains sql and fails if the plan sorts rows.
func requireUnsorted(t *testing.T, s *postgres.Store, name, sql string, args []any) {
	t.Helper()
	explain(t, s, name, sql, args).walk(func(p planNode) {
		require.NotContains(t, []string{"Sort", "Incremental Sort"}, p.NodeType, "%s: the plan sorts", name)
	})
}

// explain returns the plan of sql with args.
func explain(t *testing.T, s *postgres.Store, name, sql string, args []any) planNode {
	t.Helper()
	var raw []byte
	require.NoError(t, s.Pool().QueryRow(t.Context(), "EXPLAIN (FORMAT JSON) "+sql, args...).Scan(&raw), name)
	var out []struct{ Plan planNode }
	require.NoError(t, json.Unmarshal(raw, &out))
	require.Len(t, out, 1)
	return out[0].Plan
}
