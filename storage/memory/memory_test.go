package memory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/memory"
)

// The behaviour below goes beyond the record.Store contract, or checks it
// in ways only the memory store allows, so it is checked here rather than
// in storagetest.

func TestTxUnusableAfterInTx(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	for _, fail := range []bool{false, true} {
		var kept record.Tx
		_ = s.InTx(ctx, func(_ context.Context, tx record.Tx) error {
			kept = tx
			if fail {
				return errors.New("roll back")
			}
			return nil
		})
		_, err := kept.Get(ctx, ref(1))
		require.ErrorIs(t, err, memory.ErrTxDone)
		require.ErrorIs(t, kept.Create(ctx, ticket(1)), memory.ErrTxDone)
		_, err = kept.NextNumber(ctx, "ticket")
		require.ErrorIs(t, err, memory.ErrTxDone)
		_, err = kept.List(ctx, record.Query{Kind: "ticket"})
		require.ErrorIs(t, err, memory.ErrTxDone)
		_, err = s.Get(ctx, ref(1))
		require.ErrorIs(t, err, itsm.ErrNotFound, "a write through a kept Tx must not land")
	}
}

func TestInTxPanicRollsBack(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	require.PanicsWithValue(t, "boom", func() {
		_ = s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
			require.NoError(t, tx.Create(ctx, ticket(1)))
			panic("boom")
		})
	})
	_, err := s.Get(ctx, ref(1))
	require.ErrorIs(t, err, itsm.ErrNotFound)
	create(t, s, ticket(1)) // the writer was released
}

func TestInTxContext(t *testing.T) {
	t.Parallel()
	s := newStore(t)

	t.Run("DoneBeforeStart", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		called := false
		err := s.InTx(ctx, func(context.Context, record.Tx) error { called = true; return nil })
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, called)
	})

	t.Run("DoneBeforeCommit", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		err := s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
			require.NoError(t, tx.Create(ctx, ticket(7)))
			cancel()
			return nil
		})
		require.ErrorIs(t, err, context.Canceled)
		_, err = s.Get(t.Context(), ref(7))
		require.ErrorIs(t, err, itsm.ErrNotFound)
	})

	t.Run("DoneWhileWaiting", func(t *testing.T) {
		entered, release := make(chan struct{}), make(chan struct{})
		first := make(chan error, 1)
		go func() {
			first <- s.InTx(t.Context(), func(ctx context.Context, tx record.Tx) error {
				close(entered)
				<-release
				return nil
			})
		}()
		<-entered
		// Both the waiting writers give up when their context is done,
		// while reads go on without waiting.
		ctx, cancel := context.WithCancel(t.Context())
		waiting := make(chan error, 2)
		go func() { waiting <- s.InTx(ctx, func(context.Context, record.Tx) error { return nil }) }()
		go func() {
			_, err := s.ProcessDueTimers(ctx, t0, 10)
			waiting <- err
		}()
		_, err := s.List(t.Context(), record.Query{Kind: "ticket"})
		require.NoError(t, err, "reads do not wait for the open transaction")
		cancel()
		require.ErrorIs(t, <-waiting, context.Canceled)
		require.ErrorIs(t, <-waiting, context.Canceled)
		close(release)
		require.NoError(t, <-first)
	})

	t.Run("CallsCheckContext", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := s.Get(ctx, ref(1))
		require.ErrorIs(t, err, context.Canceled)
		_, err = s.List(ctx, record.Query{Kind: "ticket"})
		require.ErrorIs(t, err, context.Canceled)
		_, err = s.ReadOutbox(ctx, "", 10)
		require.ErrorIs(t, err, context.Canceled)
		_, err = s.Claim(ctx, "mailer", t0, time.Minute, 10)
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, s.Ack(ctx, "mailer"), context.Canceled)
		require.ErrorIs(t, s.Declare(ctx, ticketSchema), context.Canceled)
		require.NoError(t, s.InTx(t.Context(), func(outer context.Context, tx record.Tx) error {
			_, err := tx.TimersDue(ctx, t0, 10)
			require.ErrorIs(t, err, context.Canceled, "Tx methods check their context")
			require.ErrorIs(t, tx.Create(ctx, ticket(8)), context.Canceled)
			_, err = tx.Get(outer, ref(8))
			require.ErrorIs(t, err, itsm.ErrNotFound)
			return nil
		}))
	})
}

