package postgres_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage/postgres"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// explainSize is how many records TestListUsesIndexes loads.
const explainSize = 100_000

// planLoad is what loadRecords stored, for the queries of the plan test.
type planLoad struct {
	schema *record.Schema
	now    time.Time // when the SLA filters are judged
	parent record.Ref
}

// loadRecords fills the store with n records of the suite's custom kind
// (storagetest.CustomKind), and n/5 of tickets, with COPY: every record
// with one configuration item and one SLA timer, spread so that each List
// filter selects a small share:
//
//	state       7 states in turn; priority 2 % critical (1), the rest 2..5
//	assignee    500 people; group 200; service 100; category 50; requester 1000
//	parent      every 97th record is a child of the fifth
//	major       1 %; the closed and cancelled ones closed, the resolved ones resolved
//	site        north, south and east alike, west for 1 %; cost_cents 0..9999
//	timers      met for finished records; for the others running: breached
//	            for 1 % of all records and at risk at now for another 1 %,
//	            due in days for the rest
func loadRecords(t *testing.T, s *postgres.Store, n int) planLoad {
	t.Helper()
	ctx := t.Context()
	schema := storagetest.CustomKind()
	require.NoError(t, s.Declare(ctx, schema))
	load := planLoad{schema: schema, now: t0.Add(time.Duration(n+1440) * time.Minute),
		parent: record.Ref{Kind: schema.Kind(), ID: "rec-000005"}}
	states := schema.States()
	var recRows, ciRows, timerRows [][]any
	add := func(kind string, k int) {
		opened := t0.Add(time.Duration(k) * time.Minute)
		st := states[k%len(states)]
		if kind == ticketKind {
			st = record.StateDef{Name: "open", Category: itsm.CategoryActive}
		}
		prio := itsm.Priority(2 + k%4)
		if k%50 == 0 {
			prio = itsm.PriorityCritical
		}
		rec := &record.Record{Header: record.Header{
			Kind: kind, ID: fmt.Sprintf("rec-%06d", k), Number: fmt.Sprintf("N%07d", k),
			Title: fmt.Sprintf("Record %d on host %d", k, k%997), Description: "Generated for the plan test",
			State: st.Name, StateCategory: st.Category, Priority: prio,
			Requester:       itsm.Actor{ID: fmt.Sprintf("user-%04d", k%1000)},
			AssignmentGroup: fmt.Sprintf("group-%03d", k%200), Assignee: fmt.Sprintf("agent-%03d", k%500),
			Service: fmt.Sprintf("svc-%03d", k%100), Category: fmt.Sprintf("cat-%02d", k%50),
			ConfigItems: []string{fmt.Sprintf("ci-%04d", k%2000)}, Major: k%100 == 3,
			OpenedAt: opened, UpdatedAt: opened, Version: 1,
		}}
		if k%97 == 0 && k > 0 {
			rec.Parent = load.parent
		}
		if kind == schema.Kind() {
			site := []string{"north", "south", "east"}[k%3]
			if k%100 == 7 {
				site = "west"
			}
			rec.Attrs = map[string]record.Value{"site": record.Text(site), "cost_cents": record.Int(int64(k % 10000))}
		} else {
			rec.Attrs = map[string]record.Value{"site": record.Text("north")}
		}
		switch st.Category {
		case itsm.CategoryResolved:
			rec.ResolvedAt = opened.Add(time.Hour)
		case itsm.CategoryClosed:
			rec.ResolvedAt, rec.ClosedAt = opened.Add(time.Hour), opened.Add(48*time.Hour)
		case itsm.CategoryCancelled:
			rec.ClosedAt = opened.Add(time.Hour)
		}
		doc, err := rec.Document()
		require.NoError(t, err)
		var (
			stage                    = "met"
			atRisk, breach, nextWake any
		)
		switch now := load.now; {
		case !st.Category.Open():
		case k%100 == 85: // breached
			stage, atRisk, breach = "breached", opened.Add(-time.Hour), opened.Add(time.Hour)
		case k%100 == 86: // at risk at now
			stage, atRisk, breach, nextWake = "running", now.Add(-time.Hour), now.Add(time.Hour), now.Add(time.Hour)
		default:
			stage, atRisk, breach, nextWake = "running", now.Add(240*time.Hour), now.Add(480*time.Hour), now.Add(240*time.Hour)
		}
		// The summary sqlrec.RefreshSummary writes: the at-risk instant
		// of running and paused timers only.
		sumAtRisk := atRisk
		if stage != "running" {
			sumAtRisk = nil
		}
		recRows = append(recRows, []any{rec.Kind, rec.ID, rec.Number, rec.Title, rec.Description, rec.State, rec.StateCategory.String(),
			int32(0), int32(0), int32(rec.Priority), rec.Requester.ID, rec.AssignmentGroup, rec.Assignee, rec.Service, rec.Category,
			rec.Parent.Kind, rec.Parent.ID, rec.Major, rec.OpenedAt, rec.UpdatedAt, nullable(rec.ResolvedAt), nullable(rec.ClosedAt),
			int64(1), string(doc), nextWake, breach, sumAtRisk})
		ciRows = append(ciRows, []any{rec.Kind, rec.ID, rec.ConfigItems[0], rec.OpenedAt})
		timerRows = append(timerRows, []any{rec.Kind, rec.ID, "gold/resolution", "gold", int32(k % 3), string(sla.MetricResolution),
			`{}`, stage, atRisk, breach, nextWake, rec.OpenedAt})
	}
	for k := range n {
		add(schema.Kind(), k)
	}
	for k := range n / 5 {
		add(ticketKind, k)
	}
	sc := s.Schema()
	copyRows := func(table string, cols []string, rows [][]any) {
		_, err := s.Pool().CopyFrom(ctx, pgx.Identifier{sc, table}, cols, pgx.CopyFromRows(rows))
		require.NoError(t, err, table)
	}
	copyRows("records", []string{"kind", "id", "number", "title", "description", "state", "state_category", "impact", "urgency",
		"priority", "requester_id", "assignment_group", "assignee", "service", "category", "parent_kind", "parent_id", "major",
		"opened_at", "updated_at", "resolved_at", "closed_at", "version", "doc", "sla_wake_at", "sla_breach_at", "sla_at_risk_at"}, recRows)
	copyRows("record_config_items", []string{"kind", "record_id", "config_item", "opened_at"}, ciRows)
	copyRows("sla_timers", []string{"kind", "record_id", "id", "policy", "policy_kind", "metric", "timer", "stage",
		"at_risk_at", "breach_at", "next_wake_at", "opened_at"}, timerRows)
	_, err := s.Pool().Exec(ctx, "ANALYZE "+sc+".records, "+sc+".record_config_items, "+sc+".sla_timers")
	require.NoError(t, err)
	return load
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

// TestListUsesIndexes loads 100 000 records (and 20 000 of another kind)
// and checks that the List statement of every filter, the custom kind's
// two filterable attributes included, and the statements of TimersDue and
// the wake-up worker read records and timers through the intended index
// rather than scanning them. It runs alone, not in parallel: its long
// writes would hold back the outbox of the tests beside it.
func TestListUsesIndexes(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 100 000 records; skipped with -short")
	}
	s := newStore(t)
	ctx := t.Context()
	load := loadRecords(t, s, explainSize)
	kind := load.schema.Kind()
	st := load.schema.States()

	page, err := s.List(ctx, record.Query{Kind: kind, States: []string{st[0].Name}, Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Records, 10)
	cursor := page.Next
	yes := true

	cases := []struct {
		name    string
		q       record.Query
		indexes []string // each must be used; any of the alternatives separated by |
	}{
		{"None", record.Query{}, []string{"records_opened_idx"}},
		{"State", record.Query{States: []string{st[3].Name}}, []string{"records_state_idx"}},
		// List splits several values into one query each, which reads the
		// value's index in List order.
		{"States", record.Query{States: []string{st[3].Name, st[4].Name}}, []string{"records_state_idx"}},
		{"OpenCategories", record.Query{StateCategories: []itsm.StateCategory{itsm.CategoryNew, itsm.CategoryActive, itsm.CategoryPending}},
			[]string{"records_state_category_idx"}},
		{"Priorities", record.Query{Priorities: []itsm.Priority{itsm.PriorityCritical, itsm.PriorityHigh}}, []string{"records_priority_idx"}},
		{"StateCategory", record.Query{StateCategories: []itsm.StateCategory{itsm.CategoryPending}}, []string{"records_state_category_idx"}},
		{"Priority", record.Query{Priorities: []itsm.Priority{itsm.PriorityCritical}}, []string{"records_priority_idx"}},
		{"Assignee", record.Query{Assignee: "agent-042"}, []string{"records_assignee_idx"}},
		{"AssignmentGroup", record.Query{AssignmentGroup: "group-007"}, []string{"records_group_idx"}},
		{"Service", record.Query{Service: "svc-013"}, []string{"records_service_idx"}},
		{"Category", record.Query{Category: "cat-07"}, []string{"records_category_idx"}},
		{"Requester", record.Query{Requester: "user-0042"}, []string{"records_requester_idx"}},
		{"ConfigItem", record.Query{ConfigItem: "ci-0042"}, []string{"record_config_items_ci_idx"}},
		{"Parent", record.Query{Parent: load.parent}, []string{"records_parent_idx"}},
		{"Major", record.Query{Major: &yes}, []string{"records_major_idx"}},
		{"Opened", record.Query{Opened: record.Range{From: t0.Add(50000 * time.Minute), To: t0.Add(50100 * time.Minute)}}, []string{"records_opened_idx"}},
		{"Resolved", record.Query{Order: record.ByResolved, Resolved: record.Range{From: t0.Add(50000 * time.Minute)}}, []string{"records_resolved_idx"}},
		{"Closed", record.Query{Order: record.ByClosed}, []string{"records_closed_idx"}},
		{"AttrChoice", record.Query{Attrs: []record.AttrFilter{{Name: "site", In: []record.Value{record.Text("west")}}}},
			[]string{"rattr_work_order_site"}},
		{"AttrIntRange", record.Query{Attrs: []record.AttrFilter{{Name: "cost_cents", Min: record.Int(100), Max: record.Int(140)}}},
			[]string{"rattr_work_order_cost_cents"}},
		// The SLA filters read the timers in List order, each arm of the
		// filter through its own index, and the records with an
		// unhandled wake-up through records_sla_wake_idx.
		{"Breached", record.Query{SLA: record.SLAFilter{Breached: true}, Now: load.now},
			[]string{"sla_timers_breached_idx", "records_sla_wake_idx"}},
		{"BreachedByMetric", record.Query{SLA: record.SLAFilter{Breached: true, Metric: sla.MetricResolution}, Now: load.now},
			[]string{"sla_timers_breached_metric_idx|sla_timers_breached_idx", "records_sla_wake_idx"}},
		{"BreachedByKind", record.Query{SLA: record.SLAFilter{Breached: true, PolicyKinds: []sla.PolicyKind{sla.KindOLA}}, Now: load.now},
			[]string{"sla_timers_breached_idx", "records_sla_wake_idx"}},
		{"AtRisk", record.Query{SLA: record.SLAFilter{AtRisk: true}, Now: load.now},
			[]string{"sla_timers_at_risk_idx", "sla_timers_breach_ahead_idx", "records_sla_wake_idx"}},
		{"AtRiskByMetric", record.Query{SLA: record.SLAFilter{AtRisk: true, Metric: sla.MetricResolution}, Now: load.now},
			[]string{"sla_timers_at_risk_idx", "sla_timers_breach_ahead_idx", "records_sla_wake_idx"}},
		{"Metric", record.Query{SLA: record.SLAFilter{Metric: sla.MetricResolution}}, []string{"sla_timers_metric_idx"}},
		{"PolicyKind", record.Query{SLA: record.SLAFilter{PolicyKinds: []sla.PolicyKind{sla.KindUC}}}, []string{"sla_timers_policy_kind_idx"}},
		{"PolicyKinds", record.Query{SLA: record.SLAFilter{PolicyKinds: []sla.PolicyKind{sla.KindOLA, sla.KindUC}}},
			[]string{"sla_timers_policy_kind_idx"}},
		{"Paging", record.Query{After: cursor}, []string{"records_opened_idx"}},
		{"PagingWithState", record.Query{States: []string{st[0].Name}, After: cursor}, []string{"records_state_idx"}},
	}
	var trigram bool
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", s.Schema()+".records_text_trgm_idx").Scan(&trigram))
	if trigram {
		cases = append(cases, struct {
			name    string
			q       record.Query
			indexes []string
		}{"Text", record.Query{Text: "N0077777"}, []string{"records_text_trgm_idx"}})
	} else {
		t.Log("pg_trgm is not available: Text searches scan, not checked")
	}
	for _, tc := range cases {
		tc.q.Kind = kind
		sql, args, parts, err := postgres.ListSQL(s, tc.q)
		require.NoError(t, err, tc.name)
		require.Equal(t, max(1, len(tc.q.States), len(tc.q.StateCategories), len(tc.q.Priorities)), parts, tc.name)
		requirePlan(t, s, tc.name, sql, args, tc.indexes...)
		if tc.q.SLA.Breached || tc.q.SLA.AtRisk {
			requireOrdered(t, s, tc.name, sql, args, "sla_timers_at_risk_idx", "sla_timers_breached_idx", "sla_timers_breached_metric_idx")
		}
		// And the statement runs and finds something.
		page, err := s.List(ctx, tc.q)
		require.NoError(t, err, tc.name)
		require.NotEmpty(t, page.Records, tc.name)
		for _, r := range page.Records {
			require.True(t, tc.q.Match(r), "%s: %s does not match", tc.name, r.ID)
		}
	}

	due, claim := postgres.ReaderSQL(s)
	requirePlan(t, s, "TimersDue", due, []any{load.now.Add(300 * time.Hour), 100}, "records_sla_wake_idx", "sla_timers_pkey")
	requirePlan(t, s, "ClaimDue", claim, []any{load.now.Add(300 * time.Hour), 100}, "records_sla_wake_idx", "sla_timers_pkey")
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
		if p.NodeType == "Seq Scan" && slices.Contains([]string{"records", "sla_timers", "record_config_items", "record_journal", "record_links"}, p.RelationName) {
			t.Errorf("%s: sequential scan of %s", name, p.RelationName)
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
		if !found {
			t.Errorf("%s: %s not used; plan: %s", name, want, strings.Join(summary, "; "))
		}
	}
	t.Logf("%-16s %s", name, strings.Join(summary, "; "))
}

// requireOrdered fails unless sql reads each of indexes it uses with an
// Index Scan, in the index's order, rather than collecting all their
// entries with a Bitmap Index Scan (which then sorts them): the timers
// of a phase are many, and a page needs few of them.
func requireOrdered(t *testing.T, s *postgres.Store, name, sql string, args []any, indexes ...string) {
	t.Helper()
	explain(t, s, name, sql, args).walk(func(p planNode) {
		if slices.Contains(indexes, p.IndexName) && p.NodeType != "Index Scan" {
			t.Errorf("%s: %s read by %s, not in its order", name, p.IndexName, p.NodeType)
		}
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
