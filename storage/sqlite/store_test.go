package sqlite_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/sqlite"
)

// A record comes back as it went in, with its instants in UTC to the
// microsecond, its version and its SLA summary, by ID and by number.
func TestRecordRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	at := time.Date(2026, 11, 20, 16, 4, 5, 123456789, time.FixedZone("CET", 3600))
	rec := newTicket(1, "Mail relay down", at)
	rec.ConfigItems = []string{"relay-1", "relay-2"}
	rec.Parent = record.Ref{Kind: "problem", ID: "prb-1"}
	rec.Watchers = []string{"dave"}
	rec.Attrs = map[string]record.Value{"channel": record.Text("phone"), "effort": record.Int(-3)}
	rec.Major = true
	rec.ResolvedAt = at.Add(time.Hour)
	rec.Body = []byte(`{ "priority_overridden": true,  "reopen_count": 2 }`)
	in := rec.Clone()
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, rec) }))
	require.Equal(t, int64(1), rec.Version)
	require.Equal(t, in.OpenedAt, rec.OpenedAt, "Create changes only the version of its argument")

	want := in.Clone()
	want.Version = 1
	want.OpenedAt, want.UpdatedAt = at.UTC().Truncate(time.Microsecond), at.UTC().Truncate(time.Microsecond)
	want.ResolvedAt = want.OpenedAt.Add(time.Hour)
	want.Body = []byte(`{"priority_overridden":true,"reopen_count":2}`)
	got, err := s.Get(ctx, rec.Ref())
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Equal(t, time.UTC, got.OpenedAt.Location())
	got, err = s.GetByNumber(ctx, "incident", rec.Number)
	require.NoError(t, err)
	require.Equal(t, want, got)

	timers := newTimers(t, rec.Ref(), at)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.PutTimers(ctx, timers...) }))
	got, err = s.Get(ctx, rec.Ref())
	require.NoError(t, err)
	require.Len(t, got.SLA, 2)
	require.Equal(t, sla.MetricResponse, got.SLA[0].Metric)
	require.Equal(t, "standard", got.SLA[0].Policy)
	require.Equal(t, timers[0].BreachAt.UTC().Truncate(time.Microsecond), got.SLA[0].BreachAt)
	require.Equal(t, sla.MetricResolution, got.SLA[1].Metric)

	var nf *itsm.NotFoundError
	_, err = s.Get(ctx, record.Ref{Kind: "incident", ID: "missing"})
	require.ErrorAs(t, err, &nf)
	require.Equal(t, itsm.NotFoundError{Kind: "incident", ID: "missing"}, *nf)
	_, err = s.GetByNumber(ctx, "incident", "INC404")
	require.ErrorAs(t, err, &nf)
	require.Equal(t, "INC404", nf.ID)
	_, err = s.Get(ctx, record.Ref{Kind: "problem", ID: rec.ID})
	require.ErrorIs(t, err, itsm.ErrNotFound, "IDs are unique within a kind only")
	for _, ref := range []record.Ref{{}, {Kind: "Bad Kind", ID: "x"}, {Kind: "incident"}} {
		_, err = s.Get(ctx, ref)
		require.ErrorIs(t, err, itsm.ErrValidation, "%v", ref)
	}
	_, err = s.GetByNumber(ctx, "incident", "")
	require.ErrorIs(t, err, itsm.ErrValidation)
}

