package sqlite_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// listFixture stores n varied tickets with timers in s and returns them
// as the store returns them.
func listFixture(t *testing.T, s record.Store, n int) []*record.Record {
	t.Helper()
	ctx := t.Context()
	rnd := rand.New(rand.NewPCG(7, 11))
	states := ticketSchema.States()
	channels := []string{"phone", "mail", "portal"}
	var refs []record.Ref
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		for i := range n {
			// Pairs of records share their opening instant, so that the ID
			// decides the order.
			at := testStart.Add(time.Duration(i/2) * 7 * time.Minute)
			rec := newTicket(int64(i+1), fmt.Sprintf("Ticket %d about %s", i, []string{"Mail", "PRINTER", "Größe"}[i%3]), at)
			st := states[rnd.IntN(len(states))]
			rec.State, rec.StateCategory = st.Name, st.Category
			rec.Priority = itsm.Priority(rnd.IntN(5) + 1)
			rec.Assignee = []string{"", "bob", "dave"}[rnd.IntN(3)]
			rec.AssignmentGroup = []string{"", "ops", "net"}[rnd.IntN(3)]
			rec.Service = []string{"", "mail", "print"}[rnd.IntN(3)]
			rec.Category = []string{"", "hardware", "software"}[rnd.IntN(3)]
			rec.Requester.ID = []string{"", "carol", "erin"}[rnd.IntN(3)]
			rec.Major = rnd.IntN(5) == 0
			if i > 0 && rnd.IntN(6) == 0 {
				rec.Parent = refs[rnd.IntN(len(refs))]
			}
			if rnd.IntN(3) == 0 {
				rec.ConfigItems = []string{[]string{"db-1", "db-2", "web-1"}[rnd.IntN(3)], "lb-1"}
			}
			if st.Category >= itsm.CategoryResolved {
				rec.ResolvedAt = at.Add(time.Duration(rnd.IntN(600)) * time.Minute)
			}
			if st.Category >= itsm.CategoryClosed {
				rec.ClosedAt = rec.ResolvedAt.Add(time.Duration(rnd.IntN(600)) * time.Minute)
			}
			rec.Attrs = map[string]record.Value{}
			if rnd.IntN(4) > 0 {
				rec.Attrs["channel"] = record.Text(channels[rnd.IntN(3)])
			}
			if rnd.IntN(2) == 0 {
				rec.Attrs["effort"] = record.Int(int64(rnd.IntN(20) - 5))
			}
			if rnd.IntN(5) == 0 {
				rec.Description = "Der Drucker meldet GRÖSSE"
			}
			if err := tx.Create(ctx, rec); err != nil {
				return err
			}
			refs = append(refs, rec.Ref())
			if rnd.IntN(4) == 0 {
				continue // no timers
			}
			timers := newTimers(t, rec.Ref(), at)
			timers[1].PolicyKind = sla.PolicyKind(rnd.IntN(3))
			switch rnd.IntN(3) {
			case 0: // responded in time
				require.NoError(t, timers[0].Timer.Stop(at.Add(5*time.Minute), "responded"))
				timers[0] = record.NewTimerRecord(rec.Ref(), timers[0].ID, sla.KindSLA, timers[0].Timer, at.Add(5*time.Minute))
			case 1: // resolution paused
				require.NoError(t, timers[1].Timer.Pause(at.Add(20*time.Minute), "waiting"))
				timers[1] = record.NewTimerRecord(rec.Ref(), timers[1].ID, timers[1].PolicyKind, timers[1].Timer, at.Add(20*time.Minute))
			}
			if err := tx.PutTimers(ctx, timers...); err != nil {
				return err
			}
		}
		return nil
	}))
	out := make([]*record.Record, len(refs))
	for i, ref := range refs {
		rec, err := s.Get(ctx, ref)
		require.NoError(t, err)
		out[i] = rec
	}
	return out
}

// listAll pages through q and returns every record List hands out.
func listAll(t *testing.T, s record.Store, q record.Query) []*record.Record {
	t.Helper()
	var out []*record.Record
	for pages := 0; ; pages++ {
		require.Less(t, pages, 1000, "List does not end")
		page, err := s.List(t.Context(), q)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Records), q.PageSize())
		out = append(out, page.Records...)
		if page.Next == "" {
			return out
		}
		require.Len(t, page.Records, q.PageSize(), "only the last page is short")
		q.After = page.Next
	}
}

