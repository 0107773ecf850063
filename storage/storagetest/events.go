package storagetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
)

var eventChecks = []check{
	{"Sequences", func(e *env) {
		// Each record numbers its events from 1, whatever the
		// transactions; a record of another kind with the same ID is
		// another record.
		a, b := e.fixture(1), e.fixture(2)
		theirs := e.og.record(1)
		theirs.ID = a.ID
		e.create(a, b, theirs)
		a1, b1, a2 := event(a.Ref(), "assign", t0), event(b.Ref(), "assign", t0), event(a.Ref(), "start", t0.Add(time.Minute))
		a3, b2 := event(a.Ref(), "hold", t0.Add(2*time.Minute)), event(b.Ref(), "start", t0.Add(2*time.Minute+time.Microsecond))
		t1 := event(theirs.Ref(), "link", t0)
		a3.Changes, a3.From, a3.To, a3.Reason = nil, "", "", ""
		a1.Sequence = 99 // the store assigns sequences
		e.tx(func(ctx context.Context, tx record.Tx) {
			require.NoError(e.t, tx.AppendEvents(ctx, a1, b1, t1, a2))
			hist, err := tx.History(ctx, a.Ref())
			require.NoError(e.t, err)
			requireEvents(e.t, numbered(1, a1, a2), hist, "history inside the transaction")
		})
		e.tx(func(ctx context.Context, tx record.Tx) {
			require.NoError(e.t, tx.AppendEvents(ctx, a3))
			require.NoError(e.t, tx.AppendEvents(ctx, b2))
		})
		e.requireHistory(a.Ref(), a1, a2, a3)
		e.requireHistory(b.Ref(), b1, b2)
		e.requireHistory(theirs.Ref(), t1)
	}},
	{"Validation", func(e *env) {
		a := e.fixture(1)
		e.create(a)
		valid := event(a.Ref(), "assign", t0)
		for _, tc := range []struct {
			name string
			edit func(ev *itsm.Event)
		}{
			{"no kind", func(ev *itsm.Event) { ev.Kind = "" }},
			{"no record", func(ev *itsm.Event) { ev.RecordID = "" }},
			{"no actor", func(ev *itsm.Event) { ev.Actor.ID = "" }},
			{"no time", func(ev *itsm.Event) { ev.At = time.Time{} }},
			{"no action", func(ev *itsm.Event) { ev.Action = "" }},
			{"year 0", func(ev *itsm.Event) { ev.At = time.Date(0, 12, 31, 23, 0, 0, 0, time.UTC) }},
			{"year -300000", func(ev *itsm.Event) { ev.At = time.Date(-300000, 1, 1, 0, 0, 0, 0, time.UTC) }},
			{"year 10000", func(ev *itsm.Event) { ev.At = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
			{"invalid UTF-8 reason", func(ev *itsm.Event) { ev.Reason = "caf\xe9" }},
			{"invalid UTF-8 actor name", func(ev *itsm.Event) { ev.Actor.Name = "\xff" }},
			{"invalid UTF-8 change", func(ev *itsm.Event) { ev.Changes[0].New = "in\xc3" }},
			{"NUL in action", func(ev *itsm.Event) { ev.Action = "start\x00" }},
			{"NUL in role", func(ev *itsm.Event) { ev.Actor.Roles = []itsm.Role{"agent\x00"} }},
		} {
			bad := event(a.Ref(), "start", t0)
			tc.edit(&bad)
			require.Error(e.t, itsm.ValidateEvents([]itsm.Event{bad}), "storagetest: fixture %s passes ValidateEvents", tc.name)
			e.refusedInTx(func(ctx context.Context, tx record.Tx) error {
				err := tx.AppendEvents(ctx, valid, bad)
				hist, herr := tx.History(ctx, a.Ref())
				require.NoError(e.t, herr)
				require.Empty(e.t, hist, "no event is appended when one is invalid")
				return err
			}, func(err error) { requireValidation(e.t, err, tc.name) })
		}
		e.requireHistory(a.Ref())
		msgs, _ := e.readOutbox(e.store, "", 100, 0)
		require.Empty(e.t, msgs, "a refused AppendEvents adds nothing to the outbox")
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.AppendEvents(ctx, valid)) })
		e.requireHistory(a.Ref(), valid)
		msgs, _ = e.readOutbox(e.store, "", 100, 1)
		requireEvents(e.t, numbered(1, valid), outboxEvents(msgs), "outbox")
	}},
	{"Boundaries", func(e *env) {
		// Instants at both ends of the years 1 to 9999 and text in any
		// script are kept as given (instants to the microsecond, in UTC),
		// and the trail still verifies.
		a := e.fixture(1)
		e.create(a)
		first := event(a.Ref(), "assign", time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC)) // the zero time is "no time"
		last := event(a.Ref(), "start", time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC))
		last.Actor.Name, last.Reason = "Zoë Ångström", "пожар 火事 🔥"
		last.Changes = []itsm.Change{{Field: "title", Old: "", New: "Ünïcödé"}}
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.AppendEvents(ctx, first, last)) })
		e.requireHistory(a.Ref(), first, last)
		if v, ok := e.store.(interface{ VerifyAuditTrail(context.Context) error }); ok {
			require.NoError(e.t, v.VerifyAuditTrail(e.ctx))
		}
	}},
	{"NoGapAfterRollback", func(e *env) {
		a := e.fixture(1)
		e.create(a)
		first, lost, second := event(a.Ref(), "assign", t0), event(a.Ref(), "lost", t0), event(a.Ref(), "start", t0)
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.AppendEvents(ctx, first)) })
		err := e.store.InTx(e.ctx, func(ctx context.Context, tx record.Tx) error {
			require.NoError(e.t, tx.AppendEvents(ctx, lost))
			return errRollback
		})
		require.ErrorIs(e.t, err, errRollback)
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.AppendEvents(ctx, second)) })
		e.requireHistory(a.Ref(), first, second)
	}},
	{"Outbox", func(e *env) {
		// Every committed event is in the outbox, in the order appended;
		// rolled-back ones are not.
		a, b := e.fixture(1), e.fixture(2)
		theirs := e.og.record(1)
		e.create(a, b, theirs)
		var want []itsm.Event
		seq := map[record.Ref]int64{}
		appendTx := func(commit bool, evs ...itsm.Event) {
			err := e.store.InTx(e.ctx, func(ctx context.Context, tx record.Tx) error {
				require.NoError(e.t, tx.AppendEvents(ctx, evs...))
				if !commit {
					return errRollback
				}
				return nil
			})
			if !commit {
				require.ErrorIs(e.t, err, errRollback)
				return
			}
			require.NoError(e.t, err)
			for _, ev := range evs {
				ref := record.Ref{Kind: ev.Kind, ID: ev.RecordID}
				seq[ref]++
				ev.Sequence = seq[ref]
				want = append(want, ev)
			}
		}
		appendTx(true, event(a.Ref(), "assign", t0), event(b.Ref(), "assign", t0))
		appendTx(false, event(a.Ref(), "lost", t0))
		appendTx(true, event(theirs.Ref(), "open", t0.Add(time.Second)))
		appendTx(true, event(a.Ref(), "start", t0.Add(time.Minute)), event(a.Ref(), "hold", t0.Add(2*time.Minute)))
		appendTx(false, event(b.Ref(), "lost", t0), event(theirs.Ref(), "lost", t0))
		appendTx(true, event(b.Ref(), "start", t0.Add(3*time.Minute)))
		for _, limit := range []int{1, 2, 100} {
			msgs, _ := e.readOutbox(e.store, "", limit, len(want))
			requireEvents(e.t, want, outboxEvents(msgs), fmt.Sprintf("outbox read %d at a time", limit))
			for i, m := range msgs {
				require.Zero(e.t, m.Attempts, "Attempts outside Claim")
				if i > 0 {
					require.Greater(e.t, m.ID, msgs[i-1].ID, "IDs grow with the order of appending")
				}
			}
		}
	}},
}

