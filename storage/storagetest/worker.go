package storagetest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
)

// WorkerStore is a store that also runs the SLA wake-up work, as the SQL
// adapters do.
type WorkerStore interface {
	record.Store
	storage.TimerProcessor
}

// Sizes of TestTimerWorker.
const (
	workerRecords = 250 // per kind, each with two timers
	workerCount   = 4
	workerBatch   = 64
	workerStep    = 7 * time.Minute // lands on many thresholds exactly
)

// crossingKey identifies a crossing the way the worker records it.
type crossingKey struct {
	rec    record.Ref
	timer  string
	cycle  int
	points int32
}

func (k crossingKey) String() string {
	return fmt.Sprintf("%s timer %s cycle %d at %d bp", k.rec, k.timer, k.cycle, k.points)
}

func keyOf(c storage.Crossing) crossingKey {
	return crossingKey{c.Record, c.TimerID, c.Cycle, c.BasisPoints}
}

// WorkerCalendars returns the calendars the timers of TestTimerWorker
// name: sla.AlwaysOpen(time.UTC), whose name is "24x7", and a Monday to
// Friday 09:00–17:00 UTC calendar named "weekdays". A timer made with
// sla.NewTimer records its calendar's name and comes back from a store
// unbound, so the store's worker (and its PutTimers, which records the
// crossings of what it writes) must be able to bind it: configure the
// store under test with this source. TestTimerWorker also writes timers
// on a calendar named "night-shift", which this source does not know.
func WorkerCalendars() sla.CalendarSource {
	always := sla.AlwaysOpen(time.UTC)
	return sla.Calendars{always.Name(): always, "weekdays": weekdays()}
}

// TestTimerWorker checks an adapter's storage.TimerProcessor: the
// concurrent wake-up work, the crossings recorded when timers are
// written, and timers whose calendar the store does not know. It calls
// newStore once per check, in subtests, for a fresh, empty store that
// binds timers with WorkerCalendars; the factory may call t.Parallel,
// t.Skip or t.Cleanup as for TestStore. Each check declares CustomKind
// and, for the concurrent one, a second kind of its own.
//
// The concurrent check creates workerRecords records of each kind with
// two 24×7 timers each. The records of the two kinds have the same IDs,
// and every record names its timers alike ("gold/response" and
// "gold/resolution"), so timers are told apart by record only. Targets
// and start times are spread so that the timers cross their 50 %, 75 %
// and 100 % thresholds at many different instants; they are saved
// through the port (Create and PutTimers of record.NewTimerRecord
// records, as a service saves them). Then it advances a test clock in
// steps past every breach; at each step workerCount goroutines run
// ProcessDueTimers concurrently, batch after batch, until no timer is
// due. It proves that:
//
//   - every crossing is recorded exactly once: its audit event
//     (storage.Crossing.Event, decoded with storage.CrossingFromEvent)
//     appears once in the outbox and once in its record's history, and
//     the Recorded counts of the batches add up to them;
//   - no crossing is missed and none is invented: the events are those
//     storage.Crossings reports at the final instant, with their details
//     (record, policy, metric, instant to the microsecond);
//   - at the end no timer is due (NextWakeAt zero or after the final
//     instant), every timer's derived fields equal those of
//     record.NewTimerRecord at the final instant (NextWakeAt to the
//     microsecond), and its history is unchanged.
//
// Retryable errors (storage.ErrRetryable, such as a serialization failure)
// make a worker retry its pass; any other error fails the test. The other
// checks are described by testCrossingsOnWrite and
// testUnknownCalendars.
func TestTimerWorker(t *testing.T, newStore func(t *testing.T) WorkerStore) {
	t.Helper()
	fresh := func(t *testing.T) WorkerStore {
		store := newStore(t)
		if store == nil {
			t.Fatal("storagetest: newStore returned a nil WorkerStore")
		}
		return store
	}
	t.Run("Concurrent", func(t *testing.T) { testWorkerConcurrent(t, fresh(t)) })
	t.Run("OnWrite", func(t *testing.T) { testCrossingsOnWrite(t, fresh(t)) })
	t.Run("UnknownCalendar", func(t *testing.T) { testUnknownCalendars(t, fresh(t)) })
}

