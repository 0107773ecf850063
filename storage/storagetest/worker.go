package storagetest

import (
	"context"
	"errors"
	"fmt"
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

// errInjected is the hook failure TestTimerWorker injects now and then.
var errInjected = errors.New("storagetest: injected hook failure")

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
// name: sla.AlwaysOpen(time.UTC), whose name is "24x7". A timer made with
// sla.NewTimer records its calendar's name and comes back from a store
// unbound, so the store's worker must be able to bind it: configure the
// store under test with this source.
func WorkerCalendars() sla.CalendarSource {
	always := sla.AlwaysOpen(time.UTC)
	return sla.Calendars{always.Name(): always}
}

// TestTimerWorker checks an adapter's storage.TimerProcessor under
// concurrency. It calls newStore once for a fresh, empty store that binds
// timers with WorkerCalendars; the factory may call t.Parallel, t.Skip or
// t.Cleanup as for TestStore. It declares CustomKind and a second kind of
// its own.
//
// It creates workerRecords records of each kind with two 24×7 timers
// each. The records of the two kinds have the same IDs, and every record
// names its timers alike ("gold/response" and "gold/resolution"), so
// timers are told apart by record only. Targets and start times are
// spread so that the timers cross their 50 %, 75 % and 100 % thresholds
// at many different instants; they are saved through the port (Create
// and PutTimers of record.NewTimerRecord records, as a service saves
// them). Then it advances a test clock in steps past every breach; at
// each step workerCount goroutines run ProcessDueTimers concurrently,
// batch after batch, until no timer is due, and the hook fails now and
// then, to check that a failed pass keeps nothing. It proves that:
//
//   - no crossing (record, timer, cycle, basis points) is handed to the
//     hook of a successful pass twice, and none is recorded without a
//     hook call;
//   - no crossing is missed: every crossing storage.Crossings reports at
//     the final instant was delivered exactly once, and nothing else was;
//   - every crossing's details (record, policy, metric, instant) match
//     storage.Crossings;
//   - at the end no timer is due (NextWakeAt zero or after the final
//     instant), every timer's derived fields equal those of
//     record.NewTimerRecord at the final instant (NextWakeAt to the
//     microsecond), and its history is unchanged.
//
// Retryable errors (storage.ErrRetryable, such as a serialization failure)
// make a worker retry its pass; any other error fails the test.
func TestTimerWorker(t *testing.T, newStore func(t *testing.T) WorkerStore) {
	t.Helper()
	store := newStore(t)
	if store == nil {
		t.Fatal("storagetest: newStore returned a nil WorkerStore")
	}
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
		mu        sync.Mutex
		delivered = make(map[crossingKey]storage.Crossing)
		problems  []string
		calls     int
		failed    int
	)
	// pass runs one ProcessDueTimers call at now and keeps the crossings
	// its hook saw only when it succeeded. It reports whether the batch
	// was full.
	pass := func(now time.Time) (full bool, err error) {
		var seen []storage.Crossing
		hook := func(_ context.Context, c storage.Crossing) error {
			mu.Lock()
			calls++
			fail := calls%149 == 0
			mu.Unlock()
			if fail {
				return errInjected
			}
			seen = append(seen, c)
			return nil
		}
		n, err := store.ProcessDueTimers(ctx, now, workerBatch, hook)
		if err != nil {
			return true, err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, c := range seen {
			k := keyOf(c)
			if _, dup := delivered[k]; dup {
				problems = append(problems, "delivered twice: "+k.String())
				continue
			}
			delivered[k] = c
		}
		if n > workerBatch {
			problems = append(problems, fmt.Sprintf("processed %d timers with a limit of %d", n, workerBatch))
		}
		return n == workerBatch, nil
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
					case errors.Is(err, errInjected) || storage.IsRetryable(err):
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

	// What the worker must have delivered: every crossing reached at the
	// end, and nothing else.
	want := make(map[crossingKey]storage.Crossing)
	for _, tr := range timers {
		for _, c := range storage.Crossings(tr, end) {
			want[keyOf(c)] = c
		}
	}
	require.Len(t, want, 3*len(timers), "every timer breaches by the end")
	for k, w := range want {
		got, ok := delivered[k]
		if !ok {
			t.Errorf("missed: %s", k)
			continue
		}
		require.Equal(t, w.Policy, got.Policy, k.String())
		require.Equal(t, w.Metric, got.Metric, k.String())
		require.Truef(t, w.At.Equal(got.At), "%s: crossed at %s, delivered as %s", k, w.At, got.At)
	}
	for k := range delivered {
		if _, ok := want[k]; !ok {
			t.Errorf("delivered but not reached at the end: %s", k)
		}
	}
	require.Positive(t, failed, "the injected hook failures must have hit some passes")
	t.Logf("%d timers, %d steps, %d crossings delivered, %d hook calls, %d failed passes", len(timers), steps, len(delivered), calls, failed)

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
		rec, err := store.Get(ctx, ref)
		require.NoError(t, err)
		require.Len(t, rec.SLA, 2, "SLA summary of %s", ref)
		for j, s := range rec.SLA {
			require.Equal(t, stored[j].Summary().Stage, s.Stage, "the summary follows the worker's refresh")
			require.True(t, stored[j].BreachAt.Equal(s.BreachAt), "the summary follows the worker's refresh")
		}
	}
}