// appendEach creates a record and appends n events to it, each in its
// own transaction, and returns them numbered as the store numbers them.
func (e *env) appendEach(n int) []itsm.Event {
	e.t.Helper()
	rec := e.fixture(1)
	e.create(rec)
	return e.appendTo(rec.Ref(), 1, n)
}

// appendTo appends n events to ref, each in its own transaction, the
// first with Sequence first.
func (e *env) appendTo(ref record.Ref, first int64, n int) []itsm.Event {
	e.t.Helper()
	var evs []itsm.Event
	for i := range n {
		ev := event(ref, fmt.Sprint("action-", int(first)+i), t0.Add(time.Duration(i)*time.Second))
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.AppendEvents(ctx, ev)) })
		ev.Sequence = first + int64(i)
		evs = append(evs, ev)
	}
	return evs
}

// claim calls Claim and fails the test on error.
func (e *env) claim(consumer string, now time.Time, lease time.Duration, limit int) []record.Message {
	e.t.Helper()
	msgs, err := e.store.Claim(e.ctx, consumer, now, lease, limit)
	require.NoError(e.t, err)
	return msgs
}

// requireClaimed fails unless msgs hold want's events, in order, each
// with attempts.
func (e *env) requireClaimed(msgs []record.Message, attempts int, want ...itsm.Event) {
	e.t.Helper()
	requireEvents(e.t, want, outboxEvents(msgs), "claimed messages")
	for _, m := range msgs {
		require.Equal(e.t, attempts, m.Attempts, "Attempts of message %d", m.ID)
	}
}