// testWorkerConcurrent is the concurrent check of TestTimerWorker.
func testWorkerConcurrent(t *testing.T, store WorkerStore) {
	ctx := t.Context()
	schema := CustomKind()
	other := otherKind([]*record.Schema{schema})
	require.NoError(t, store.Declare(ctx, schema, other))
	gens := []*gen{newGen(schema, 11), newGen(other, 12)}
	cal := sla.AlwaysOpen(time.UTC)

	// The local copies of the timers, to compute what the worker must
	// deliver.
	var timers []record.TimerRecord
	var end time.Time
	const perTx = 100
	for _, g := range gens {
		for first := 0; first < workerRecords; first += perTx {
			var recs []*record.Record
			var trs []record.TimerRecord
			for n := first; n < min(first+perTx, workerRecords); n++ {
				rec := g.record(n)
				rec.OpenedAt = t0.Add(time.Duration(n*13%240) * time.Minute)
				rec.UpdatedAt = rec.OpenedAt
				recs = append(recs, rec)
				for m, metric := range []sla.Metric{sla.MetricResponse, sla.MetricResolution} {
					target := time.Duration(20+(n*37+m*101+len(g.kind()))%600) * time.Minute
					start := rec.OpenedAt.Add(time.Duration(m*(n%5)) * time.Minute)
					tm, err := sla.NewTimer(cal, sla.BusinessTime(target), nil, "gold", metric, itsm.PriorityHigh)
					require.NoError(t, err)
					require.NoError(t, tm.Start(start))
					tr := record.NewTimerRecord(rec.Ref(), "gold/"+string(metric), sla.PolicyKind(m), tm, start)
					require.False(t, tr.NextWakeAt.IsZero(), "a running timer has a wake-up")
					trs = append(trs, tr)
					timers = append(timers, tr)
					if d := start.Add(target); d.After(end) {
						end = d
					}
				}
			}
			err := store.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
				for _, rec := range recs {
					if err := tx.Create(ctx, rec); err != nil {
						return err
					}
				}
				return tx.PutTimers(ctx, trs...)
			})
			require.NoError(t, err)
		}
	}
	end = end.Add(workerStep) // past every breach

	var (
		mu       sync.Mutex
		problems []string
		recorded int
		failed   int
	)
	// pass runs one ProcessDueTimers call at now and reports whether the
	// batch was full.
	pass := func(now time.Time) (full bool, err error) {
		b, err := store.ProcessDueTimers(ctx, now, workerBatch)
		if err != nil {
			return true, err
		}
		mu.Lock()
		defer mu.Unlock()
		recorded += b.Recorded
		if b.Claimed > workerBatch || b.Processed != b.Claimed || len(b.Skipped) > 0 {
			problems = append(problems, fmt.Sprintf("batch of limit %d claimed %d, processed %d, skipped %d", workerBatch, b.Claimed, b.Processed, len(b.Skipped)))
		}
		return b.Claimed == workerBatch, nil
	}

	steps := 0
	for now := t0; ; now = now.Add(workerStep) {
		if now.After(end) {
			now = end
		}
		steps++
		var wg sync.WaitGroup
		for range workerCount {
			wg.Go(func() {
				for tries := 0; ; {
					full, err := pass(now)
					switch {
					case storage.IsRetryable(err):
						mu.Lock()
						failed++
						mu.Unlock()
						if tries++; tries > 1000 {
							mu.Lock()
							problems = append(problems, fmt.Sprintf("no progress at %s: %v", now, err))
							mu.Unlock()
							return
						}
						continue
					case err != nil:
						mu.Lock()
						problems = append(problems, fmt.Sprintf("pass at %s: %v", now, err))
						mu.Unlock()
						return
					case !full:
						return
					}
				}
			})
		}
		wg.Wait()
		require.Empty(t, problems)
		if now.Equal(end) {
			break
		}
	}

	// What the worker must have recorded: every crossing reached at the
	// end, and nothing else.
	want := make(map[crossingKey]storage.Crossing)
	for _, tr := range timers {
		for _, c := range storage.Crossings(tr, end) {
			want[keyOf(c)] = c
		}
	}
	require.Len(t, want, 3*len(timers), "every timer breaches by the end")
	got := outboxCrossings(t, store, len(want))
	requireCrossings(t, want, got)
	require.Equal(t, len(want), recorded, "the batches' Recorded counts add up to the crossings recorded")
	t.Logf("%d timers, %d steps, %d crossings recorded, %d retried passes", len(timers), steps, recorded, failed)

	due, err := store.TimersDue(ctx, end, len(timers))
	require.NoError(t, err)
	require.Empty(t, due, "no timer may be due after the last pass")
	for i := 0; i < len(timers); i += 2 {
		ref := timers[i].Record
		stored, err := store.Timers(ctx, ref)
		require.NoError(t, err)
		require.Len(t, stored, 2, "timers of %s", ref)
		for j, got := range stored {
			l := timers[i+j]
			require.Equal(t, l.ID, got.ID)
			require.Equal(t, l.Record, got.Record)
			w := record.NewTimerRecord(ref, l.ID, l.PolicyKind, l.Timer, end)
			require.Equal(t, w.PolicyKind, got.PolicyKind, got.ID)
			require.Equal(t, w.Stage, got.Stage, got.ID)
			require.Truef(t, w.AtRiskAt.Truncate(time.Microsecond).Equal(got.AtRiskAt), "%s of %s: at risk at %s, stored %s", got.ID, ref, w.AtRiskAt, got.AtRiskAt)
			require.Truef(t, w.BreachAt.Truncate(time.Microsecond).Equal(got.BreachAt), "%s of %s: breach at %s, stored %s", got.ID, ref, w.BreachAt, got.BreachAt)
			require.Equal(t, w.NextWakeAt.IsZero(), got.NextWakeAt.IsZero(), got.ID)
			require.Less(t, got.NextWakeAt.Sub(w.NextWakeAt).Abs(), time.Microsecond, got.ID)
			if diff := cmp.Diff(l.Timer.Events(), got.Timer.Events(), cmpOpts); diff != "" {
				t.Fatalf("%s of %s: the worker changed the timer's history (-want +got):\n%s", got.ID, ref, diff)
			}
		}
		hist, err := store.History(ctx, ref)
		require.NoError(t, err)
		inHistory := 0
		for _, ev := range hist {
			if c, ok := storage.CrossingFromEvent(ev); ok {
				require.Equal(t, ref, c.Record)
				inHistory++
			}
		}
		require.Equal(t, 6, inHistory, "history of %s: three crossings of each timer", ref)
		rec, err := store.Get(ctx, ref)
		require.NoError(t, err)
		require.Len(t, rec.SLA, 2, "SLA summary of %s", ref)
		for j, s := range rec.SLA {
			require.Equal(t, stored[j].Summary().Stage, s.Stage, "the summary follows the worker's refresh")
			require.True(t, stored[j].BreachAt.Equal(s.BreachAt), "the summary follows the worker's refresh")
		}
	}
}