func TestCreateRefusals(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	first := newTicket(1, "First", testStart)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, first) }))
	dupID := newTicket(2, "Same ID", testStart)
	dupID.ID = first.ID
	dupNumber := newTicket(3, "Same number", testStart)
	dupNumber.Number = first.Number
	undeclared := newTicket(4, "Undeclared", testStart)
	undeclared.Kind, undeclared.Attrs = "problem", nil
	badState := newTicket(5, "Bad state", testStart)
	badState.State = "lost"
	badAttr := newTicket(6, "Bad attribute", testStart)
	badAttr.Attrs = map[string]record.Value{"channel": record.Text("pigeon")}
	for _, tc := range []struct {
		name string
		rec  *record.Record
		want error
	}{
		{"same ID", dupID, itsm.ErrConflict},
		{"same number", dupNumber, itsm.ErrConflict},
		{"undeclared kind", undeclared, itsm.ErrValidation},
		{"unknown state", badState, itsm.ErrValidation},
		{"bad attribute", badAttr, itsm.ErrValidation},
		{"nil", nil, itsm.ErrValidation},
	} {
		err := s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
			err := tx.Create(ctx, tc.rec)
			require.ErrorIs(t, err, tc.want, tc.name)
			// The transaction goes on after a refused write.
			_, err = tx.NextNumber(ctx, "incident")
			return err
		})
		require.NoError(t, err, tc.name)
	}
	require.Equal(t, 1, count(t, s, "SELECT count(*) FROM records"))
	// The same ID in another kind is another record.
	other := record.MustNewSchema(record.SchemaDef{Kind: "problem", Prefix: "PRB",
		States: []record.StateDef{{Name: "new", Category: itsm.CategoryNew}}})
	require.NoError(t, s.Declare(ctx, other))
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, undeclared) }))
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	a := open(t, s, "A", testStart)
	b := open(t, s, "B", testStart.Add(time.Minute))
	update := func(rec *record.Record) error {
		return s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.Update(ctx, rec) })
	}

	a.ConfigItems = []string{"db-1"}
	a.Title = "A, edited"
	require.NoError(t, update(a))
	require.Equal(t, int64(2), a.Version)
	got, err := s.Get(ctx, a.Ref())
	require.NoError(t, err)
	require.Equal(t, "A, edited", got.Title)
	require.Equal(t, int64(2), got.Version)
	require.Len(t, got.SLA, 2, "an update keeps the SLA summary")
	page, err := s.List(ctx, record.Query{Kind: "incident", ConfigItem: "db-1"})
	require.NoError(t, err)
	require.Len(t, page.Records, 1)

	stale := got.Clone()
	stale.Version = 1
	var ce *itsm.ConflictError
	require.ErrorAs(t, update(stale), &ce)
	require.Equal(t, itsm.ConflictError{Kind: "incident", ID: a.ID, Expected: 1, Actual: 2}, *ce)

	missing := newTicket(99, "Missing", testStart)
	missing.Version = 1
	require.ErrorIs(t, update(missing), itsm.ErrNotFound)

	taken := b.Clone()
	taken.Number = a.Number
	require.ErrorIs(t, update(taken), itsm.ErrConflict)

	// Moving the opening instant and dropping the items rewrites the
	// items' rows.
	a.OpenedAt = testStart.Add(-time.Hour)
	a.ConfigItems = []string{"db-2", "db-3"}
	require.NoError(t, update(a))
	require.Equal(t, 2, count(t, s, "SELECT count(*) FROM record_config_items WHERE opened_at = ?", a.OpenedAt.UnixMicro()))
	a.ConfigItems = nil
	require.NoError(t, update(a))
	require.Zero(t, count(t, s, "SELECT count(*) FROM record_config_items"))
	got, err = s.Get(ctx, b.Ref())
	require.NoError(t, err)
	require.Equal(t, int64(1), got.Version, "refused updates change nothing")
}

func TestJournalAndLinks(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	a := open(t, s, "A", testStart)
	b := open(t, s, "B", testStart)
	c := open(t, s, "C", testStart)
	at := testStart.Add(90 * time.Second)
	entries := []record.Entry{
		{Kind: record.Comment, Author: "alice", At: at, Text: "Looking."},
		{Kind: record.WorkNote, Author: "bob", At: at.Add(time.Second), Text: "Relay restarted."},
	}
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		if err := tx.AppendJournal(ctx, a.Ref(), entries[0]); err != nil {
			return err
		}
		return tx.AppendJournal(ctx, a.Ref(), entries[1:]...)
	}))
	got, err := s.Journal(ctx, a.Ref())
	require.NoError(t, err)
	require.Equal(t, entries, got)
	got, err = s.Journal(ctx, b.Ref())
	require.NoError(t, err)
	require.NotNil(t, got)
	require.Empty(t, got)

	err = s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		require.ErrorIs(t, tx.AppendJournal(ctx, record.Ref{Kind: "incident", ID: "missing"}, entries[0]), itsm.ErrNotFound)
		require.ErrorIs(t, tx.AppendJournal(ctx, a.Ref(), record.Entry{Kind: "shout"}), itsm.ErrValidation)
		return nil
	})
	require.NoError(t, err)

	link := func(typ string, from, to *record.Record) record.Link {
		return record.Link{Type: typ, From: from.Ref(), To: to.Ref(), CreatedAt: at, CreatedBy: "alice"}
	}
	ab, cb, ca := link("duplicate_of", a, b), link("caused_by", c, b), link("related_to", c, a)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.AddLinks(ctx, ab, cb, ca) }))
	for _, tc := range []struct {
		rec  *record.Record
		want []record.Link
	}{{a, []record.Link{ab, ca}}, {b, []record.Link{ab, cb}}, {c, []record.Link{cb, ca}}} {
		got, err := s.Links(ctx, tc.rec.Ref())
		require.NoError(t, err)
		require.Equal(t, tc.want, got, tc.rec.Title)
	}

	missing := record.Link{Type: "related_to", From: a.Ref(), To: record.Ref{Kind: "incident", ID: "missing"}, CreatedAt: at, CreatedBy: "alice"}
	err = s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		var nf *itsm.NotFoundError
		require.ErrorAs(t, tx.AddLinks(ctx, link("related_to", b, c), missing), &nf)
		require.Equal(t, "missing", nf.ID)
		require.ErrorIs(t, tx.AddLinks(ctx, link("related_to", b, c), ab), itsm.ErrConflict)
		require.ErrorIs(t, tx.AddLinks(ctx, link("child_of", b, c)), itsm.ErrValidation)
		require.ErrorIs(t, tx.RemoveLinks(ctx, cb, missing), itsm.ErrNotFound)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 3, count(t, s, "SELECT count(*) FROM record_links"), "refused calls store and remove nothing")
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		return tx.RemoveLinks(ctx, record.Link{Type: cb.Type, From: cb.From, To: cb.To})
	}))
	gotLinks, err := s.Links(ctx, b.Ref())
	require.NoError(t, err)
	require.Equal(t, []record.Link{ab}, gotLinks)
}