func TestNilFn(t *testing.T) {
	t.Parallel()
	require.ErrorIs(t, newStore(t).InTx(t.Context(), nil), itsm.ErrValidation)
}

// TestRefusedCallsWriteNothing checks that a write refused for any reason
// leaves the transaction as it was, and usable.
func TestRefusedCallsWriteNothing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	tm := newTimer(t, time.Hour, t0)
	good := record.TimerRecord{Record: ref(1), ID: "resolution", Timer: tm, NextWakeAt: t0.Add(time.Hour)}
	link := record.Link{Type: record.RelatedTo.Name, From: ref(1), To: ref(2), CreatedAt: t0, CreatedBy: "dave"}
	event := itsm.Event{Kind: "ticket", RecordID: ref(1).ID, Actor: itsm.Actor{ID: "dave"}, At: t0, Action: "note"}
	entry := record.Entry{Kind: record.WorkNote, Author: "dave", At: t0, Text: "looked at it"}
	other := ticket(3)
	other.Number = ticket(1).Number
	undeclared := ticket(4)
	undeclared.Kind = "gadget"
	badState := ticket(5)
	badState.State = "nowhere"
	badAttr := ticket(6)
	badAttr.Attrs = map[string]record.Value{"risk": record.Text("extreme")}

	cases := []struct {
		name string
		call func(context.Context, record.Tx) error
		is   error
	}{
		{"CreateNil", func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, nil) }, itsm.ErrValidation},
		{"CreateUndeclared", func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, undeclared) }, itsm.ErrValidation},
		{"CreateBadState", func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, badState) }, itsm.ErrValidation},
		{"CreateBadAttr", func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, badAttr) }, itsm.ErrValidation},
		{"CreateDuplicateID", func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, ticket(1)) }, itsm.ErrConflict},
		{"CreateDuplicateNumber", func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, other) }, itsm.ErrConflict},
		{"UpdateStale", func(ctx context.Context, tx record.Tx) error {
			r := ticket(1)
			r.Version, r.Title = 7, "changed"
			return tx.Update(ctx, r)
		}, itsm.ErrConflict},
		{"UpdateMissing", func(ctx context.Context, tx record.Tx) error {
			r := ticket(9)
			r.Version = 1
			return tx.Update(ctx, r)
		}, itsm.ErrNotFound},
		{"UpdateNumberTaken", func(ctx context.Context, tx record.Tx) error {
			r := ticket(1)
			r.Version, r.Number = 1, ticket(2).Number
			return tx.Update(ctx, r)
		}, itsm.ErrConflict},
		{"NextNumberUndeclared", func(ctx context.Context, tx record.Tx) error { _, err := tx.NextNumber(ctx, "gadget"); return err }, itsm.ErrValidation},
		{"TimersOneBad", func(ctx context.Context, tx record.Tx) error {
			return tx.PutTimers(ctx, good, record.TimerRecord{Record: ref(1), ID: "bad"})
		}, itsm.ErrValidation},
		{"TimersMissingRecord", func(ctx context.Context, tx record.Tx) error {
			return tx.PutTimers(ctx, good, record.TimerRecord{Record: ref(9), ID: "x", Timer: tm})
		}, itsm.ErrNotFound},
		{"LinksMissingEnd", func(ctx context.Context, tx record.Tx) error {
			l := link
			l.To = ref(9)
			return tx.AddLinks(ctx, link, l)
		}, itsm.ErrNotFound},
		{"LinksTwice", func(ctx context.Context, tx record.Tx) error { return tx.AddLinks(ctx, link, link) }, itsm.ErrConflict},
		{"LinksMalformed", func(ctx context.Context, tx record.Tx) error {
			l := link
			l.CreatedBy = ""
			return tx.AddLinks(ctx, link, l)
		}, itsm.ErrValidation},
		{"JournalMissingRecord", func(ctx context.Context, tx record.Tx) error { return tx.AppendJournal(ctx, ref(9), entry) }, itsm.ErrNotFound},
		{"JournalBadEntry", func(ctx context.Context, tx record.Tx) error {
			return tx.AppendJournal(ctx, ref(1), entry, record.Entry{Kind: record.Comment, Author: "x", At: t0})
		}, itsm.ErrValidation},
		{"EventsOneBad", func(ctx context.Context, tx record.Tx) error {
			return tx.AppendEvents(ctx, event, itsm.Event{Kind: "ticket"})
		}, itsm.ErrValidation},
		{"RemoveMissingLink", func(ctx context.Context, tx record.Tx) error {
			if err := tx.AddLinks(ctx, link); err != nil {
				return err
			}
			l := link
			l.Type = record.CausedBy.Name
			return tx.RemoveLinks(ctx, link, l)
		}, itsm.ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			create(t, s, ticket(1), ticket(2))
			require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
				before := snapshot(t, ctx, tx)
				err := tc.call(ctx, tx)
				require.ErrorIs(t, err, tc.is)
				if tc.name == "RemoveMissingLink" {
					// The link added first stays; the refused removal took
					// nothing away.
					links, err := tx.Links(ctx, ref(1))
					require.NoError(t, err)
					require.Len(t, links, 1)
					require.NoError(t, tx.RemoveLinks(ctx, link))
				}
				require.Equal(t, before, snapshot(t, ctx, tx), "a refused call wrote something")
				return nil
			}))
		})
	}
}