// outboxCrossings reads the whole outbox of store and returns the
// crossings its messages record, in outbox order, once it holds at least
// n of them. A store may hold committed messages back for a while (see
// the package documentation), so it polls for up to outboxWait.
func outboxCrossings(t *testing.T, store record.Store, n int) []storage.Crossing {
	t.Helper()
	deadline := time.Now().Add(outboxWait)
	for {
		var out []storage.Crossing
		cursor := ""
		for {
			page, err := store.ReadOutbox(t.Context(), cursor, 500)
			require.NoError(t, err)
			for _, m := range page.Messages {
				if c, ok := storage.CrossingFromEvent(m.Event); ok {
					out = append(out, c)
				}
			}
			if len(page.Messages) == 0 {
				break
			}
			cursor = page.Next
		}
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("ReadOutbox returned %d of %d crossings in %s", len(out), n, outboxWait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// requireCrossings fails unless got holds each crossing of want exactly
// once, with its details, and nothing else.
func requireCrossings(t *testing.T, want map[crossingKey]storage.Crossing, got []storage.Crossing) {
	t.Helper()
	seen := make(map[crossingKey]bool, len(got))
	for _, g := range got {
		k := keyOf(g)
		if seen[k] {
			t.Errorf("recorded twice: %s", k)
			continue
		}
		seen[k] = true
		w, ok := want[k]
		if !ok {
			t.Errorf("recorded but not reached: %s", k)
			continue
		}
		require.Equal(t, w.Policy, g.Policy, k.String())
		require.Equal(t, w.Metric, g.Metric, k.String())
		require.Truef(t, storage.AuditTime(w.At).Equal(storage.AuditTime(g.At)), "%s: crossed at %s, recorded as %s", k, w.At, g.At)
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("missed: %s", k)
		}
	}
}

// saveNew creates rec and saves timers of it in one transaction.
func saveNew(t *testing.T, store record.Store, rec *record.Record, timers ...record.TimerRecord) {
	t.Helper()
	err := store.InTx(t.Context(), func(ctx context.Context, tx record.Tx) error {
		if err := tx.Create(ctx, rec); err != nil {
			return err
		}
		return tx.PutTimers(ctx, timers...)
	})
	require.NoError(t, err)
}

// putTimers saves timers in one transaction.
func putTimers(t *testing.T, store record.Store, timers ...record.TimerRecord) {
	t.Helper()
	require.NoError(t, store.InTx(t.Context(), func(ctx context.Context, tx record.Tx) error {
		return tx.PutTimers(ctx, timers...)
	}))
}

// crossingsOf returns the crossings storage.AllCrossings reports for each
// timer at at, by key.
func crossingsOf(at time.Time, timers ...record.TimerRecord) map[crossingKey]storage.Crossing {
	out := make(map[crossingKey]storage.Crossing)
	for _, tr := range timers {
		for _, c := range storage.AllCrossings(tr, at) {
			out[keyOf(c)] = c
		}
	}
	return out
}

// testCrossingsOnWrite checks that PutTimers records every crossing
// reached when a timer's latest event happened, once, with its audit
// event and outbox message, and that a later wake-up pass records none of
// them again:
//
//   - a 24×7 timer that breaches and is stopped before any wake-up pass
//     has its warnings and its breach recorded by the write that stops
//     it;
//   - a timer on the "weekdays" calendar, read back from the store
//     (unbound), stopped after its breach and saved again unbound, has
//     them recorded too (the store binds a copy through its calendars);
//   - a timer reset (its record reopened) after its breach keeps the
//     crossings of its first cycle, and the worker later records those of
//     the second;
//   - saving the same timers again records nothing new, and each event is
//     in its record's history once, by itsm.System, at the crossing
//     instant, and passes itsm.Event.Validate.
func testCrossingsOnWrite(t *testing.T, store WorkerStore) {
	ctx := t.Context()
	schema := CustomKind()
	require.NoError(t, store.Declare(ctx, schema))
	g := newGen(schema, 21)

	// The case: breached at t0+4h, stopped at t0+5h, no pass ran.
	recA := g.record(0)
	tmA := newTimer("gold", sla.MetricResolution, 4*time.Hour, t0)
	saveNew(t, store, recA, record.NewTimerRecord(recA.Ref(), "gold/resolution", sla.KindSLA, tmA, t0))
	require.Empty(t, outboxCrossings(t, store, 0), "a timer just started has crossed nothing")
	require.NoError(t, tmA.Stop(t0.Add(5*time.Hour), "resolved"))
	timerA := record.NewTimerRecord(recA.Ref(), "gold/resolution", sla.KindSLA, tmA, t0.Add(5*time.Hour))
	putTimers(t, store, timerA)
	want := crossingsOf(t0.Add(5*time.Hour), timerA)
	require.Len(t, want, 3)
	requireCrossings(t, want, outboxCrossings(t, store, len(want)))

	// A timer on a named calendar, saved again as the store returns it.
	recB := g.record(1)
	tmB, err := sla.NewTimer(weekdays(), sla.BusinessTime(4*time.Hour), nil, "silver", sla.MetricResponse, itsm.PriorityModerate)
	require.NoError(t, err)
	require.NoError(t, tmB.Start(t0)) // a Monday, 09:00
	saveNew(t, store, recB, record.NewTimerRecord(recB.Ref(), "silver/response", sla.KindOLA, tmB, t0))
	stored, err := store.Timers(ctx, recB.Ref())
	require.NoError(t, err)
	require.Len(t, stored, 1)
	require.Nil(t, stored[0].Timer.Calendar(), "stores return timers unbound")
	stop := t0.Add(6 * time.Hour) // 15:00, two hours after the breach
	require.NoError(t, stored[0].Timer.Stop(stop, "answered"))
	require.NoError(t, tmB.Stop(stop, "answered"))
	timerB := record.NewTimerRecord(recB.Ref(), "silver/response", sla.KindOLA, tmB, stop)
	unbound := timerB
	unbound.Timer = stored[0].Timer
	putTimers(t, store, unbound)
	require.Nil(t, unbound.Timer.Calendar(), "PutTimers does not bind the caller's timer")
	for k, c := range crossingsOf(stop, timerB) {
		want[k] = c
	}
	require.Len(t, want, 6)
	requireCrossings(t, want, outboxCrossings(t, store, len(want)))

	// A timer breached and then reset before any pass.
	recC := g.record(2)
	tmC := newTimer("gold", sla.MetricResolution, time.Hour, t0)
	require.NoError(t, tmC.Reset(t0.Add(2*time.Hour), sla.Target{}, 0, "reopened"))
	timerC := record.NewTimerRecord(recC.Ref(), "gold/resolution", sla.KindSLA, tmC, t0.Add(2*time.Hour))
	saveNew(t, store, recC, timerC)
	first := crossingsOf(t0.Add(2*time.Hour), timerC)
	require.Len(t, first, 3, "the first cycle's crossings, none of the second yet")
	for k, c := range first {
		require.Equal(t, 1, c.Cycle, k.String())
		want[k] = c
	}
	requireCrossings(t, want, outboxCrossings(t, store, len(want)))

	// Saving again records nothing new.
	putTimers(t, store, timerA, unbound, timerC)
	requireCrossings(t, want, outboxCrossings(t, store, len(want)))

	// A wake-up pass long after records the second cycle of C only.
	end := t0.Add(48 * time.Hour)
	w := &storage.Worker{Processor: store, Clock: itsm.ClockFunc(func() time.Time { return end }), BatchSize: 2}
	p, err := w.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, p.Recorded, "the second cycle of the reset timer")
	require.Empty(t, p.Skipped)
	for k, c := range crossingsOf(end, timerC) {
		want[k] = c
	}
	require.Len(t, want, 12)
	requireCrossings(t, want, outboxCrossings(t, store, len(want)))
	p, err = w.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, p.Recorded)
	requireCrossings(t, want, outboxCrossings(t, store, len(want)))

	for _, ref := range []record.Ref{recA.Ref(), recB.Ref(), recC.Ref()} {
		hist, err := store.History(ctx, ref)
		require.NoError(t, err)
		n := 0
		for _, ev := range hist {
			c, ok := storage.CrossingFromEvent(ev)
			if !ok {
				continue
			}
			n++
			require.NoError(t, ev.Validate())
			require.Equal(t, itsm.System.ID, ev.Actor.ID)
			w, ok := want[keyOf(c)]
			require.True(t, ok, "history of %s holds %s", ref, keyOf(c))
			require.True(t, storage.AuditTime(w.At).Equal(storage.AuditTime(ev.At)), "the event is at the crossing instant")
		}
		wantN := 3
		if ref == recC.Ref() {
			wantN = 6
		}
		require.Equal(t, wantN, n, "crossing events in the history of %s", ref)
	}
}