// PutTimers keeps the summary columns equal to what the timers say, and
// refuses timers of records that are not stored.
func TestTimers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	const stale = `SELECT count(*) FROM records r WHERE
		sla_wake_at IS NOT (SELECT min(next_wake_at) FROM sla_timers WHERE kind = r.kind AND record_id = r.id)
		OR sla_breach_at IS NOT (SELECT min(breach_at) FROM sla_timers WHERE kind = r.kind AND record_id = r.id)
		OR sla_at_risk_at IS NOT (SELECT min(CASE WHEN stage IN ('running', 'paused') THEN at_risk_at END)
			FROM sla_timers WHERE kind = r.kind AND record_id = r.id)`
	a := open(t, s, "A", testStart)
	b := open(t, s, "B", testStart.Add(time.Minute))
	require.Zero(t, count(t, s, stale))
	timers, err := s.Timers(ctx, a.Ref())
	require.NoError(t, err)
	require.Len(t, timers, 2)
	require.Equal(t, "standard/response", timers[0].ID)
	require.Equal(t, a.Ref(), timers[0].Record)
	require.NoError(t, timers[0].Timer.Bind(nil))

	// Stopping the response timer replaces it in place.
	stop := testStart.Add(10 * time.Minute)
	require.NoError(t, timers[0].Timer.Stop(stop, "responded"))
	fresh := record.NewTimerRecord(a.Ref(), timers[0].ID, sla.KindOLA, timers[0].Timer, stop)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.PutTimers(ctx, fresh) }))
	require.Zero(t, count(t, s, stale))
	again, err := s.Timers(ctx, a.Ref())
	require.NoError(t, err)
	require.Equal(t, "standard/response", again[0].ID)
	require.Equal(t, sla.KindOLA, again[0].PolicyKind)
	require.Equal(t, sla.StageMet, again[0].Stage)

	// Timers of a record not stored are refused whole, also in a batch of
	// more timers than one statement saves.
	var many []record.TimerRecord
	for range 3 {
		many = append(many, newTimers(t, b.Ref(), testStart)...)
		many[len(many)-1].ID += "/" + string(rune('a'+len(many)))
		many[len(many)-2].ID += "/" + string(rune('a'+len(many)))
	}
	many = append(many, newTimers(t, record.Ref{Kind: "incident", ID: "missing"}, testStart)[0])
	err = s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		var nf *itsm.NotFoundError
		require.ErrorAs(t, tx.PutTimers(ctx, many...), &nf)
		require.Equal(t, itsm.NotFoundError{Kind: "incident", ID: "missing"}, *nf)
		require.ErrorIs(t, tx.PutTimers(ctx, record.TimerRecord{}), itsm.ErrValidation)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 4, count(t, s, "SELECT count(*) FROM sla_timers"))
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.PutTimers(ctx, many[:6]...) }))
	require.Equal(t, 10, count(t, s, "SELECT count(*) FROM sla_timers"))
	require.Zero(t, count(t, s, stale))

	// A timer never moves to another record behind the summary's back.
	tx, err := s.BeginTx(ctx)
	require.NoError(t, err)
	defer func() { require.NoError(t, tx.Rollback()) }()
	_, err = tx.ExecContext(ctx, "UPDATE sla_timers SET record_id = ? WHERE record_id = ?", b.ID, a.ID)
	require.ErrorContains(t, err, "do not change record or ID")
}