// snap is what snapshot sees of a store.
type snap struct {
	Records []*record.Record
	Timers  [][]record.TimerRecord
	Links   [][]record.Link
	Journal [][]record.Entry
	History [][]itsm.Event
	Outbox  record.OutboxPage
	Due     []record.TimerRecord
}

func snapshot(t *testing.T, ctx context.Context, r record.Reader) snap {
	t.Helper()
	var st snap
	page, err := r.List(ctx, record.Query{Kind: "ticket", Limit: record.MaxPageSize})
	require.NoError(t, err)
	st.Records = page.Records
	for i := 1; i <= 9; i++ {
		tr, err := r.Timers(ctx, ref(i))
		require.NoError(t, err)
		for j := range tr {
			tr[j].Timer = nil // compared through Due's count and the records' SLA
		}
		st.Timers = append(st.Timers, tr)
		l, err := r.Links(ctx, ref(i))
		require.NoError(t, err)
		st.Links = append(st.Links, l)
		j, err := r.Journal(ctx, ref(i))
		require.NoError(t, err)
		st.Journal = append(st.Journal, j)
		h, err := r.History(ctx, ref(i))
		require.NoError(t, err)
		st.History = append(st.History, h)
	}
	st.Outbox, err = r.ReadOutbox(ctx, "", 100)
	require.NoError(t, err)
	due, err := r.TimersDue(ctx, t0.Add(1000*time.Hour), 100)
	require.NoError(t, err)
	for i := range due {
		due[i].Timer = nil
	}
	st.Due = due
	return st
}

func TestNumbersSwappedInOneTx(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	a, b := ticket(1), ticket(2)
	create(t, s, a, b)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		na, nb := a.Number, b.Number
		a.Number = "TKT-TMP"
		if err := tx.Update(ctx, a); err != nil {
			return err
		}
		b.Number = na
		if err := tx.Update(ctx, b); err != nil {
			return err
		}
		a.Number = nb
		if err := tx.Update(ctx, a); err != nil {
			return err
		}
		got, err := tx.GetByNumber(ctx, "ticket", na)
		require.NoError(t, err)
		require.Equal(t, b.ID, got.ID, "the transaction sees its renumbering")
		return nil
	}))
	for number, id := range map[string]string{b.Number: b.ID, a.Number: a.ID} {
		got, err := s.GetByNumber(ctx, "ticket", number)
		require.NoError(t, err)
		require.Equal(t, id, got.ID, number)
	}
	_, err := s.GetByNumber(ctx, "ticket", "TKT-TMP")
	require.ErrorIs(t, err, itsm.ErrNotFound)
}

