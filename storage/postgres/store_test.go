package postgres_test

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
)

// create stores recs in one transaction.
func create(t *testing.T, s record.Store, recs ...*record.Record) {
	t.Helper()
	require.NoError(t, s.InTx(t.Context(), func(ctx context.Context, tx record.Tx) error {
		for _, r := range recs {
			if err := tx.Create(ctx, r); err != nil {
				return err
			}
		}
		return nil
	}))
}

// readOutbox reads n messages from after through r, polling while a page
// comes back empty: ReadOutbox shows a message once every transaction
// older than its own has ended, and other tests run transactions in
// parallel. It returns the messages and the cursor after them.
func readOutbox(t *testing.T, r record.Reader, after string, n int) ([]record.Message, string) {
	t.Helper()
	var out []record.Message
	for i := 0; len(out) < n; i++ {
		page, err := r.ReadOutbox(t.Context(), after, n-len(out))
		require.NoError(t, err)
		if len(page.Messages) == 0 {
			require.Less(t, i, 3000, "committed messages do not show")
			time.Sleep(10 * time.Millisecond)
			continue
		}
		out, after = append(out, page.Messages...), page.Next
	}
	return out, after
}

// TestRoundTrip stores a record with every header field, attributes, a
// body, a journal, links, timers and events, and reads each back.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	other := testRecord(2)
	rec := testRecord(1)
	rec.Description = "Line one\nline two"
	rec.State, rec.StateCategory = "solved", itsm.CategoryResolved
	rec.Impact, rec.Urgency, rec.Priority = itsm.ImpactHigh, itsm.UrgencyLow, itsm.PriorityHigh
	rec.AssignmentGroup, rec.Assignee, rec.Service, rec.Category = "desk", "bob", "email", "network"
	rec.Watchers, rec.ConfigItems = []string{"w1", "w2"}, []string{"ci-1", "ci-2", "ci-1"}
	rec.Parent, rec.Major = other.Ref(), true
	// Instants in another zone and with nanoseconds come back in UTC, to
	// the microsecond.
	cet := time.FixedZone("CET", 3600)
	rec.OpenedAt = t0.In(cet).Add(1500)
	rec.UpdatedAt, rec.ResolvedAt = t0.Add(time.Hour), t0.Add(2*time.Hour)
	rec.Attrs = map[string]record.Value{"site": record.Text("south"), "cost": record.Int(-42), "notes": record.Text("50% off_")}
	rec.Body = json.RawMessage(`{"b":1,"a":[true,null]}`)
	create(t, s, other, rec)
	require.Equal(t, int64(1), rec.Version)

	got, err := s.Get(ctx, rec.Ref())
	require.NoError(t, err)
	want := rec.Clone()
	want.OpenedAt = t0.Add(1000 * time.Nanosecond / 1000).Truncate(time.Microsecond)
	want.OpenedAt = t0.Add(time.Microsecond)
	require.Equal(t, time.UTC, got.OpenedAt.Location())
	require.JSONEq(t, string(want.Body), string(got.Body))
	got.Body, want.Body = nil, nil
	require.Equal(t, want, got)
	byNumber, err := s.GetByNumber(ctx, ticketKind, rec.Number)
	require.NoError(t, err)
	require.Equal(t, rec.ID, byNumber.ID)

	_, err = s.Get(ctx, record.Ref{Kind: ticketKind, ID: "missing"})
	var nf *itsm.NotFoundError
	require.ErrorAs(t, err, &nf)
	require.Equal(t, &itsm.NotFoundError{Kind: ticketKind, ID: "missing"}, nf)
	_, err = s.Get(ctx, record.Ref{Kind: "Bad", ID: "x"})
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = s.GetByNumber(ctx, ticketKind, "TKT9")
	require.ErrorIs(t, err, itsm.ErrNotFound)

	entries := []record.Entry{{Kind: record.Comment, Author: "bob", At: t0.Add(1500), Text: "one"},
		{Kind: record.WorkNote, Author: "ann", At: t0.Add(time.Minute), Text: "two"}}
	link := record.Link{Type: record.CausedBy.Name, From: rec.Ref(), To: other.Ref(), CreatedAt: t0, CreatedBy: "bob"}
	tr := timerOf(t, rec.Ref(), "resolution")
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		if err := tx.AppendJournal(ctx, rec.Ref(), entries[0]); err != nil {
			return err
		}
		if err := tx.AppendJournal(ctx, rec.Ref(), entries[1]); err != nil {
			return err
		}
		if err := tx.AddLinks(ctx, link); err != nil {
			return err
		}
		if err := tx.PutTimers(ctx, tr); err != nil {
			return err
		}
		return tx.AppendEvents(ctx, openEvent(rec.Ref()), openEvent(other.Ref()))
	}))
	journal, err := s.Journal(ctx, rec.Ref())
	require.NoError(t, err)
	entries[0].At = t0.Add(time.Microsecond)
	require.Equal(t, entries, journal)
	for _, end := range []record.Ref{rec.Ref(), other.Ref()} {
		links, err := s.Links(ctx, end)
		require.NoError(t, err)
		require.Equal(t, []record.Link{link}, links)
	}
	timers, err := s.Timers(ctx, rec.Ref())
	require.NoError(t, err)
	require.Len(t, timers, 1)
	require.Equal(t, tr.NextWakeAt, timers[0].NextWakeAt)
	require.Equal(t, tr.Summary(), timers[0].Summary())
	got, err = s.Get(ctx, rec.Ref())
	require.NoError(t, err)
	require.Equal(t, record.Summary{tr.Summary()}, got.SLA)
	hist, err := s.History(ctx, rec.Ref())
	require.NoError(t, err)
	require.Len(t, hist, 1)
	require.Equal(t, int64(1), hist[0].Sequence)
	require.NoError(t, s.VerifyAuditTrail(ctx))

	page, err := s.List(ctx, record.Query{Kind: ticketKind, ConfigItem: "ci-2"})
	require.NoError(t, err)
	require.Len(t, page.Records, 1)
	require.Equal(t, record.Summary{tr.Summary()}, page.Records[0].SLA)

	due, err := s.TimersDue(ctx, t0.Add(24*time.Hour), 10)
	require.NoError(t, err)
	require.Len(t, due, 1)

	msgs, next := readOutbox(t, s, "", 2)
	require.Equal(t, "open", msgs[0].Event.Action)
	more, err := s.ReadOutbox(ctx, next, 10)
	require.NoError(t, err)
	require.Empty(t, more.Messages)
	require.Equal(t, next, more.Next)

	msgs, err = s.Claim(ctx, "mailer", t0, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, msgs, 2)
	require.Equal(t, 1, msgs[0].Attempts)
	again, err := s.Claim(ctx, "mailer", t0.Add(time.Second), time.Minute, 10)
	require.NoError(t, err)
	require.Empty(t, again, "leased")
	require.NoError(t, s.Ack(ctx, "mailer", msgs[0].ID))
	require.ErrorIs(t, s.Ack(ctx, "mailer", msgs[1].ID, 99999), itsm.ErrNotFound)
	later, err := s.Claim(ctx, "mailer", t0.Add(2*time.Minute), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, later, 1)
	require.Equal(t, msgs[1].ID, later[0].ID)
	require.Equal(t, 2, later[0].Attempts)

	var n1, n2 int64
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) (err error) {
		if n1, err = tx.NextNumber(ctx, ticketKind); err != nil {
			return err
		}
		n2, err = tx.NextNumber(ctx, ticketKind)
		return err
	}))
	require.Equal(t, []int64{1, 2}, []int64{n1, n2})

	// Update: a new version, fewer configuration items.
	rec.ConfigItems = []string{"ci-2"}
	rec.Title = "changed"
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.Update(ctx, rec) }))
	require.Equal(t, int64(2), rec.Version)
	page, err = s.List(ctx, record.Query{Kind: ticketKind, ConfigItem: "ci-1"})
	require.NoError(t, err)
	require.Empty(t, page.Records)
	stale := rec.Clone()
	stale.Version = 1
	err = s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.Update(ctx, stale) })
	var ce *itsm.ConflictError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, int64(2), ce.Actual)
}

