package memory_test

import (
	"context"
	"errors"
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

// model is what the store must hold: the records as written, with the
// summaries of the timers written for them.
type model struct {
	recs   map[string]*record.Record
	timers map[string][]record.TimerRecord
}

func (m *model) clone() *model {
	c := &model{recs: map[string]*record.Record{}, timers: map[string][]record.TimerRecord{}}
	for id, r := range m.recs {
		c.recs[id] = r.Clone()
	}
	for id, ts := range m.timers {
		c.timers[id] = slices.Clone(ts)
	}
	return c
}

// want returns the IDs of the records that match q, in q's order, by
// record.Query.Match over every record.
func (m *model) want(q record.Query) []string {
	var hits []*record.Record
	for id, r := range m.recs {
		r = r.Clone()
		r.SLA = nil
		for _, t := range m.timers[id] {
			r.SLA = append(r.SLA, t.Summary())
		}
		if q.Match(r) {
			hits = append(hits, r)
		}
	}
	slices.SortFunc(hits, func(a, b *record.Record) int {
		x, _ := q.Order.Key(a)
		y, _ := q.Order.Key(b)
		if c := x.Compare(y); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return ids(hits)
}

var (
	states = []record.StateDef{
		{Name: "new", Category: itsm.CategoryNew}, {Name: "open", Category: itsm.CategoryActive},
		{Name: "waiting", Category: itsm.CategoryPending}, {Name: "done", Category: itsm.CategoryResolved},
		{Name: "closed", Category: itsm.CategoryClosed}, {Name: "dropped", Category: itsm.CategoryCancelled},
	}
	people = []string{"", "ann", "bob", "cyd"}
	groups = []string{"", "desk", "net"}
	cis    = []string{"mail-1", "mail-2", "db-1"}
	risks  = []string{"low", "medium", "high"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// randomInstant returns an instant that often ties with others and
// sometimes lies far from today, where a nanosecond cursor overflows.
func randomInstant(r *rand.Rand) time.Time {
	switch r.IntN(10) {
	case 0:
		return time.Date(1500+r.IntN(3), 3, 1, 12, 0, 0, r.IntN(3), time.UTC)
	case 1:
		return time.Date(2400, 1, 1, 0, 0, r.IntN(3), 0, time.FixedZone("x", 3600))
	}
	return t0.Add(time.Duration(r.IntN(300)) * time.Minute)
}

// randomize sets the filterable fields of rec at random.
func randomize(r *rand.Rand, rec *record.Record, parents []string) {
	st := pick(r, states)
	rec.State, rec.StateCategory = st.Name, st.Category
	rec.Priority = itsm.Priority(r.IntN(6))
	rec.Assignee, rec.AssignmentGroup = pick(r, people), pick(r, groups)
	rec.Service, rec.Category = pick(r, []string{"", "mail", "db"}), pick(r, []string{"", "hw", "sw"})
	rec.Requester = itsm.Actor{ID: pick(r, people[1:])}
	rec.ConfigItems = nil
	for range r.IntN(3) {
		rec.ConfigItems = append(rec.ConfigItems, pick(r, cis))
	}
	rec.Major = r.IntN(5) == 0
	rec.Parent = record.Ref{}
	if len(parents) > 0 && r.IntN(3) == 0 {
		if p := pick(r, parents); p != rec.ID {
			rec.Parent = record.Ref{Kind: "ticket", ID: p}
		}
	}
	rec.OpenedAt = randomInstant(r)
	rec.ResolvedAt, rec.ClosedAt = time.Time{}, time.Time{}
	if st.Category >= itsm.CategoryResolved || r.IntN(4) == 0 {
		rec.ResolvedAt = randomInstant(r)
	}
	if st.Category >= itsm.CategoryClosed {
		rec.ClosedAt = randomInstant(r)
	}
	rec.Attrs = map[string]record.Value{}
	if r.IntN(3) > 0 {
		rec.Attrs["risk"] = record.Text(pick(r, risks))
	}
	if r.IntN(2) == 0 {
		rec.Attrs["cost"] = record.Int(int64(r.IntN(10)))
	}
	if r.IntN(4) == 0 {
		rec.Attrs["vip"] = record.Bool(r.IntN(2) == 0)
	}
}

// randomTimer returns a timer record of rec whose derived fields are made
// up, as a store keeps them as given.
func randomTimer(r *rand.Rand, rec record.Ref, tm *sla.Timer) record.TimerRecord {
	tr := record.TimerRecord{Record: rec, ID: pick(r, []string{"response", "resolution", "ola"}), Timer: tm,
		PolicyKind: pick(r, []sla.PolicyKind{sla.KindSLA, sla.KindOLA}),
		Stage:      pick(r, []sla.Stage{sla.StageRunning, sla.StagePaused, sla.StageMet, sla.StageBreached})}
	at := t0.Add(time.Duration(r.IntN(600)) * time.Minute)
	if r.IntN(3) > 0 {
		tr.AtRiskAt = at
	}
	if r.IntN(3) > 0 {
		tr.BreachAt = at.Add(time.Duration(r.IntN(120)) * time.Minute)
	}
	if r.IntN(2) == 0 {
		tr.NextWakeAt = at
	}
	return tr
}

// randomQuery returns a query over tickets with a few filters.
func randomQuery(r *rand.Rand, parents []string) record.Query {
	q := record.Query{Kind: "ticket", Order: record.Order(r.IntN(3)), Limit: 1 + r.IntN(7)}
	maybe := func() bool { return r.IntN(9) == 0 }
	if maybe() {
		q.States = []string{pick(r, states).Name, pick(r, states).Name}
	}
	if maybe() {
		q.StateCategories = []itsm.StateCategory{pick(r, states).Category}
	}
	if maybe() {
		q.Priorities = []itsm.Priority{itsm.Priority(1 + r.IntN(5)), itsm.Priority(1 + r.IntN(5))}
	}
	if maybe() {
		q.Assignee = pick(r, people[1:])
	}
	if maybe() {
		q.AssignmentGroup = pick(r, groups[1:])
	}
	if maybe() {
		q.Service = pick(r, []string{"mail", "db"})
	}
	if maybe() {
		q.ConfigItem = pick(r, cis)
	}
	if maybe() {
		q.Category = pick(r, []string{"hw", "sw"})
	}
	if maybe() {
		q.Requester = pick(r, people[1:])
	}
	if maybe() && len(parents) > 0 {
		q.Parent = record.Ref{Kind: "ticket", ID: pick(r, parents)}
	}
	if maybe() {
		b := r.IntN(2) == 0
		q.Major = &b
	}
	if maybe() {
		q.Opened = record.Range{From: t0.Add(time.Duration(r.IntN(200)) * time.Minute)}
	}
	if maybe() {
		q.Resolved = record.Range{To: t0.Add(time.Duration(r.IntN(300)) * time.Minute)}
	}
	if maybe() {
		q.Closed = record.Range{From: t0, To: t0.Add(time.Duration(1+r.IntN(300)) * time.Minute)}
	}
	if maybe() {
		q.Attrs = append(q.Attrs, record.AttrFilter{Name: "risk", In: []record.Value{record.Text(pick(r, risks)), record.Text(pick(r, risks))}})
	}
	if maybe() {
		q.Attrs = append(q.Attrs, record.AttrFilter{Name: "cost", Min: record.Int(int64(r.IntN(5))), Max: record.Int(int64(5 + r.IntN(5)))})
	}
	if maybe() {
		q.Attrs = append(q.Attrs, record.AttrFilter{Name: "cost", In: []record.Value{record.Int(int64(r.IntN(10)))}})
	}
	if maybe() {
		q.Attrs = append(q.Attrs, record.AttrFilter{Name: "vip", In: []record.Value{record.Bool(true)}})
	}
	switch r.IntN(6) {
	case 0:
		q.SLA.Breached = true
	case 1:
		q.SLA.AtRisk = true
	}
	if maybe() {
		q.SLA.Metric = sla.Metric(pick(r, []string{"response", "resolution"}))
	}
	if maybe() {
		q.SLA.PolicyKinds = []sla.PolicyKind{sla.KindOLA, pick(r, []sla.PolicyKind{sla.KindSLA, sla.KindUC})}
	}
	q.Now = t0.Add(time.Duration(r.IntN(700)) * time.Minute)
	if maybe() {
		q.Text = pick(r, []string{"ket 1", "TKT00000", "TICKET 2"})
	}
	return q
}

// pages lists every page of q and returns the IDs in order.
func pages(t *testing.T, ctx context.Context, r record.Reader, q record.Query) []string {
	t.Helper()
	got := []string{}
	for range 10000 {
		p, err := r.List(ctx, q)
		require.NoError(t, err)
		require.LessOrEqual(t, len(p.Records), q.PageSize())
		got = append(got, ids(p.Records)...)
		if p.Next == "" {
			return got
		}
		require.Len(t, p.Records, q.PageSize(), "only a full page has a next one")
		q.After = p.Next
	}
	t.Fatal("List never reached its last page")
	return nil
}

// TestListMatchesQueryMatch checks List, paged, against Query.Match over
// every record, for random records, timers, updates and queries, on the
// committed state and inside a transaction that changes it and then rolls
// back.
func TestListMatchesQueryMatch(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r := rand.New(rand.NewPCG(1, 2))
	s := newStore(t)
	tm := newTimer(t, time.Hour, t0)
	m := &model{recs: map[string]*record.Record{}, timers: map[string][]record.TimerRecord{}}
	var made []string

	// write makes n random changes through tx and records them in m.
	write := func(tx record.Tx, m *model, n int) error {
		for range n {
			switch k := r.IntN(10); {
			case k < 5 || len(made) == 0:
				rec := ticket(len(made) + 1)
				randomize(r, rec, made)
				if err := tx.Create(ctx, rec); err != nil {
					return err
				}
				made = append(made, rec.ID)
				m.recs[rec.ID] = rec.Clone()
			case k < 8:
				id := pick(r, made)
				if m.recs[id] == nil {
					continue // made in a transaction that rolled back
				}
				rec := m.recs[id].Clone()
				randomize(r, rec, made)
				if err := tx.Update(ctx, rec); err != nil {
					return err
				}
				m.recs[id] = rec
			default:
				id := pick(r, made)
				if m.recs[id] == nil {
					continue
				}
				tr := randomTimer(r, record.Ref{Kind: "ticket", ID: id}, tm)
				if err := tx.PutTimers(ctx, tr); err != nil {
					return err
				}
				ts := m.timers[id]
				if i := slices.IndexFunc(ts, func(x record.TimerRecord) bool { return x.ID == tr.ID }); i >= 0 {
					ts[i] = tr
				} else {
					ts = append(ts, tr)
				}
				m.timers[id] = ts
			}
		}
		return nil
	}
	for range 8 {
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return write(tx, m, 100) }))
	}

	check := func(rd record.Reader, m *model, n int) {
		t.Helper()
		hits := 0
		for i := range n {
			q := randomQuery(r, made)
			want := m.want(q)
			require.Equal(t, want, pages(t, ctx, rd, q), "query %d: %+v", i, q)
			if len(want) > 0 {
				hits++
			}
		}
		require.Greater(t, hits, n/3, "most random queries must select something, or the test proves little")
	}
	check(s, m, 250)

	errRollBack := errors.New("roll back")
	err := s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		staged := m.clone()
		require.NoError(t, write(tx, staged, 300))
		check(tx, staged, 120)
		check(s, m, 30)
		return errRollBack
	})
	require.ErrorIs(t, err, errRollBack)
	check(s, m, 60)
}