func TestRollbackLeavesNoNumberGap(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	next := func(fail bool) int64 {
		var n int64
		_ = s.InTx(ctx, func(ctx context.Context, tx record.Tx) (err error) {
			n, err = tx.NextNumber(ctx, "ticket")
			require.NoError(t, err)
			if fail {
				return errors.New("roll back")
			}
			return nil
		})
		return n
	}
	require.Equal(t, []int64{1, 2, 2, 3}, []int64{next(false), next(true), next(false), next(false)})
}

// TestTxSeesItsWrites checks that a transaction reads what it staged,
// through every index, while others read the committed state.
func TestTxSeesItsWrites(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	create(t, s, ticket(1), ticket(2))
	tm := newTimer(t, time.Hour, t0)
	rec := record.TimerRecord{Record: ref(1), ID: "resolution", Timer: tm, Stage: sla.StageRunning,
		AtRiskAt: t0.Add(45 * time.Minute), BreachAt: t0.Add(time.Hour), NextWakeAt: t0.Add(30 * time.Minute)}
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.PutTimers(ctx, rec) }))

	due := func(r record.Reader) []time.Time {
		t.Helper()
		got, err := r.TimersDue(ctx, t0.Add(24*time.Hour), 10)
		require.NoError(t, err)
		var out []time.Time
		for _, g := range got {
			out = append(out, g.NextWakeAt)
		}
		return out
	}
	list := func(r record.Reader, q record.Query) []string {
		t.Helper()
		q.Kind = "ticket"
		p, err := r.List(ctx, q)
		require.NoError(t, err)
		return ids(p.Records)
	}
	breached := record.Query{SLA: record.SLAFilter{Breached: true}, Now: t0.Add(2 * time.Hour)}
	open := record.Query{States: []string{"open"}}
	require.Equal(t, []string{ref(1).ID}, list(s, breached))

	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		moved := rec
		moved.Record = ref(1)
		moved.NextWakeAt, moved.BreachAt = t0.Add(3*time.Hour), t0.Add(3*time.Hour)
		require.NoError(t, tx.PutTimers(ctx, moved))
		r2 := rec
		r2.Record = ref(2)
		require.NoError(t, tx.PutTimers(ctx, r2))
		three := ticket(3)
		three.State, three.StateCategory = "open", itsm.CategoryActive
		require.NoError(t, tx.Create(ctx, three))

		require.Equal(t, []time.Time{t0.Add(30 * time.Minute), t0.Add(3 * time.Hour)}, due(tx), "the transaction sees its replacement")
		require.Equal(t, []time.Time{t0.Add(30 * time.Minute)}, due(s), "others see the committed timer")
		require.Equal(t, []string{ref(2).ID}, list(tx, breached))
		require.Equal(t, []string{ref(1).ID}, list(s, breached))
		require.Equal(t, []string{ref(3).ID}, list(tx, open))
		require.Empty(t, list(s, open))
		got, err := tx.Get(ctx, ref(2))
		require.NoError(t, err)
		require.Len(t, got.SLA, 1, "Get in the transaction carries the staged timers' summary")
		return nil
	}))
	require.Equal(t, []string{ref(2).ID}, list(s, breached))
	require.Equal(t, []string{ref(3).ID}, list(s, open))
}