// TimersDue returns the earliest due timers of any record, ties by timer
// ID, kind and record ID, and reads through the summary.
func TestTimersDue(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	for i := range 20 {
		open(t, s, "T", testStart.Add(time.Duration(i%5)*time.Minute))
	}
	// The response timers wake at 50 % of 30 minutes after opening.
	before := testStart.Add(17 * time.Minute)
	due, err := s.TimersDue(ctx, before, 100)
	require.NoError(t, err)
	require.Len(t, due, 12)
	for i := 1; i < len(due); i++ {
		prev, cur := due[i-1], due[i]
		require.True(t, !cur.NextWakeAt.Before(prev.NextWakeAt))
		if cur.NextWakeAt.Equal(prev.NextWakeAt) {
			require.True(t, prev.ID < cur.ID || prev.ID == cur.ID && prev.Record.ID < cur.Record.ID)
		}
		require.False(t, cur.NextWakeAt.After(before))
	}
	for limit := 1; limit <= 13; limit++ {
		got, err := s.TimersDue(ctx, before, limit)
		require.NoError(t, err)
		require.Equal(t, due[:min(limit, len(due))], got, "limit %d", limit)
	}
	got, err := s.TimersDue(ctx, before, 0)
	require.NoError(t, err)
	require.NotNil(t, got)
	require.Empty(t, got)
}

func TestHistoryAndOutbox(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	a := open(t, s, "A", testStart)
	b := open(t, s, "B", testStart)
	comment(t, s, a.Ref(), "one", testStart.Add(time.Minute))
	hist, err := s.History(ctx, a.Ref())
	require.NoError(t, err)
	require.Len(t, hist, 2)
	require.Equal(t, int64(2), hist[1].Sequence)
	require.Equal(t, "comment", hist[1].Action)
	empty, err := s.History(ctx, record.Ref{Kind: "incident", ID: "missing"})
	require.NoError(t, err)
	require.NotNil(t, empty)
	require.Empty(t, empty)

	page, err := s.ReadOutbox(ctx, "", 2)
	require.NoError(t, err)
	require.Len(t, page.Messages, 2)
	require.Equal(t, a.ID, page.Messages[0].Event.RecordID)
	require.Equal(t, b.ID, page.Messages[1].Event.RecordID)
	require.Equal(t, int64(1), page.Messages[1].Event.Sequence)
	require.Zero(t, page.Messages[0].Attempts)
	next, err := s.ReadOutbox(ctx, page.Next, 10)
	require.NoError(t, err)
	require.Len(t, next.Messages, 1)
	require.Equal(t, hist[1], next.Messages[0].Event)
	polled, err := s.ReadOutbox(ctx, next.Next, 10)
	require.NoError(t, err)
	require.Empty(t, polled.Messages)
	require.Equal(t, next.Next, polled.Next, "an empty page hands the cursor back")
	for _, bad := range []string{"x", "MA", "!!", "LTE"} {
		_, err := s.ReadOutbox(ctx, bad, 1)
		require.ErrorIs(t, err, itsm.ErrValidation, bad)
	}

	// Two instances of one consumer share the work; another consumer
	// sees every message.
	now := testStart.Add(time.Hour)
	first, err := s.Claim(ctx, "mailer", now, time.Minute, 2)
	require.NoError(t, err)
	require.Len(t, first, 2)
	require.Equal(t, 1, first[0].Attempts)
	second, err := s.Claim(ctx, "mailer", now, time.Minute, 5)
	require.NoError(t, err)
	require.Len(t, second, 1)
	require.Greater(t, second[0].ID, first[1].ID)
	none, err := s.Claim(ctx, "mailer", now.Add(30*time.Second), time.Minute, 5)
	require.NoError(t, err)
	require.Empty(t, none)
	other, err := s.Claim(ctx, "metrics", now, time.Minute, 5)
	require.NoError(t, err)
	require.Len(t, other, 3)

	require.NoError(t, s.Ack(ctx, "mailer", first[0].ID, first[0].ID))
	var nf *itsm.NotFoundError
	require.ErrorAs(t, s.Ack(ctx, "mailer", first[1].ID, 999), &nf)
	require.Equal(t, "999", nf.ID)
	// The lease ran out: the unacknowledged messages come again.
	again, err := s.Claim(ctx, "mailer", now.Add(time.Minute), time.Minute, 5)
	require.NoError(t, err)
	require.Len(t, again, 2, "the refused Ack acknowledged nothing")
	require.Equal(t, first[1].ID, again[0].ID)
	require.Equal(t, 2, again[0].Attempts)
	require.NoError(t, s.Ack(ctx, "mailer", again[0].ID, again[1].ID))
	done, err := s.Claim(ctx, "mailer", now.Add(time.Hour), time.Minute, 5)
	require.NoError(t, err)
	require.Empty(t, done)
	// An unclaimed message can be acknowledged too.
	require.NoError(t, s.Ack(ctx, "auditor", first[0].ID))

	_, err = s.Claim(ctx, "", now, 0, 0)
	require.ErrorIs(t, err, itsm.ErrValidation)
	require.ErrorIs(t, s.Ack(ctx, ""), itsm.ErrValidation)
}