// TestListCursorFarInstants pages through records opened at the same far
// instants, where a cursor in nanoseconds since 1970 would overflow.
func TestListCursorFarInstants(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	var recs []*record.Record
	var want []string
	for i, at := range []time.Time{
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(1200, 5, 5, 0, 0, 0, 0, time.UTC),
		time.Date(1200, 5, 5, 0, 0, 0, 0, time.UTC),
		t0,
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
	} {
		rec := ticket(i + 1)
		rec.OpenedAt = at
		recs = append(recs, rec)
		want = append(want, rec.ID)
	}
	create(t, s, recs...)
	require.Equal(t, want, pages(t, ctx, s, record.Query{Kind: "ticket", Limit: 1}))
	require.Equal(t, want[1:3], pages(t, ctx, s, record.Query{Kind: "ticket", Limit: 1,
		Opened: record.Range{From: recs[1].OpenedAt, To: recs[3].OpenedAt}}))
	_, err := s.List(ctx, record.Query{Kind: "ticket", After: "not a cursor"})
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = s.List(ctx, record.Query{Kind: "ticket", States: []string{"nowhere"}})
	require.ErrorIs(t, err, itsm.ErrValidation, "an unknown state is an error, not an empty page")
	_, err = s.List(ctx, record.Query{Kind: "gadget"})
	require.ErrorIs(t, err, itsm.ErrValidation)
}
