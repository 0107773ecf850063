package storagetest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// smallLimits are the limits the checks of limits declare the kind under
// test with, small enough to reach in a test and large enough for the
// generated records.
var smallLimits = record.Limits{Title: 64, Description: 64, Body: 1024, JournalEntry: 64, JournalEntries: 3, TimerEventsPerCycle: 5}

// limited declares the kind under test again, with smallLimits.
func (e *env) limited() {
	e.t.Helper()
	def := e.schema.Def()
	def.Limits = smallLimits
	s, err := record.NewSchema(def)
	require.NoError(e.t, err)
	require.NoError(e.t, e.store.Declare(e.ctx, s))
}

// requireLimit fails the test unless err is an *itsm.LimitError for field
// with limit and size, matching itsm.ErrTooLarge and itsm.ErrValidation.
func requireLimit(t testing.TB, err error, field string, limit, size int) {
	t.Helper()
	require.ErrorIs(t, err, itsm.ErrTooLarge, field)
	require.ErrorIs(t, err, itsm.ErrValidation, field)
	var le *itsm.LimitError
	require.ErrorAs(t, err, &le, field)
	require.Equal(t, field, le.Field, "LimitError.Field")
	require.Equal(t, limit, le.Limit, "LimitError.Limit of %s", field)
	require.Equal(t, size, le.Size, "LimitError.Size of %s", field)
}

// sized returns text of n bytes, in two-byte letters but for the last
// byte when n is odd.
func sized(n int) string { return strings.Repeat("ü", n/2) + strings.Repeat("x", n%2) }

// bodyOf returns a JSON body of exactly n bytes (n ≥ 8).
func bodyOf(n int) json.RawMessage {
	return json.RawMessage(`{"x":"` + strings.Repeat("b", n-8) + `"}`)
}

// cycleOf returns a started timer whose only cycle has n events (n odd):
// the start and (n-1)/2 holds.
func cycleOf(n int) *sla.Timer {
	tm := newTimer("gold", sla.MetricResolution, 8*time.Hour, t0)
	at := t0
	for range (n - 1) / 2 {
		at = at.Add(time.Minute)
		must(tm.Pause(at, "awaiting caller"))
		at = at.Add(time.Minute)
		must(tm.Resume(at, "caller replied"))
	}
	return tm
}