func TestCopies(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	in := ticket(1)
	in.ConfigItems = []string{"mail-1"}
	in.Attrs = map[string]record.Value{"risk": record.Text("low")}
	in.Body = []byte(`{"a":1}`)
	create(t, s, in)
	in.ConfigItems[0], in.Attrs["risk"], in.Body[2] = "changed", record.Text("high"), 'b'

	got, err := s.Get(ctx, ref(1))
	require.NoError(t, err)
	require.Equal(t, []string{"mail-1"}, got.ConfigItems)
	require.Equal(t, record.Text("low"), got.Attrs["risk"])
	require.JSONEq(t, `{"a":1}`, string(got.Body))
	got.ConfigItems[0], got.Attrs["risk"] = "changed", record.Text("high")

	again, err := s.Get(ctx, ref(1))
	require.NoError(t, err)
	require.Equal(t, []string{"mail-1"}, again.ConfigItems)
	p, err := s.List(ctx, record.Query{Kind: "ticket", ConfigItem: "mail-1", Attrs: []record.AttrFilter{{Name: "risk", In: []record.Value{record.Text("low")}}}})
	require.NoError(t, err)
	require.Len(t, p.Records, 1, "the indexes were not changed through a copy")
}

func TestOutboxClaimAck(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	create(t, s, ticket(1))
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		var evs []itsm.Event
		for range 5 {
			evs = append(evs, itsm.Event{Kind: "ticket", RecordID: ref(1).ID, Actor: itsm.Actor{ID: "dave"}, At: t0, Action: "note"})
		}
		return tx.AppendEvents(ctx, evs...)
	}))

	claimIDs := func(consumer string, now time.Time, limit int) []int64 {
		t.Helper()
		msgs, err := s.Claim(ctx, consumer, now, time.Minute, limit)
		require.NoError(t, err)
		out := []int64{}
		for _, m := range msgs {
			out = append(out, m.ID)
		}
		return out
	}
	require.Equal(t, []int64{1, 2}, claimIDs("mailer", t0, 2))
	require.Equal(t, []int64{3, 4, 5}, claimIDs("mailer", t0, 10), "leased messages go to no other instance")
	require.Equal(t, []int64{1, 2, 3, 4, 5}, claimIDs("audit", t0, 10), "every consumer sees every message")
	require.NoError(t, s.Ack(ctx, "mailer", 2, 1, 4))
	require.Empty(t, claimIDs("mailer", t0.Add(59*time.Second), 10))
	msgs, err := s.Claim(ctx, "mailer", t0.Add(time.Minute), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, msgs, 2, "an expired lease frees the message")
	require.Equal(t, []int64{3, 5}, []int64{msgs[0].ID, msgs[1].ID})
	require.Equal(t, 2, msgs[0].Attempts)
	require.Equal(t, int64(3), msgs[0].Event.Sequence)

	var nf *itsm.NotFoundError
	require.ErrorAs(t, s.Ack(ctx, "mailer", 3, 99), &nf)
	require.Equal(t, "99", nf.ID)
	require.NoError(t, s.Ack(ctx, "mailer", 1, 1), "acknowledging twice is fine")
	require.Equal(t, []int64{3, 5}, claimIDs("mailer", t0.Add(3*time.Minute), 10), "a refused Ack acknowledges nothing")
	require.NoError(t, s.Ack(ctx, "mailer", 3, 5))
	require.Empty(t, claimIDs("mailer", t0.Add(time.Hour), 10))

	_, err = s.Claim(ctx, "", t0, 0, 0)
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("consumer") && ve.Has("lease") && ve.Has("limit"))
	require.ErrorIs(t, s.Ack(ctx, ""), itsm.ErrValidation)
}

func TestReadOutboxCursor(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	page, err := s.ReadOutbox(ctx, "", 10)
	require.NoError(t, err)
	require.NotNil(t, page.Messages)
	require.Empty(t, page.Messages)
	require.Empty(t, page.Next)
	create(t, s, ticket(1))
	for range 3 {
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
			return tx.AppendEvents(ctx, itsm.Event{Kind: "ticket", RecordID: ref(1).ID, Actor: itsm.Actor{ID: "dave"}, At: t0, Action: "note"})
		}))
	}
	page, err = s.ReadOutbox(ctx, "", 2)
	require.NoError(t, err)
	require.Len(t, page.Messages, 2)
	next, err := s.ReadOutbox(ctx, page.Next, 2)
	require.NoError(t, err)
	require.Len(t, next.Messages, 1)
	require.Equal(t, int64(3), next.Messages[0].ID)
	end, err := s.ReadOutbox(ctx, next.Next, 2)
	require.NoError(t, err)
	require.Empty(t, end.Messages)
	require.Equal(t, next.Next, end.Next, "an empty page hands the cursor back")
	for _, bad := range []string{"x", "MA", "LTE", "!!", page.Next + "A"} {
		_, err := s.ReadOutbox(ctx, bad, 1)
		require.ErrorIs(t, err, itsm.ErrValidation, bad)
	}
}