// TestListSeveralValues pages through a query with several states (given
// twice), which List runs as one query per state: the pages hold every
// match once, in List order.
func TestListSeveralValues(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	states := []record.StateDef{{Name: "new", Category: itsm.CategoryNew}, {Name: "open", Category: itsm.CategoryActive},
		{Name: "waiting", Category: itsm.CategoryPending}}
	var recs []*record.Record
	var want []string
	for i := range 30 {
		rec := testRecord(i)
		st := states[i%3]
		rec.State, rec.StateCategory = st.Name, st.Category
		rec.OpenedAt = t0.Add(time.Duration(i%7) * time.Minute) // ties, broken by ID
		recs = append(recs, rec)
		if st.Name != "open" {
			want = append(want, rec.ID)
		}
	}
	create(t, s, recs...)
	slices.SortFunc(want, func(a, b string) int {
		ra, rb := recs[slices.IndexFunc(recs, func(r *record.Record) bool { return r.ID == a })],
			recs[slices.IndexFunc(recs, func(r *record.Record) bool { return r.ID == b })]
		return cmp.Or(ra.OpenedAt.Compare(rb.OpenedAt), strings.Compare(a, b))
	})
	for _, q := range []record.Query{
		{Kind: ticketKind, States: []string{"waiting", "new", "waiting"}, Limit: 4},
		{Kind: ticketKind, StateCategories: []itsm.StateCategory{itsm.CategoryPending, itsm.CategoryNew}, Limit: 4},
	} {
		var got []string
		for {
			page, err := s.List(ctx, q)
			require.NoError(t, err)
			for _, r := range page.Records {
				got = append(got, r.ID)
			}
			if page.Next == "" {
				break
			}
			q.After = page.Next
		}
		require.Equal(t, want, got)
	}
}