var limitChecks = []check{
	{"Record", func(e *env) {
		e.limited()
		rec := e.full(1)
		rec.Title, rec.Description, rec.Body = sized(smallLimits.Title), sized(smallLimits.Description), bodyOf(smallLimits.Body)
		e.create(rec) // exactly at every limit
		requireRecord(e.t, rec, e.get(rec.Ref()))

		for _, tc := range []struct {
			field string
			limit int
			edit  func(r *record.Record)
		}{
			{"title", smallLimits.Title, func(r *record.Record) { r.Title = sized(smallLimits.Title + 1) }},
			{"description", smallLimits.Description, func(r *record.Record) { r.Description = sized(smallLimits.Description + 1) }},
			{"body", smallLimits.Body, func(r *record.Record) { r.Body = bodyOf(smallLimits.Body + 1) }},
		} {
			fresh := e.full(2)
			tc.edit(fresh)
			e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, fresh) },
				func(err error) { requireLimit(e.t, err, tc.field, tc.limit, tc.limit+1) })
			_, err := e.store.Get(e.ctx, fresh.Ref())
			require.ErrorIs(e.t, err, itsm.ErrNotFound, "a record refused for its %s is not stored", tc.field)

			changed := e.get(rec.Ref())
			tc.edit(changed)
			e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.Update(ctx, changed) },
				func(err error) { requireLimit(e.t, err, tc.field, tc.limit, tc.limit+1) })
			requireRecord(e.t, rec, e.get(rec.Ref()))
		}
	}},
	{"JournalEntry", func(e *env) {
		e.limited()
		rec := e.fixture(1)
		e.create(rec)
		at := entry(record.Comment, "carol", t0, sized(smallLimits.JournalEntry))
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.AppendJournal(ctx, rec.Ref(), at)) })
		long := entry(record.WorkNote, "dave", t0, sized(smallLimits.JournalEntry+1))
		valid := entry(record.Comment, "carol", t0, "valid")
		e.refusedInTx(func(ctx context.Context, tx record.Tx) error {
			return tx.AppendJournal(ctx, rec.Ref(), valid, long)
		}, func(err error) {
			requireLimit(e.t, err, "[1].text", smallLimits.JournalEntry, smallLimits.JournalEntry+1)
		})
		e.requireJournal(e.ctx, e.store, rec.Ref(), at)
	}},
	{"JournalEntries", func(e *env) {
		e.limited()
		limit := smallLimits.JournalEntries
		en := func(i int) record.Entry {
			return entry(record.WorkNote, "dave", t0.Add(time.Duration(i)*time.Second), "note")
		}
		full := func(from int) []record.Entry {
			out := make([]record.Entry, limit)
			for i := range out {
				out[i] = en(from + i)
			}
			return out
		}
		a, b, c, d := e.fixture(1), e.fixture(2), e.fixture(3), e.fixture(5)
		// Records created in the transaction: a's journal fills up there
		// and one entry more is refused; b's fills in one call, d's would
		// overflow in one.
		e.tx(func(ctx context.Context, tx record.Tx) {
			require.NoError(e.t, tx.Create(ctx, a))
			require.NoError(e.t, tx.AppendJournal(ctx, a.Ref(), full(0)[:limit-1]...))
			require.NoError(e.t, tx.AppendJournal(ctx, a.Ref(), en(limit-1)))
			requireLimit(e.t, tx.AppendJournal(ctx, a.Ref(), en(limit)), "journal", limit, limit+1)
			require.NoError(e.t, tx.Create(ctx, b), "the transaction must stay usable after a refused call")
			require.NoError(e.t, tx.AppendJournal(ctx, b.Ref(), full(0)...))
			require.NoError(e.t, tx.Create(ctx, d))
			requireLimit(e.t, tx.AppendJournal(ctx, d.Ref(), append(full(0), en(limit))...), "journal", limit, limit+1)
			e.requireJournal(ctx, tx, a.Ref(), full(0)...)
		})
		e.requireJournal(e.ctx, e.store, a.Ref(), full(0)...)
		e.requireJournal(e.ctx, e.store, b.Ref(), full(0)...)
		e.requireJournal(e.ctx, e.store, d.Ref())

		// Stored records: appended to alone, after an update, and after
		// a read of the journal, in later transactions.
		e.create(c)
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.AppendJournal(ctx, c.Ref(), en(0))) })
		e.tx(func(ctx context.Context, tx record.Tx) {
			require.NoError(e.t, tx.AppendJournal(ctx, c.Ref(), en(1), en(2)))
		})
		e.requireJournal(e.ctx, e.store, c.Ref(), full(0)...)
		e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.AppendJournal(ctx, c.Ref(), en(3)) },
			func(err error) { requireLimit(e.t, err, "journal", limit, limit+1) })
		e.refusedInTx(func(ctx context.Context, tx record.Tx) error {
			cur, err := tx.Get(ctx, c.Ref())
			require.NoError(e.t, err)
			cur.Title += " (updated)"
			require.NoError(e.t, tx.Update(ctx, cur))
			return tx.AppendJournal(ctx, c.Ref(), en(3), en(4))
		}, func(err error) { requireLimit(e.t, err, "journal", limit, limit+2) })
		e.requireJournal(e.ctx, e.store, c.Ref(), full(0)...)
		require.NoError(e.t, e.store.InTx(e.ctx, func(ctx context.Context, tx record.Tx) error {
			return tx.AppendJournal(ctx, c.Ref()) // no entries: nothing to refuse
		}))
		// Too many entries for a record that is not stored: the limit
		// is checked first, as every check of the input.
		missing := e.gen.ref(4)
		e.refusedInTx(func(ctx context.Context, tx record.Tx) error {
			return tx.AppendJournal(ctx, missing, full(0)[:limit]...)
		}, func(err error) { requireNotFound(e.t, err, missing.Kind, missing.ID) })
		e.refusedInTx(func(ctx context.Context, tx record.Tx) error {
			return tx.AppendJournal(ctx, missing, append(full(0), en(limit))...)
		}, func(err error) { requireLimit(e.t, err, "journal", limit, limit+1) })
	}},
	{"JournalEntriesConcurrently", func(e *env) {
		// Appenders in several transactions at once fill the journal up
		// to its limit and not beyond.
		e.limited()
		rec := e.fixture(1)
		e.create(rec)
		const writers = 6
		errs := make(chan error, writers)
		for i := range writers {
			go func() {
				errs <- e.store.InTx(e.ctx, func(ctx context.Context, tx record.Tx) error {
					return tx.AppendJournal(ctx, rec.Ref(), entry(record.Comment, "carol", t0.Add(time.Duration(i)*time.Second), "me too"))
				})
			}()
		}
		ok := 0
		for range writers {
			if err := <-errs; err == nil {
				ok++
			} else {
				requireLimit(e.t, err, "journal", smallLimits.JournalEntries, smallLimits.JournalEntries+1)
			}
		}
		require.Equal(e.t, smallLimits.JournalEntries, ok, "appends that were kept")
		got, err := e.store.Journal(e.ctx, rec.Ref())
		require.NoError(e.t, err)
		require.Len(e.t, got, smallLimits.JournalEntries)
	}},
	{"TimerEventsPerCycle", func(e *env) {
		e.limited()
		rec := e.fixture(1)
		e.create(rec)
		limit := smallLimits.TimerEventsPerCycle
		at := timerRecord(rec.Ref(), "tmr-a", sla.KindSLA, cycleOf(limit), t0)
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.PutTimers(ctx, at)) })
		long := timerRecord(rec.Ref(), "tmr-b", sla.KindSLA, cycleOf(limit+2), t0)
		e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.PutTimers(ctx, at, long) },
			func(err error) { requireLimit(e.t, err, "[1].timer.events", limit, limit+2) })
		got, err := e.store.Timers(e.ctx, rec.Ref())
		require.NoError(e.t, err)
		requireTimers(e.t, []record.TimerRecord{at}, got)
		// A reset starts a new cycle, which counts from its reset.
		reset := cycleOf(limit)
		must(reset.Reset(t0.Add(time.Hour), sla.Target{}, 0, "reopened"))
		for i := range (limit - 1) / 2 {
			must(reset.Pause(t0.Add(time.Hour+time.Duration(2*i+1)*time.Minute), "awaiting caller"))
			must(reset.Resume(t0.Add(time.Hour+time.Duration(2*i+2)*time.Minute), "caller replied"))
		}
		twice := timerRecord(rec.Ref(), "tmr-a", sla.KindSLA, reset, t0.Add(2*time.Hour))
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.PutTimers(ctx, twice)) })
		got, err = e.store.Timers(e.ctx, rec.Ref())
		require.NoError(e.t, err)
		requireTimers(e.t, []record.TimerRecord{twice}, got)
	}},
}