// Concurrent claimers of one consumer never get the same message.
func TestClaimConcurrently(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, path := openTemp(t)
	for i := range 30 {
		open(t, s, "T", testStart.Add(time.Duration(i)*time.Second))
	}
	other, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	defer other.Close()
	stores := []*sqlite.Store{s, other}
	got := make(chan int64, 100)
	errs := make(chan error, 8)
	for w := range 8 {
		go func() {
			for {
				msgs, err := stores[w%2].Claim(ctx, "worker", testStart, time.Hour, 3)
				if err != nil && !storage.IsRetryable(err) {
					errs <- err
					return
				}
				if err == nil && len(msgs) == 0 {
					errs <- nil
					return
				}
				for _, m := range msgs {
					got <- m.ID
				}
			}
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
	close(got)
	seen := map[int64]bool{}
	for id := range got {
		require.False(t, seen[id], "message %d claimed twice", id)
		seen[id] = true
	}
	require.Len(t, seen, 30)
}

// Declare creates each filterable attribute's index once, idempotently;
// queries of undeclared kinds and unknown attributes are refused.
func TestDeclare(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, path := openTemp(t)
	const indexes = "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name LIKE 'rattr_%'"
	require.Equal(t, 1, count(t, s, indexes))
	require.NoError(t, s.Declare(ctx, ticketSchema))
	require.Equal(t, 1, count(t, s, indexes))
	def := ticketSchema.Def()
	def.Attributes = append(def.Attributes, record.Attribute{Name: "site", Type: record.AttrText, Filterable: true})
	require.NoError(t, s.Declare(ctx, record.MustNewSchema(def)))
	require.Equal(t, 1, count(t, s, indexes+" AND name = 'rattr_incident_site'"))
	require.ErrorIs(t, s.Declare(ctx, ticketSchema, nil), itsm.ErrValidation)

	_, err := s.List(ctx, record.Query{Kind: "problem"})
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = s.List(ctx, record.Query{Kind: "incident", Attrs: []record.AttrFilter{{Name: "colour", In: []record.Value{record.Text("red")}}}})
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = s.List(ctx, record.Query{Kind: "incident", States: []string{"lost"}})
	require.ErrorIs(t, err, itsm.ErrValidation)

	// Another Store on the file knows only what it declared itself.
	again, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	defer again.Close()
	_, err = again.List(ctx, record.Query{Kind: "incident"})
	require.ErrorIs(t, err, itsm.ErrValidation)
}

func TestNextNumber(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	var got []int64
	for range 3 {
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
			a, err := tx.NextNumber(ctx, "incident")
			got = append(got, a)
			return err
		}))
	}
	require.Equal(t, []int64{1, 2, 3}, got)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		n, err := tx.NextNumber(ctx, "problem")
		require.Equal(t, int64(1), n)
		_, verr := tx.NextNumber(ctx, "")
		require.ErrorIs(t, verr, itsm.ErrValidation)
		return err
	}))
}

// The body is kept as given, up to insignificant white space.
func TestBodyKept(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := openTemp(t)
	for i, body := range []string{``, `null`, `{"a":[1,2,{"b":"ü"}],"z":1e400}`, `"text"`} {
		rec := newTicket(int64(i+1), "Body", testStart)
		rec.Body = json.RawMessage(body)
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, rec) }))
		got, err := s.Get(ctx, rec.Ref())
		require.NoError(t, err)
		require.Equal(t, body, string(got.Body))
	}
}