func msgIDs(msgs []record.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

const lease = time.Minute

var outboxChecks = []check{
	{"Read/Paging", func(e *env) {
		empty, err := e.store.ReadOutbox(e.ctx, "", 10)
		require.NoError(e.t, err)
		require.NotNil(e.t, empty.Messages)
		require.Empty(e.t, empty.Messages)
		require.Empty(e.t, empty.Next, "an empty page returns the cursor it was given")
		want := e.appendEach(7)
		// Polling from the empty outbox's cursor reads from the first
		// message, in pages of at most the limit.
		got, after := e.readOutbox(e.store, empty.Next, 3, len(want))
		requireEvents(e.t, want, outboxEvents(got), "outbox")
		for _, c := range []string{"", after} {
			for _, limit := range []int{0, -1} {
				page, err := e.store.ReadOutbox(e.ctx, c, limit)
				require.NoError(e.t, err)
				require.Empty(e.t, page.Messages, "limit %d", limit)
				require.Equal(e.t, c, page.Next, "an empty page returns the cursor it was given")
			}
		}
		// Every cursor handed out reads on from its message.
		c := ""
		for i := range want {
			page := e.nextPage(e.store, c, 1)
			require.Len(e.t, page.Messages, 1)
			requireEvents(e.t, want[i:i+1], outboxEvents(page.Messages), fmt.Sprintf("outbox message %d", i+1))
			c = page.Next
			rest, _ := e.readOutbox(e.store, c, 2, len(want)-i-1)
			requireEvents(e.t, want[i+1:], outboxEvents(rest), fmt.Sprintf("outbox after message %d", i+1))
		}
		e.tx(func(ctx context.Context, tx record.Tx) {
			msgs, _ := e.readOutbox(tx, "", 2, len(want))
			requireEvents(e.t, want, outboxEvents(msgs), "outbox inside a transaction")
		})
	}},
	{"Read/NewMessages", func(e *env) {
		// A cursor handed out stays valid: reading on from it returns
		// exactly what was committed since.
		rec := e.fixture(1)
		e.create(rec)
		first := e.appendTo(rec.Ref(), 1, 3)
		msgs, after := e.readOutbox(e.store, "", 2, len(first))
		requireEvents(e.t, first, outboxEvents(msgs), "outbox")
		more := e.appendTo(rec.Ref(), 4, 4)
		msgs, _ = e.readOutbox(e.store, after, 3, len(more))
		requireEvents(e.t, more, outboxEvents(msgs), "outbox after the cursor")
	}},
	{"Read/MalformedCursor", func(e *env) {
		e.appendEach(2)
		_, after := e.readOutbox(e.store, "", 10, 2)
		for _, c := range []string{"not a cursor", after + "!", "\xff", "-1"} {
			_, err := e.store.ReadOutbox(e.ctx, c, 10)
			requireValidation(e.t, err, "cursor %q", c)
			e.tx(func(ctx context.Context, tx record.Tx) {
				_, err := tx.ReadOutbox(ctx, c, 10)
				requireValidation(e.t, err, "cursor %q inside a transaction", c)
			})
		}
	}},
	{"Claim/OldestFirst", func(e *env) {
		want := e.appendEach(5)
		all, _ := e.readOutbox(e.store, "", 10, len(want))
		msgs := e.claim("mailer", tNow, lease, 10)
		e.requireClaimed(msgs, 1, want...)
		require.Equal(e.t, msgIDs(all), msgIDs(msgs), "Claim hands out the messages ReadOutbox reads")
	}},
	{"Claim/Lease", func(e *env) {
		want := e.appendEach(5)
		e.requireClaimed(e.claim("mailer", tNow, lease, 2), 1, want[:2]...)
		// A live lease hides a message from every other claim of the
		// consumer.
		e.requireClaimed(e.claim("mailer", tNow, lease, 10), 1, want[2:]...)
		require.Empty(e.t, e.claim("mailer", tNow, lease, 10))
		require.Empty(e.t, e.claim("mailer", tNow.Add(lease/2), lease, 10))
		// Once the leases run out the messages are offered again.
		later := tNow.Add(lease + time.Second)
		e.requireClaimed(e.claim("mailer", later, lease, 3), 2, want[:3]...)
		e.requireClaimed(e.claim("mailer", later, 2*lease, 10), 2, want[3:]...)
		// A longer lease lasts longer.
		even := later.Add(lease + time.Second)
		e.requireClaimed(e.claim("mailer", even, lease, 10), 3, want[:3]...)
	}},
	{"Claim/Consumers", func(e *env) {
		// Each consumer name sees every message.
		want := e.appendEach(4)
		e.requireClaimed(e.claim("mailer", tNow, lease, 10), 1, want...)
		e.requireClaimed(e.claim("indexer", tNow, lease, 3), 1, want[:3]...)
		e.requireClaimed(e.claim("webhook", tNow, lease, 10), 1, want...)
		e.requireClaimed(e.claim("indexer", tNow, lease, 10), 1, want[3:]...)
	}},
	{"Claim/NewMessages", func(e *env) {
		rec := e.fixture(1)
		e.create(rec)
		first := e.appendTo(rec.Ref(), 1, 2)
		e.requireClaimed(e.claim("mailer", tNow, lease, 10), 1, first...)
		more := e.appendTo(rec.Ref(), 3, 2)
		e.requireClaimed(e.claim("mailer", tNow, lease, 10), 1, more...)
	}},
	{"Ack", func(e *env) {
		want := e.appendEach(5)
		msgs := e.claim("mailer", tNow, lease, 10)
		require.Len(e.t, msgs, 5)
		require.NoError(e.t, e.store.Ack(e.ctx, "mailer", msgs[0].ID, msgs[2].ID))
		require.NoError(e.t, e.store.Ack(e.ctx, "mailer", msgs[2].ID), "acknowledging twice is not an error")
		require.NoError(e.t, e.store.Ack(e.ctx, "mailer"), "acknowledging nothing is not an error")
		later := tNow.Add(lease + time.Second)
		e.requireClaimed(e.claim("mailer", later, lease, 10), 2, want[1], want[3], want[4])
		// Acknowledging is per consumer, and needs no claim.
		require.NoError(e.t, e.store.Ack(e.ctx, "indexer", msgs[4].ID))
		e.requireClaimed(e.claim("indexer", later, lease, 10), 1, want[:4]...)
		require.NoError(e.t, e.store.Ack(e.ctx, "mailer", msgs[1].ID, msgs[3].ID, msgs[4].ID))
		require.Empty(e.t, e.claim("mailer", later.Add(10*lease), lease, 10))
	}},
	{"Ack/Unknown", func(e *env) {
		want := e.appendEach(3)
		msgs := e.claim("mailer", tNow, lease, 10)
		require.Len(e.t, msgs, 3)
		unknown := slices.Max(msgIDs(msgs)) + 1000
		err := e.store.Ack(e.ctx, "mailer", msgs[0].ID, unknown)
		require.ErrorIs(e.t, err, itsm.ErrNotFound)
		var nf *itsm.NotFoundError
		require.ErrorAs(e.t, err, &nf)
		// Nothing of the refused call is acknowledged.
		e.requireClaimed(e.claim("mailer", tNow.Add(lease+time.Second), lease, 10), 2, want...)
	}},
	{"Claim/Validation", func(e *env) {
		want := e.appendEach(2)
		for _, tc := range []struct {
			name     string
			consumer string
			now      time.Time
			lease    time.Duration
			limit    int
		}{
			{"no consumer", "", tNow, lease, 10},
			{"long consumer", strings.Repeat("c", record.MaxIDLen+1), tNow, lease, 10},
			{"no now", "mailer", time.Time{}, lease, 10},
			{"lease too short", "mailer", tNow, record.MinLease - 1, 10},
			{"no lease", "mailer", tNow, 0, 10},
			{"lease too long", "mailer", tNow, record.MaxLease + 1, 10},
			{"no limit", "mailer", tNow, lease, 0},
			{"negative limit", "mailer", tNow, lease, -1},
		} {
			require.Error(e.t, record.CheckClaim(tc.consumer, tc.now, tc.lease, tc.limit), "storagetest: fixture %s passes CheckClaim", tc.name)
			msgs, err := e.store.Claim(e.ctx, tc.consumer, tc.now, tc.lease, tc.limit)
			requireValidation(e.t, err, tc.name)
			require.Empty(e.t, msgs, tc.name)
		}
		e.requireClaimed(e.claim("mailer", tNow, lease, 10), 1, want...)
	}},
	{"Claim/Concurrent", func(e *env) {
		// Instances of one consumer claiming at once never get the same
		// message while leases are live, and together get every message.
		rec := e.fixture(1)
		e.create(rec)
		const n = 60
		var want []itsm.Event
		for first := 0; first < n; first += 10 {
			var evs []itsm.Event
			for i := first; i < first+10; i++ {
				ev := event(rec.Ref(), fmt.Sprint("action-", i), t0)
				evs = append(evs, ev)
				ev.Sequence = int64(i + 1)
				want = append(want, ev)
			}
			e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.AppendEvents(ctx, evs...)) })
		}
		var (
			mu     sync.Mutex
			got    = map[int64]record.Message{}
			errs   []error
			wg     sync.WaitGroup
			claims int
		)
		for range 8 {
			wg.Go(func() {
				for tries := 0; tries < 1000; tries++ {
					msgs, err := e.store.Claim(e.ctx, "mailer", tNow, time.Hour, 4)
					mu.Lock()
					switch {
					case storage.IsRetryable(err):
						mu.Unlock()
						continue
					case err != nil:
						errs = append(errs, err)
					case len(msgs) > 4:
						errs = append(errs, fmt.Errorf("claimed %d messages with a limit of 4", len(msgs)))
					}
					claims++
					for _, m := range msgs {
						if _, dup := got[m.ID]; dup {
							errs = append(errs, fmt.Errorf("message %d claimed twice under a live lease", m.ID))
						}
						got[m.ID] = m
					}
					mu.Unlock()
					if err != nil || len(msgs) == 0 {
						return
					}
				}
			})
		}
		wg.Wait()
		require.Empty(e.t, errs)
		require.Len(e.t, got, n, "every message was claimed")
		all, _ := e.readOutbox(e.store, "", 100, n)
		var claimed []record.Message
		for _, m := range all {
			c, ok := got[m.ID]
			require.True(e.t, ok, "message %d was not claimed", m.ID)
			claimed = append(claimed, c)
		}
		e.requireClaimed(claimed, 1, want...)
		e.t.Logf("%d claims", claims)
	}},
}