// TestListAgreesWithMatch checks that List selects exactly what
// record.Query.Match selects, in the query's order, through every page,
// for each filter and for combinations of them.
func TestListAgreesWithMatch(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	all := listFixture(t, s, 300)
	var parent record.Ref
	for _, rec := range all {
		if !rec.Parent.IsZero() {
			parent = rec.Parent
			break
		}
	}
	require.False(t, parent.IsZero())
	tru, fls := true, false
	// Instants between two microseconds, around the timers' thresholds.
	now := testStart.Add(7*time.Hour + 500*time.Nanosecond)
	mid := testStart.Add(8*time.Hour + 3*time.Minute + 999*time.Nanosecond)
	queries := map[string]record.Query{
		"all":                 {},
		"state":               {States: []string{"on_hold", "new", "on_hold"}},
		"state category":      {StateCategories: []itsm.StateCategory{itsm.CategoryActive}},
		"state categories":    {StateCategories: []itsm.StateCategory{itsm.CategoryNew, itsm.CategoryPending, itsm.CategoryResolved}},
		"categories, states":  {StateCategories: []itsm.StateCategory{itsm.CategoryNew, itsm.CategoryActive}, States: []string{"new", "in_progress", "closed"}},
		"priorities, attrs":   {Priorities: []itsm.Priority{1, 3, 5}, Attrs: []record.AttrFilter{{Name: "channel", In: []record.Value{record.Text("phone"), record.Text("mail")}}}},
		"priority":            {Priorities: []itsm.Priority{itsm.PriorityCritical, itsm.PriorityLow}},
		"assignee":            {Assignee: "bob"},
		"group":               {AssignmentGroup: "net"},
		"service":             {Service: "print"},
		"config item":         {ConfigItem: "db-2"},
		"config item, state":  {ConfigItem: "lb-1", States: []string{"new"}},
		"category":            {Category: "hardware"},
		"requester":           {Requester: "erin"},
		"parent":              {Parent: parent},
		"major":               {Major: &tru},
		"not major":           {Major: &fls},
		"opened":              {Opened: record.Range{From: testStart.Add(time.Hour + time.Nanosecond), To: mid}},
		"resolved":            {Resolved: record.Range{From: mid}},
		"closed":              {Closed: record.Range{To: mid}},
		"by resolved":         {Order: record.ByResolved},
		"by closed, assignee": {Order: record.ByClosed, Assignee: "dave"},
		"attr in":             {Attrs: []record.AttrFilter{{Name: "channel", In: []record.Value{record.Text("mail"), record.Text("portal")}}}},
		"attr range":          {Attrs: []record.AttrFilter{{Name: "effort", Min: record.Int(-2), Max: record.Int(7)}}},
		"attr min":            {Attrs: []record.AttrFilter{{Name: "effort", Min: record.Int(10)}}},
		"breached":            {SLA: record.SLAFilter{Breached: true}, Now: now},
		"breached later":      {SLA: record.SLAFilter{Breached: true}, Now: mid},
		"at risk":             {SLA: record.SLAFilter{AtRisk: true}, Now: now},
		"at risk later":       {SLA: record.SLAFilter{AtRisk: true}, Now: mid},
		"breached response":   {SLA: record.SLAFilter{Breached: true, Metric: sla.MetricResponse}, Now: now},
		"at risk OLA":         {SLA: record.SLAFilter{AtRisk: true, PolicyKinds: []sla.PolicyKind{sla.KindOLA}}, Now: mid},
		"has UC timer":        {SLA: record.SLAFilter{PolicyKinds: []sla.PolicyKind{sla.KindUC}}},
		"text":                {Text: "printer"},
		"text folded":         {Text: "grösse"},
		"text number":         {Text: "inc0001011"},
		"everything": {States: []string{"in_progress", "on_hold", "new"}, Priorities: []itsm.Priority{1, 2, 3, 4},
			Service: "mail", Major: &fls, Text: "ticket", SLA: record.SLAFilter{Metric: sla.MetricResolution},
			Attrs: []record.AttrFilter{{Name: "channel", In: []record.Value{record.Text("phone")}}}},
	}
	for name, q := range queries {
		t.Run(name, func(t *testing.T) {
			q.Kind, q.Limit = "incident", 7
			var want []string
			for _, rec := range all {
				if q.Match(rec) {
					want = append(want, rec.ID)
				}
			}
			slices.SortFunc(want, func(a, b string) int {
				ka, _ := q.Order.Key(find(all, a))
				kb, _ := q.Order.Key(find(all, b))
				if c := ka.Compare(kb); c != 0 {
					return c
				}
				return strings.Compare(a, b)
			})
			var got []string
			for _, rec := range listAll(t, s, q) {
				got = append(got, rec.ID)
				require.Equal(t, find(all, rec.ID), rec, "a listed record is the record Get returns")
			}
			require.Equal(t, want, got)
		})
	}
}

func find(recs []*record.Record, id string) *record.Record {
	for _, r := range recs {
		if r.ID == id {
			return r
		}
	}
	return nil
}