// testUnknownCalendars checks timers whose calendar ("night-shift") the
// store does not know:
//
//   - UnknownCalendars names it once, and only while such a timer awaits
//     a wake-up;
//   - a Worker that has not started refuses to (RunOnce and Run return a
//     *storage.MissingCalendarsError matching storage.ErrUnknownCalendar)
//     and records nothing;
//   - a Worker started before such timers were written skips each of
//     them, once per pass, logging and counting it, and records the
//     crossings of the other timers even with a batch size of 1 and the
//     skipped timers due first, and its passes end;
//   - ProcessDueTimers reports each skipped timer as a
//     *storage.UnknownCalendarError naming the calendar, record and
//     timer, and leaves it due and unchanged.
func testUnknownCalendars(t *testing.T, store WorkerStore) {
	ctx := t.Context()
	schema := CustomKind()
	require.NoError(t, store.Declare(ctx, schema))
	g := newGen(schema, 22)
	day := []sla.Interval{{"00:00", "23:00"}} // not 24×7, which names no calendar
	night, err := sla.NewCalendar(sla.CalendarSpec{Name: "night-shift", TimeZone: "UTC",
		Hours: map[string][]sla.Interval{"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day}})
	require.NoError(t, err)
	now := t0.Add(10 * time.Hour)
	clock := itsm.ClockFunc(func() time.Time { return now })
	good := func(n int) record.TimerRecord {
		rec := g.record(n)
		tr := record.NewTimerRecord(rec.Ref(), "gold/resolution", sla.KindSLA, newTimer("gold", sla.MetricResolution, 4*time.Hour, t0), t0)
		saveNew(t, store, rec, tr)
		return tr
	}

	missing, err := store.UnknownCalendars(ctx)
	require.NoError(t, err)
	require.Empty(t, missing)
	g1 := good(0)
	var logged bytes.Buffer
	w := &storage.Worker{Processor: store, Clock: clock, BatchSize: 1,
		Logger: slog.New(slog.NewTextHandler(&logged, nil))}
	p, err := w.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, p.Processed)
	require.Equal(t, 3, p.Recorded)

	var nights []record.TimerRecord
	for n := 1; n <= 3; n++ {
		rec := g.record(n)
		tm, err := sla.NewTimer(night, sla.BusinessTime(time.Hour), nil, "night", sla.MetricResponse, itsm.PriorityHigh)
		require.NoError(t, err)
		require.NoError(t, tm.Start(t0))
		tr := record.NewTimerRecord(rec.Ref(), "night/response", sla.KindSLA, tm, t0)
		saveNew(t, store, rec, tr)
		nights = append(nights, tr)
	}
	g2, g3 := good(4), good(5)
	missing, err = store.UnknownCalendars(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"night-shift"}, missing)

	// The skipped timers wake first (30 minutes in), and fill each batch
	// of one; the pass goes on to the others all the same, and ends.
	p, err = w.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, p.Processed)
	require.Equal(t, 6, p.Recorded)
	require.Len(t, p.Skipped, 3)
	for i, s := range p.Skipped {
		require.ErrorIs(t, s, storage.ErrUnknownCalendar)
		require.Equal(t, "night-shift", s.Calendar)
		require.Equal(t, nights[i].Record, s.Record, "skipped in claim order")
		require.Equal(t, "night/response", s.TimerID)
	}
	require.Equal(t, int64(3), w.Skipped())
	require.Equal(t, 3, strings.Count(logged.String(), "calendar=night-shift"), "each skip is logged once per pass:\n%s", logged.String())
	want := crossingsOf(now, g1, g2, g3)
	requireCrossings(t, want, outboxCrossings(t, store, len(want)))

	p, err = w.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, p.Processed)
	require.Len(t, p.Skipped, 3)
	require.Equal(t, int64(6), w.Skipped(), "counted once per pass")

	// A worker that has not started refuses to.
	fresh := &storage.Worker{Processor: store, Clock: clock, Interval: time.Hour}
	_, err = fresh.RunOnce(ctx)
	var me *storage.MissingCalendarsError
	require.ErrorAs(t, err, &me)
	require.ErrorIs(t, err, storage.ErrUnknownCalendar)
	require.Equal(t, []string{"night-shift"}, me.Calendars)
	require.ErrorAs(t, fresh.Run(ctx), &me, "Run refuses before its first pass")
	require.Zero(t, fresh.Skipped())

	b, err := store.ProcessDueTimers(ctx, now, 10)
	require.NoError(t, err)
	require.Equal(t, 3, b.Claimed)
	require.Zero(t, b.Processed)
	require.Zero(t, b.Recorded)
	require.Len(t, b.Skipped, 3)
	requireCrossings(t, want, outboxCrossings(t, store, len(want)))
	due, err := store.TimersDue(ctx, now, 10)
	require.NoError(t, err)
	require.Len(t, due, 3, "skipped timers stay due")
	for i, d := range due {
		require.Equal(t, nights[i].Record, d.Record)
		require.True(t, nights[i].NextWakeAt.Equal(d.NextWakeAt), "NextWakeAt unchanged")
		require.Equal(t, nights[i].Stage, d.Stage)
	}
}