func TestLinks(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	create(t, s, ticket(1), ticket(2), ticket(3))
	l := func(typ string, from, to int) record.Link {
		return record.Link{Type: typ, From: ref(from), To: ref(to), CreatedAt: t0, CreatedBy: "dave"}
	}
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		return tx.AddLinks(ctx, l("related_to", 2, 1), l("caused_by", 1, 3), l("duplicate_of", 3, 2))
	}))
	links := func(n int) []record.Link {
		t.Helper()
		got, err := s.Links(ctx, ref(n))
		require.NoError(t, err)
		return got
	}
	require.Equal(t, []record.Link{l("related_to", 2, 1), l("caused_by", 1, 3)}, links(1))
	require.Equal(t, []record.Link{l("caused_by", 1, 3), l("duplicate_of", 3, 2)}, links(3))
	err := s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.AddLinks(ctx, l("related_to", 2, 1)) })
	require.ErrorIs(t, err, itsm.ErrConflict)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		return tx.AddLinks(ctx, l("related_to", 1, 2)) // the other direction is another link
	}))
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		return tx.RemoveLinks(ctx, l("related_to", 2, 1))
	}))
	require.Equal(t, []record.Link{l("caused_by", 1, 3), l("related_to", 1, 2)}, links(1))
	err = s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		return tx.RemoveLinks(ctx, l("caused_by", 1, 3), l("caused_by", 1, 3))
	})
	require.ErrorIs(t, err, itsm.ErrNotFound, "naming a link twice removes it once, then finds nothing")
	require.Len(t, links(1), 2)
	err = s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		return tx.RemoveLinks(ctx, record.Link{Type: "Bad", From: ref(1)})
	})
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("[0].type") && ve.Has("[0].to.kind") && ve.Has("[0].to.id"), ve.Error())
}

