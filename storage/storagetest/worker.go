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

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
)

// WorkerStore is a store that also runs the SLA wake-up work, as the SQL
// adapters do.
type WorkerStore interface {
	incident.Store
	storage.TimerProcessor
}

// Sizes of TestTimerWorker.
const (
	workerIncidents = 500 // each with two timers
	workerCount     = 4
	workerBatch     = 64
	workerStep      = 7 * time.Minute // lands on many thresholds exactly
)

// errInjected is the hook failure TestTimerWorker injects now and then.
var errInjected = errors.New("storagetest: injected hook failure")

// crossingKey identifies a crossing the way the worker records it.
type crossingKey struct {
	timer  string
	cycle  int
	points int32
}

func (k crossingKey) String() string {
	return fmt.Sprintf("%s cycle %d at %d bp", k.timer, k.cycle, k.points)
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
// t.Cleanup as for TestIncidentStore.
//
// It creates workerIncidents incidents with two 24×7 timers each, with
// targets and start times spread so that they cross their 50 %, 75 % and
// 100 % thresholds at many different instants, saved through the ports
// (Create and PutTimers of incident.NewTimerRecord records, as the
// Service saves them). Then it advances a test clock in steps past every
// breach; at each step workerCount goroutines run ProcessDueTimers
// concurrently, batch after batch, until no timer is due, and the hook
// fails now and then to check that a failed pass keeps nothing. It
// proves that:
//
//   - no crossing (timer, cycle, basis points) is handed to the hook of a
//     successful pass twice, and none is recorded without a hook call;
//   - no crossing is missed: every crossing storage.Crossings reports at
//     the final instant was delivered exactly once, and nothing else was;
//   - every crossing's details (incident, policy, metric, instant) match
//     storage.Crossings;
//   - at the end no timer is due (NextWakeAt zero or after the final
//     instant), and every timer's derived fields equal those of
//     incident.NewTimerRecord at the final instant (NextWakeAt to the
//     microsecond).
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
	base := t0
	cal := sla.AlwaysOpen(time.UTC)

	// The local copies of the timers, to compute what the worker must
	// deliver.
	type local struct {
		rec   incident.TimerRecord
		start time.Time
	}
	var timers []local
	var end time.Time
	const perTx = 100
	for first := 0; first < workerIncidents; first += perTx {
		var incs []*incident.Incident
		var recs []incident.TimerRecord
		for n := first; n < min(first+perTx, workerIncidents); n++ {
			opened := base.Add(time.Duration(n*13%240) * time.Minute)
			inc := &incident.Incident{
				ID: fmt.Sprintf("wrk-%05d", n), Number: fmt.Sprintf("WRK%07d", n), Title: fmt.Sprintf("Worker incident %d", n),
				State: incident.New, Priority: itsm.PriorityHigh, OpenedAt: opened, UpdatedAt: opened,
			}
			incs = append(incs, inc)
			for m, metric := range []sla.Metric{sla.MetricResponse, sla.MetricResolution} {
				target := time.Duration(20+(n*37+m*101)%600) * time.Minute
				start := opened.Add(time.Duration(m*(n%5)) * time.Minute)
				tm, err := sla.NewTimer(cal, sla.BusinessTime(target), nil, "gold", metric, itsm.PriorityHigh)
				require.NoError(t, err)
				require.NoError(t, tm.Start(start))
				rec := incident.NewTimerRecord(fmt.Sprintf("%s/gold/%s", inc.ID, metric), inc.ID, tm, start)
				require.False(t, rec.NextWakeAt.IsZero(), "a running timer has a wake-up")
				recs = append(recs, rec)
				timers = append(timers, local{rec: rec, start: start})
				if d := start.Add(target); d.After(end) {
					end = d
				}
			}
		}
		err := store.InTx(ctx, func(ctx context.Context, tx incident.Tx) error {
			for _, inc := range incs {
				if err := tx.Create(ctx, inc); err != nil {
					return err
				}
			}
			return tx.PutTimers(ctx, recs...)
		})
		require.NoError(t, err)
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
			k := crossingKey{c.TimerID, c.Cycle, c.BasisPoints}
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
	for now := base; ; now = now.Add(workerStep) {
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
	for _, l := range timers {
		for _, c := range storage.Crossings(l.rec, end) {
			want[crossingKey{c.TimerID, c.Cycle, c.BasisPoints}] = c
		}
	}
	require.Len(t, want, 3*len(timers), "every timer breaches by the end")
	for k, w := range want {
		got, ok := delivered[k]
		if !ok {
			t.Errorf("missed: %s", k)
			continue
		}
		require.Equal(t, w.IncidentID, got.IncidentID, k.String())
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
		id := timers[i].rec.IncidentID
		stored, err := store.Timers(ctx, id)
		require.NoError(t, err)
		require.Len(t, stored, 2)
		for j, got := range stored {
			l := timers[i+j]
			require.Equal(t, l.rec.ID, got.ID)
			w := incident.NewTimerRecord(l.rec.ID, id, l.rec.Timer, end)
			require.Equal(t, w.Stage, got.Stage, got.ID)
			require.Truef(t, w.AtRiskAt.Truncate(time.Microsecond).Equal(got.AtRiskAt), "%s: at risk at %s, stored %s", got.ID, w.AtRiskAt, got.AtRiskAt)
			require.Truef(t, w.BreachAt.Truncate(time.Microsecond).Equal(got.BreachAt), "%s: breach at %s, stored %s", got.ID, w.BreachAt, got.BreachAt)
			require.Equal(t, w.NextWakeAt.IsZero(), got.NextWakeAt.IsZero(), got.ID)
			require.Less(t, got.NextWakeAt.Sub(w.NextWakeAt).Abs(), time.Microsecond, got.ID)
			if diff := cmp.Diff(l.rec.Timer.Events(), got.Timer.Events(), cmpOpts); diff != "" {
				t.Fatalf("%s: the worker changed the timer's history (-want +got):\n%s", got.ID, diff)
			}
		}
	}
}
