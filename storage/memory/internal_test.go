package memory

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

var (
	t0     = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	schema = record.MustNewSchema(record.SchemaDef{
		Kind: "ticket", Prefix: "TKT",
		States: []record.StateDef{{Name: "new", Category: itsm.CategoryNew}, {Name: "open", Category: itsm.CategoryActive}},
		Attributes: []record.Attribute{
			{Name: "risk", Type: record.AttrChoice, Choices: []string{"low", "high"}, Filterable: true},
		},
	})
)

// load returns a store with n tickets and a timer for each: one ticket in
// 50 is open, one in 100 (all of them open) has high risk, one in 40 has a breached timer and another one in 40 a timer at risk from t0 to t0+2h;
// the others are new, of low risk, with timers that breach far later.
// Assignees rotate through 100 people, and every timer but 5 wakes up
// after t0+1000h.
func load(t testing.TB, n int) *Store {
	t.Helper()
	ctx := context.Background()
	s := New()
	require.NoError(t, s.Declare(ctx, schema))
	tm, err := sla.NewTimer(sla.AlwaysOpen(time.UTC), sla.BusinessTime(time.Hour), nil, "gold", sla.MetricResolution, itsm.PriorityHigh)
	require.NoError(t, err)
	for first := 0; first < n; first += 1000 {
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
			for i := first; i < min(first+1000, n); i++ {
				rec := &record.Record{Header: record.Header{
					Kind: "ticket", ID: fmt.Sprintf("t-%07d", i), Number: fmt.Sprintf("TKT%07d", i),
					State: "new", StateCategory: itsm.CategoryNew, Assignee: fmt.Sprintf("p%d", i%100),
					OpenedAt: t0.Add(time.Duration(i) * time.Second),
				}, Attrs: map[string]record.Value{"risk": record.Text("low")}}
				if i%50 == 0 {
					rec.State, rec.StateCategory = "open", itsm.CategoryActive
				}
				if i%100 == 50 {
					rec.Attrs["risk"] = record.Text("high")
				}
				if err := tx.Create(ctx, rec); err != nil {
					return err
				}
				tr := record.TimerRecord{Record: rec.Ref(), ID: "resolution", Timer: tm, Stage: sla.StageRunning,
					AtRiskAt: t0.Add(900 * time.Hour), BreachAt: t0.Add(1000 * time.Hour), NextWakeAt: t0.Add(time.Duration(1000+i) * time.Hour)}
				switch i % 40 {
				case 2:
					tr.Stage, tr.AtRiskAt, tr.BreachAt = sla.StageBreached, t0, t0.Add(time.Hour)
				case 3:
					tr.AtRiskAt, tr.BreachAt = t0, t0.Add(2*time.Hour)
				}
				if i < 5 {
					tr.NextWakeAt = t0.Add(time.Duration(i) * time.Minute)
				}
				if err := tx.PutTimers(ctx, tr); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	return s
}

// TestReadsDoNotScan counts the index entries List and TimersDue look at
// for the same calls at 1,000 records and at bigStore: the counts must
// not grow with the store (those of the SLA filters only with the depth
// of their treap), and List must look at about one page.
func TestReadsDoNotScan(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	type call struct {
		name string
		q    record.Query
		page int // the page to read, from 1
		max  int // most entries the call may look at
		// sla marks a call that walks the SLA treap, whose cost grows
		// with its depth (the logarithm of the store's size).
		sla bool
	}
	const limit = 10
	calls := []call{
		{name: "first page", q: record.Query{}, page: 1, max: limit + 1},
		{name: "20th page", q: record.Query{}, page: 20, max: limit + 2},
		{name: "state", q: record.Query{States: []string{"open"}}, page: 1, max: limit + 2},
		{name: "state, 2nd page", q: record.Query{States: []string{"open"}}, page: 2, max: limit + 2},
		{name: "assignee", q: record.Query{Assignee: "p7"}, page: 1, max: limit + 1},
		{name: "attribute", q: record.Query{Attrs: []record.AttrFilter{{Name: "risk", In: []record.Value{record.Text("high")}}}}, page: 1, max: limit + 2},
		{name: "breached", q: record.Query{SLA: record.SLAFilter{Breached: true}, Now: t0.Add(2 * time.Hour)}, page: 1, max: 20 * (limit + 1), sla: true},
		{name: "breached, 3rd page", q: record.Query{SLA: record.SLAFilter{Breached: true}, Now: t0.Add(2 * time.Hour)}, page: 3, max: 20 * (limit + 1), sla: true},
		{name: "at risk", q: record.Query{SLA: record.SLAFilter{AtRisk: true}, Now: t0.Add(30 * time.Minute)}, page: 1, max: 20 * (limit + 1), sla: true},
		{name: "open and high risk", q: record.Query{States: []string{"open"}, Attrs: []record.AttrFilter{{Name: "risk", In: []record.Value{record.Text("high")}}}}, page: 1, max: limit + 1},
		{name: "opened range", q: record.Query{Opened: record.Range{From: t0.Add(500 * time.Second)}}, page: 3, max: limit + 2},
	}
	counts := map[int][]int64{}
	tree := map[int][]int64{}
	for _, n := range []int{1000, bigStore} {
		s := load(t, n)
		for _, c := range calls {
			q := c.q
			q.Kind, q.Limit = "ticket", limit
			for p := 1; p < c.page; p++ {
				page, err := s.List(ctx, q)
				require.NoError(t, err)
				require.NotEmpty(t, page.Next, c.name)
				q.After = page.Next
			}
			before := s.visited.Load()
			page, err := s.List(ctx, q)
			require.NoError(t, err)
			visited := s.visited.Load() - before
			require.NotEmpty(t, page.Records, "%s at %d", c.name, n)
			t.Logf("%s at %d records: %d visited", c.name, n, visited)
			require.LessOrEqual(t, visited, int64(c.max), "%s at %d records", c.name, n)
			if c.sla {
				tree[n] = append(tree[n], visited)
			} else {
				counts[n] = append(counts[n], visited)
			}
		}
		before := s.visited.Load()
		due, err := s.TimersDue(ctx, t0.Add(time.Hour), 100)
		require.NoError(t, err)
		require.Len(t, due, 5)
		require.LessOrEqual(t, s.visited.Load()-before, int64(6), "TimersDue at %d records", n)
		counts[n] = append(counts[n], s.visited.Load()-before)
	}
	require.Equal(t, counts[1000], counts[bigStore], "the cost of a call does not grow with the store")
	for i := range tree[1000] {
		require.LessOrEqual(t, tree[bigStore][i], 3*tree[1000][i], "the cost of an SLA filter grows with the depth of the treap at most")
	}
}

// TestCopyOnWrite checks that a transaction changes clones of the
// committed indexes only: the committed trees stay as they were while it
// runs, after it rolls back, and after it commits (a reader that still
// holds them keeps its snapshot).
func TestCopyOnWrite(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := load(t, 500)
	committed := s.data.t
	entries := committed.kinds["ticket"].entries.Len()
	due := committed.due.Len()
	sizes := func(tr *trees) [2]int { return [2]int{tr.kinds["ticket"].entries.Len(), tr.due.Len()} }

	change := func(ctx context.Context, tx record.Tx) error {
		for i := range 100 {
			rec, err := tx.Get(ctx, record.Ref{Kind: "ticket", ID: fmt.Sprintf("t-%07d", i*3)})
			if err != nil {
				return err
			}
			rec.State, rec.StateCategory, rec.Assignee = "open", itsm.CategoryActive, "someone else"
			if err := tx.Update(ctx, rec); err != nil {
				return err
			}
		}
		rec := &record.Record{Header: record.Header{Kind: "ticket", ID: "new-one", Number: "TKT-NEW", State: "new",
			StateCategory: itsm.CategoryNew, OpenedAt: t0}}
		if err := tx.Create(ctx, rec); err != nil {
			return err
		}
		tm, err := sla.NewTimer(sla.AlwaysOpen(time.UTC), sla.BusinessTime(time.Hour), nil, "gold", sla.MetricResolution, 0)
		if err != nil {
			return err
		}
		if err := tx.PutTimers(ctx, record.TimerRecord{Record: rec.Ref(), ID: "x", Timer: tm, NextWakeAt: t0}); err != nil {
			return err
		}
		page, err := s.List(ctx, record.Query{Kind: "ticket", Assignee: "someone else"})
		if err != nil {
			return err
		}
		require.Empty(t, page.Records, "others do not see the staged updates")
		require.Equal(t, [2]int{entries, due}, sizes(s.data.t), "the committed trees are not changed while the transaction runs")
		return nil
	}
	err := s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		if err := change(ctx, tx); err != nil {
			return err
		}
		return fmt.Errorf("roll back")
	})
	require.EqualError(t, err, "roll back")
	require.Same(t, committed, s.data.t, "a rollback drops the clones")
	require.Equal(t, [2]int{entries, due}, sizes(committed))

	require.NoError(t, s.InTx(ctx, change))
	require.NotSame(t, committed, s.data.t, "a commit swaps the clones in")
	require.Equal(t, [2]int{entries, due}, sizes(committed), "the old snapshot is untouched")
	require.Greater(t, sizes(s.data.t)[0], entries)
	require.Equal(t, due+1, sizes(s.data.t)[1])
	page, err := s.List(ctx, record.Query{Kind: "ticket", Assignee: "someone else", Limit: record.MaxPageSize})
	require.NoError(t, err)
	require.Len(t, page.Records, 100)
}