func TestProcessDueTimers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// A business calendar (t0 is a Monday, 09:00): decoded timers on it
	// need the store's calendars to bind.
	hours := map[string][]sla.Interval{}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
		hours[d] = []sla.Interval{{"09:00", "17:00"}}
	}
	office, err := sla.NewCalendar(sla.CalendarSpec{Name: "office", TimeZone: "UTC", Hours: hours})
	require.NoError(t, err)
	tm, err := sla.NewTimer(office, sla.BusinessTime(4*time.Hour), nil, "gold", sla.MetricResolution, itsm.PriorityHigh)
	require.NoError(t, err)
	require.NoError(t, tm.Start(t0))

	s := newStore(t, memory.WithCalendars(sla.Calendars{office.Name(): office}))
	create(t, s, ticket(1))
	put := record.NewTimerRecord(ref(1), "resolution", sla.KindSLA, tm, t0)
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.PutTimers(ctx, put) }))
	require.Equal(t, t0.Add(2*time.Hour), put.NextWakeAt, "the 50 % warning")

	// crossings returns the crossings recorded in the audit trail.
	crossings := func() []storage.Crossing {
		hist, err := s.History(ctx, ref(1))
		require.NoError(t, err)
		var out []storage.Crossing
		for _, ev := range hist {
			if c, ok := storage.CrossingFromEvent(ev); ok {
				out = append(out, c)
			}
		}
		return out
	}
	b, err := s.ProcessDueTimers(ctx, t0.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Equal(t, storage.Batch{}, b, "nothing is due yet")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.ProcessDueTimers(cctx, t0.Add(3*time.Hour), 10)
	require.ErrorIs(t, err, context.Canceled)
	due, err := s.TimersDue(ctx, t0.Add(3*time.Hour), 10)
	require.NoError(t, err)
	require.Len(t, due, 1, "a cancelled pass keeps nothing")

	b, err = s.ProcessDueTimers(ctx, t0.Add(3*time.Hour), 10)
	require.NoError(t, err)
	require.Equal(t, storage.Batch{Claimed: 1, Processed: 1, Recorded: 2}, b)
	got := crossings()
	require.Len(t, got, 2, "50 % and 75 %")
	require.Equal(t, storage.Crossing{Record: ref(1), TimerID: "resolution", Policy: "gold", Metric: sla.MetricResolution,
		Cycle: 1, BasisPoints: 7500, At: t0.Add(3 * time.Hour)}, got[1])
	stored, err := s.Get(ctx, ref(1))
	require.NoError(t, err)
	timers, err := s.Timers(ctx, ref(1))
	require.NoError(t, err)
	require.True(t, timers[0].NextWakeAt.After(t0.Add(3*time.Hour)), "the next wake-up is the breach")
	require.Equal(t, record.Summary{timers[0].Summary()}, stored.SLA, "the refresh reaches the record's summary")

	b, err = s.ProcessDueTimers(ctx, t0.Add(5*time.Hour), 10)
	require.NoError(t, err)
	require.Equal(t, 1, b.Processed)
	got = crossings()
	require.Len(t, got, 3, "the breach, and no warning again")
	require.True(t, got[2].Breach())
	b, err = s.ProcessDueTimers(ctx, t0.Add(9*time.Hour), 10)
	require.NoError(t, err)
	require.Zero(t, b.Claimed)
	page, err := s.List(ctx, record.Query{Kind: "ticket", SLA: record.SLAFilter{Breached: true}, Now: t0.Add(9 * time.Hour)})
	require.NoError(t, err)
	require.Len(t, page.Records, 1)

	t.Run("UnknownCalendar", func(t *testing.T) {
		t.Parallel()
		bare := newStore(t) // no WithCalendars
		create(t, bare, ticket(1))
		require.NoError(t, bare.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.PutTimers(ctx, put) }))
		b, err := bare.ProcessDueTimers(ctx, t0.Add(3*time.Hour), 10)
		require.NoError(t, err)
		require.Equal(t, 1, b.Claimed)
		require.Zero(t, b.Processed)
		require.Equal(t, []*storage.UnknownCalendarError{{Calendar: "office", Record: ref(1), TimerID: "resolution"}}, b.Skipped)
		require.ErrorIs(t, b.Skipped[0], storage.ErrUnknownCalendar)
		missing, err := bare.UnknownCalendars(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"office"}, missing)
		b, err = bare.ProcessDueTimers(ctx, t0.Add(3*time.Hour), 0)
		require.NoError(t, err)
		require.Zero(t, b.Claimed)
	})
}

// TestOutboxCursorSurvivesRollback checks that a cursor read inside a
// transaction that rolls back skips no message committed later.
func TestOutboxCursorSurvivesRollback(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	create(t, s, ticket(1))
	ev := itsm.Event{Kind: "ticket", RecordID: ref(1).ID, Actor: itsm.Actor{ID: "dave"}, At: t0, Action: "note"}
	var cursor string
	err := s.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		require.NoError(t, tx.AppendEvents(ctx, ev, ev))
		page, err := tx.ReadOutbox(ctx, "", 10)
		require.NoError(t, err)
		require.Len(t, page.Messages, 2, "a transaction reads its own messages")
		cursor = page.Next
		return errors.New("roll back")
	})
	require.EqualError(t, err, "roll back")
	require.NoError(t, s.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.AppendEvents(ctx, ev) }))
	page, err := s.ReadOutbox(ctx, cursor, 10)
	require.NoError(t, err)
	require.Len(t, page.Messages, 1, "the message committed later lands after the cursor")
	require.Equal(t, int64(1), page.Messages[0].Event.Sequence)
}