// TestStoredCopyIsTheDocument checks that the store keeps a record as
// its document reads back, as the SQL stores do.
func TestStoredCopyIsTheDocument(t *testing.T) {
	t.Parallel()
	east := time.FixedZone("east", 5*3600+1800)
	base := record.Record{Header: record.Header{
		Kind: "ticket", ID: "t-1", Number: "TKT1", Title: "<b>Mail</b> & more", State: "new", StateCategory: itsm.CategoryNew,
		Requester: itsm.Actor{ID: "ann", Roles: []itsm.Role{"vip"}}, Watchers: []string{}, ConfigItems: []string{"mx-1"},
		OpenedAt: t0.In(east), UpdatedAt: time.Now(), ResolvedAt: t0.Add(time.Hour).In(east), Version: 3,
	}, Attrs: map[string]record.Value{"risk": record.Text("low")}}
	for _, body := range []string{"", "null", `{ "a" : [1, 2.50, "x"] }`, `{"html": "<a href=\"x\">&amp;</a>", "u": "\u00e9\u2028"}`, `"just a string"`, "  {\n\"n\": null\n}  "} {
		rec := base.Clone()
		if body != "" {
			rec.Body = []byte(body)
		}
		doc, err := rec.Document()
		require.NoError(t, err)
		want, err := record.ParseDocument(doc)
		require.NoError(t, err)
		got, err := storedCopy(rec, nil)
		require.NoError(t, err)
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("body %q (-document +stored):\n%s", body, diff)
		}
	}
}
