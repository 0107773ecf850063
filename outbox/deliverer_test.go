package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/itsm/itsmtest"
	"github.com/itsmkit/itsmkit/outbox"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
)

// exact is a backoff without jitter: 1 s doubling to a cap of 1 h.
var exact = outbox.ExponentialBackoff{Initial: time.Second, Max: time.Hour}

// deadLetters returns every dead letter of subscriber.
func deadLetters(t *testing.T, s record.Store, subscriber string) []record.DeadLetter {
	t.Helper()
	out, err := s.DeadLetters(context.Background(), subscriber, 0, 1000)
	require.NoError(t, err)
	return out
}

// settled fails unless subscriber has nothing left to claim even in the
// far future (so everything is acknowledged or buried).
func settled(t *testing.T, s record.Store, subscriber string, now time.Time) {
	t.Helper()
	msgs, err := s.Claim(context.Background(), subscriber, now.Add(1000*time.Hour), time.Minute, 100)
	require.NoError(t, err)
	require.Empty(t, msgs, "%s has messages left", subscriber)
}

// TestDeliverOneSubscriberFailsForGood is the fault test: one subscriber
// fails every delivery, for good, while the others get every message
// once, on every store. The failing subscriber's messages become its
// dead letters after MaxAttempts, with its error, and hold back nobody.
func TestDeliverOneSubscriberFailsForGood(t *testing.T) {
	eachStore(t, func(t *testing.T, s record.Store) {
		ctx := context.Background()
		want := appendMessages(t, s, "t-1", 6)
		clock := itsmtest.NewClock(t0)
		mailer, indexer := &recorder{}, &recorder{}
		webhook := &recorder{fail: func(record.Message) error { return errors.New("dial tcp: connection refused") }}
		d := &outbox.Deliverer{
			Store:       s,
			Subscribers: map[string]outbox.Handler{"mailer": mailer, "indexer": indexer, "webhook": webhook},
			Clock:       clock, BatchSize: 4, MaxAttempts: 3, Backoff: exact, Lease: time.Minute,
		}
		st, err := d.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, outbox.Counts{Delivered: 12, Deferred: 6}, st.Counts)
		require.Equal(t, map[string]outbox.Counts{
			"mailer": {Delivered: 6}, "indexer": {Delivered: 6}, "webhook": {Deferred: 6},
		}, st.Subscribers)
		require.Equal(t, want, mailer.actions())
		require.Equal(t, want, indexer.actions())
		for range 3 {
			clock.Advance(time.Hour)
			_, err := d.RunOnce(ctx)
			require.NoError(t, err)
		}
		require.Equal(t, want, mailer.actions(), "the others get each message once")
		require.Equal(t, want, indexer.actions())
		var thrice []string
		for _, a := range want {
			thrice = append(thrice, a, a, a)
		}
		got := webhook.actions()
		require.ElementsMatch(t, thrice, got, "the failing subscriber gets each message MaxAttempts times")
		dead := deadLetters(t, s, "webhook")
		require.Len(t, dead, len(want))
		for i, dl := range dead {
			require.Equal(t, want[i], dl.Event.Action)
			require.Equal(t, 3, dl.Attempts)
			require.Equal(t, "dial tcp: connection refused", dl.LastError)
			require.True(t, dl.DeadAt.Equal(t0.Add(2*time.Hour)), "buried at the third attempt: %v", dl.DeadAt)
		}
		require.Empty(t, deadLetters(t, s, "mailer"))
		require.Empty(t, deadLetters(t, s, "indexer"))
		// Nothing is left: a further round does nothing.
		clock.Advance(time.Hour)
		st, err = d.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, outbox.Counts{}, st.Counts)
		for _, name := range []string{"mailer", "indexer", "webhook"} {
			settled(t, s, name, clock.Now())
		}
		// New messages still reach the healthy subscribers at once.
		more := appendMessages(t, s, "t-2", 2)
		st, err = d.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, outbox.Counts{Delivered: 4, Deferred: 2}, st.Counts)
		require.Equal(t, append(want, more...), mailer.actions())
	})
}

func TestDeliverBackoffSchedule(t *testing.T) {
	eachStore(t, func(t *testing.T, s record.Store) {
		ctx := context.Background()
		appendMessages(t, s, "t-1", 1)
		clock := itsmtest.NewClock(t0)
		h := &recorder{clock: clock, fail: func(record.Message) error { return errors.New("503") }}
		d := &outbox.Deliverer{
			Store: s, Subscribers: map[string]outbox.Handler{"hook": h}, Clock: clock, MaxAttempts: 6,
			Backoff: outbox.ExponentialBackoff{Initial: time.Second, Max: 4 * time.Second},
		}
		// Rounds every half second for 20 s see the attempts at the
		// backoff's times: after 1 s, 2 s, then 4 s capped.
		for range 40 {
			_, err := d.RunOnce(ctx)
			require.NoError(t, err)
			clock.Advance(500 * time.Millisecond)
		}
		var offsets []time.Duration
		for _, at := range h.at {
			offsets = append(offsets, at.Sub(t0))
		}
		sec := time.Second
		require.Equal(t, []time.Duration{0, 1 * sec, 3 * sec, 7 * sec, 11 * sec, 15 * sec}, offsets)
		for i, m := range h.got {
			require.Equal(t, i+1, m.Attempts, "attempt %d", i+1)
		}
		dead := deadLetters(t, s, "hook")
		require.Len(t, dead, 1)
		require.True(t, dead[0].DeadAt.Equal(t0.Add(15*sec)))
		require.Equal(t, 6, dead[0].Attempts)
		require.Equal(t, "503", dead[0].LastError)
	})
}

func TestDeliverPermanentAndReplay(t *testing.T) {
	eachStore(t, func(t *testing.T, s record.Store) {
		ctx := context.Background()
		want := appendMessages(t, s, "t-1", 4)
		clock := itsmtest.NewClock(t0)
		var refuse sync.Map // actions the receiver refuses
		refuse.Store("a2", true)
		h := &recorder{fail: func(m record.Message) error {
			if _, ok := refuse.Load(m.Event.Action); ok {
				return fmt.Errorf("receiver says: %w", outbox.Permanent(errors.New("422 malformed")))
			}
			return nil
		}}
		d := &outbox.Deliverer{Store: s, Subscribers: map[string]outbox.Handler{"hook": h}, Clock: clock, Backoff: exact}
		st, err := d.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, outbox.Counts{Delivered: 3, Buried: 1}, st.Counts, "a permanent failure buries at once")
		dead := deadLetters(t, s, "hook")
		require.Len(t, dead, 1)
		require.Equal(t, "a2", dead[0].Event.Action)
		require.Equal(t, 1, dead[0].Attempts)
		require.Equal(t, "receiver says: 422 malformed", dead[0].LastError)
		require.True(t, dead[0].DeadAt.Equal(t0))
		// The dead letter stays put until it is replayed.
		clock.Advance(100 * time.Hour)
		st, err = d.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, outbox.Counts{}, st.Counts)
		require.Equal(t, want, h.actions())

		refuse.Delete("a2")
		listed, err := d.DeadLetters(ctx, "hook", 0, 10)
		require.NoError(t, err)
		require.Empty(t, cmp.Diff(dead, listed))
		require.NoError(t, d.Replay(ctx, "hook", dead[0].ID))
		requireNotFound(t, d.Replay(ctx, "hook", dead[0].ID))
		st, err = d.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, outbox.Counts{Delivered: 1}, st.Counts)
		require.Equal(t, append(want, "a2"), h.actions())
		require.Equal(t, 1, h.got[len(h.got)-1].Attempts, "a replayed message counts its attempts afresh")
		require.Empty(t, deadLetters(t, s, "hook"))
		settled(t, s, "hook", clock.Now())
	})
}

func TestDeliverMaxAttempts(t *testing.T) {
	eachStore(t, func(t *testing.T, s record.Store) {
		ctx := context.Background()
		appendMessages(t, s, "t-1", 2)
		clock := itsmtest.NewClock(t0)
		// a1 fails twice and then succeeds; a2 fails every time.
		h := &recorder{}
		h.fail = func(m record.Message) error {
			if m.Event.Action == "a1" && m.Attempts > 2 {
				return nil
			}
			return fmt.Errorf("attempt %d failed", m.Attempts)
		}
		d := &outbox.Deliverer{Store: s, Subscribers: map[string]outbox.Handler{"hook": h}, Clock: clock, MaxAttempts: 3, Backoff: exact}
		var total outbox.Counts
		for range 5 {
			st, err := d.RunOnce(ctx)
			require.NoError(t, err)
			total.Delivered += st.Delivered
			total.Deferred += st.Deferred
			total.Buried += st.Buried
			clock.Advance(time.Minute)
		}
		require.Equal(t, outbox.Counts{Delivered: 1, Deferred: 4, Buried: 1}, total)
		require.Equal(t, []string{"a1", "a2", "a1", "a2", "a1", "a2"}, h.actions())
		dead := deadLetters(t, s, "hook")
		require.Len(t, dead, 1)
		require.Equal(t, "a2", dead[0].Event.Action)
		require.Equal(t, 3, dead[0].Attempts)
		require.Equal(t, "attempt 3 failed", dead[0].LastError)
	})
}

func TestDeliverPanic(t *testing.T) {
	eachStore(t, func(t *testing.T, s record.Store) {
		ctx := context.Background()
		want := appendMessages(t, s, "t-1", 3)
		clock := itsmtest.NewClock(t0)
		other := &recorder{}
		h := &recorder{fail: func(m record.Message) error {
			if m.Event.Action == "a2" && m.Attempts == 1 {
				panic("nil map write")
			}
			return nil
		}}
		d := &outbox.Deliverer{Store: s, Subscribers: map[string]outbox.Handler{"hook": h, "other": other}, Clock: clock, Backoff: exact}
		st, err := d.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, outbox.Counts{Delivered: 2, Deferred: 1}, st.Subscribers["hook"], "a panic counts as a failure")
		require.Equal(t, want, h.actions(), "the messages after the panic are delivered")
		require.Equal(t, want, other.actions())
		clock.Advance(time.Second)
		st, err = d.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, outbox.Counts{Delivered: 1}, st.Counts)
		require.Equal(t, append(want, "a2"), h.actions())
		settled(t, s, "hook", clock.Now())

		err = (&outbox.PanicError{Value: "nil map write"})
		require.Equal(t, "outbox: handler panicked: nil map write", err.Error())
	})
}

func TestDeliverTimeout(t *testing.T) {
	ctx := context.Background()
	s := stores[0].open(t)
	require.NoError(t, s.Declare(ctx, taskKind()))
	appendMessages(t, s, "t-1", 1)
	clock := itsmtest.NewClock(t0)
	h := outbox.HandlerFunc(func(ctx context.Context, m record.Message) error {
		if m.Attempts == 1 {
			<-ctx.Done() // the per-message timeout ends it
			return ctx.Err()
		}
		return nil
	})
	d := &outbox.Deliverer{Store: s, Subscribers: map[string]outbox.Handler{"slow": h}, Clock: clock, Backoff: exact, Timeout: time.Millisecond}
	st, err := d.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, outbox.Counts{Deferred: 1}, st.Counts)
	clock.Advance(time.Second)
	st, err = d.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, outbox.Counts{Delivered: 1}, st.Counts)
}

func TestDeliverCanceled(t *testing.T) {
	// A deliverer that is stopped while a delivery runs stores no
	// outcome: the message comes again once its lease runs out.
	s := stores[0].open(t)
	require.NoError(t, s.Declare(context.Background(), taskKind()))
	appendMessages(t, s, "t-1", 2)
	clock := itsmtest.NewClock(t0)
	ctx, cancel := context.WithCancel(context.Background())
	h := outbox.HandlerFunc(func(ctx context.Context, m record.Message) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	})
	d := &outbox.Deliverer{Store: s, Subscribers: map[string]outbox.Handler{"hook": h}, Clock: clock, Backoff: exact, Lease: time.Minute}
	st, err := d.RunOnce(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Contains(t, err.Error(), `subscriber "hook"`)
	require.Equal(t, outbox.Counts{}, st.Counts)
	require.Empty(t, deadLetters(t, s, "hook"))
	msgs, err := s.Claim(context.Background(), "hook", clock.Now().Add(time.Minute), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, msgs, 2)
	require.Equal(t, 2, msgs[0].Attempts)
}

// countingStore counts acknowledgements per consumer and message.
type countingStore struct {
	record.Store
	mu    sync.Mutex
	acked map[string]map[int64]int
}

func (c *countingStore) Ack(ctx context.Context, consumer string, ids ...int64) error {
	err := c.Store.Ack(ctx, consumer, ids...)
	if err == nil {
		c.mu.Lock()
		for _, id := range ids {
			c.acked[consumer][id]++
		}
		c.mu.Unlock()
	}
	return err
}

func TestDeliverConcurrentDeliverers(t *testing.T) {
	// Two deliverers serve the same subscriber names at once: every
	// message reaches every subscriber at least once and is acknowledged
	// by each exactly once; the messages whose first delivery fails come
	// again.
	eachStore(t, func(t *testing.T, s record.Store) {
		ctx := context.Background()
		const n = 30
		appendMessages(t, s, "t-1", n/2)
		appendMessages(t, s, "t-2", n-n/2)
		names := []string{"mailer", "indexer", "webhook"}
		cs := &countingStore{Store: s, acked: map[string]map[int64]int{}}
		for _, name := range names {
			cs.acked[name] = map[int64]int{}
		}
		clock := itsmtest.NewClock(t0)
		var mu sync.Mutex
		delivered := map[string]map[int64]int{}
		handler := func(name string) outbox.Handler {
			return outbox.HandlerFunc(func(ctx context.Context, m record.Message) error {
				mu.Lock()
				if delivered[name] == nil {
					delivered[name] = map[int64]int{}
				}
				delivered[name][m.ID]++
				mu.Unlock()
				if m.ID%4 == 0 && m.Attempts == 1 {
					return errors.New("first attempt fails")
				}
				return nil
			})
		}
		newDeliverer := func() *outbox.Deliverer {
			subs := map[string]outbox.Handler{}
			for _, name := range names {
				subs[name] = handler(name)
			}
			return &outbox.Deliverer{Store: cs, Subscribers: subs, Clock: clock, BatchSize: 3, Backoff: exact, Lease: time.Hour}
		}
		ds := []*outbox.Deliverer{newDeliverer(), newDeliverer()}
		for round := 0; ; round++ {
			require.Less(t, round, 100, "the deliverers do not come to an end")
			var wg sync.WaitGroup
			stats := make([]outbox.Stats, len(ds))
			errs := make([]error, len(ds))
			for i, d := range ds {
				wg.Go(func() { stats[i], errs[i] = d.RunOnce(ctx) })
			}
			wg.Wait()
			idle := true
			for i, err := range errs {
				if err != nil {
					require.True(t, storage.IsRetryable(err), "deliverer %d: %v", i, err)
					idle = false
				}
				if stats[i].Counts != (outbox.Counts{}) {
					idle = false
				}
			}
			if idle {
				break
			}
			clock.Advance(time.Second) // past every backoff, within every lease
		}
		for _, name := range names {
			require.Len(t, delivered[name], n, "%s got every message", name)
			require.Len(t, cs.acked[name], n, "%s acknowledged every message", name)
			for id, k := range cs.acked[name] {
				require.Equal(t, 1, k, "%s acknowledged message %d once", name, id)
				require.GreaterOrEqual(t, delivered[name][id], 1)
			}
			require.Empty(t, deadLetters(t, s, name))
			settled(t, s, name, clock.Now())
		}
	})
}

func TestDelivererCheck(t *testing.T) {
	ctx := context.Background()
	s := stores[0].open(t)
	ok := outbox.HandlerFunc(func(context.Context, record.Message) error { return nil })
	require.NoError(t, (&outbox.Deliverer{Store: s, Subscribers: map[string]outbox.Handler{"a": ok}}).Check())
	bad := &outbox.Deliverer{
		Subscribers: map[string]outbox.Handler{"": ok, "nil": nil, strings.Repeat("x", record.MaxIDLen+1): ok},
		Lease:       record.MaxLease + 1, BatchSize: -1, MaxAttempts: -2, Timeout: -time.Second, Interval: -time.Second,
		Backoff: outbox.ExponentialBackoff{Initial: time.Hour, Max: time.Minute, Jitter: 1.5},
	}
	err := bad.Check()
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve)
	for _, f := range []string{
		"store", `subscribers[""]`, `subscribers["nil"]`, `subscribers["` + strings.Repeat("x", record.MaxIDLen+1) + `"]`,
		"lease", "batch_size", "max_attempts", "timeout", "interval", "backoff.max", "backoff.jitter",
	} {
		require.True(t, ve.Has(f), "field %s in %v", f, err)
	}
	_, rerr := bad.RunOnce(ctx)
	require.ErrorAs(t, rerr, &ve)
	require.ErrorAs(t, bad.Run(ctx), &ve)
	require.ErrorIs(t, (&outbox.Deliverer{Store: s}).Check(), itsm.ErrValidation, "no subscribers")
	require.ErrorIs(t, (&outbox.Deliverer{Store: s, Subscribers: map[string]outbox.Handler{"a": ok},
		Backoff: (*outbox.ExponentialBackoff)(nil)}).Check(), itsm.ErrValidation, "nil backoff pointer")
	require.ErrorIs(t, (&outbox.Deliverer{Store: s, Subscribers: map[string]outbox.Handler{"a": ok},
		Backoff: outbox.ExponentialBackoff{Initial: -time.Second}}).Check(), itsm.ErrValidation, "negative initial delay")
	_, err = (&outbox.Deliverer{}).DeadLetters(ctx, "a", 0, 1)
	require.ErrorIs(t, err, itsm.ErrValidation)
	require.ErrorIs(t, (&outbox.Deliverer{}).Replay(ctx, "a", 1), itsm.ErrValidation)
}

func TestRun(t *testing.T) {
	s := stores[0].open(t)
	require.NoError(t, s.Declare(context.Background(), taskKind()))
	want := appendMessages(t, s, "t-1", 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &recorder{}
	h.fail = func(m record.Message) error {
		if m.Event.Action == want[len(want)-1] {
			cancel()
		}
		return nil
	}
	d := &outbox.Deliverer{Store: s, Subscribers: map[string]outbox.Handler{"hook": h}, Interval: time.Millisecond}
	require.ErrorIs(t, d.Run(ctx), context.Canceled)
	require.Equal(t, want, h.actions())
	settled(t, s, "hook", time.Now()) // the last delivery is acknowledged though ctx ended during it
}

func TestExponentialBackoff(t *testing.T) {
	t.Parallel()
	sec := time.Second
	b := outbox.ExponentialBackoff{Initial: sec, Max: time.Hour}
	for attempts, want := range map[int]time.Duration{
		-1: sec, 0: sec, 1: sec, 2: 2 * sec, 3: 4 * sec, 12: 2048 * sec, 13: time.Hour, 1000: time.Hour,
	} {
		require.Equal(t, want, b.Delay(attempts), "attempts %d", attempts)
	}
	require.Equal(t, time.Duration(1<<62), outbox.ExponentialBackoff{Initial: 1, Max: 1 << 62}.Delay(1000), "no overflow")
	require.Equal(t, outbox.DefaultBackoffMax, outbox.ExponentialBackoff{}.Delay(100), "zero fields take the defaults")
	require.Equal(t, outbox.DefaultBackoffInitial, outbox.ExponentialBackoff{}.Delay(1))

	// Jitter cuts each delay by up to its fraction; a seed repeats it.
	seeded := func(seed uint64) outbox.ExponentialBackoff {
		return outbox.ExponentialBackoff{Initial: sec, Max: time.Hour, Jitter: 0.5, Rand: outbox.SeededRand(seed)}
	}
	a, c, other := seeded(7), seeded(7), seeded(8)
	var differ bool
	for attempts := 1; attempts <= 20; attempts++ {
		full := b.Delay(attempts)
		da := a.Delay(attempts)
		require.Equal(t, da, c.Delay(attempts), "same seed, same delays")
		require.LessOrEqual(t, da, full)
		require.GreaterOrEqual(t, da, full/2)
		if other.Delay(attempts) != da {
			differ = true
		}
	}
	require.True(t, differ, "another seed gives other delays")
	for range 100 {
		d := outbox.DefaultBackoff.Delay(3)
		require.True(t, d > 3200*time.Millisecond && d <= 4*sec, "default jitter: %v", d)
	}
	require.NoError(t, b.Check())
	require.Error(t, outbox.ExponentialBackoff{Jitter: -0.1}.Check())
}

func TestReason(t *testing.T) {
	t.Parallel()
	require.Equal(t, "", outbox.Reason(nil))
	require.Equal(t, "caf\uFFFD \uFFFD", outbox.Reason(errors.New("caf\xe9 \x00")))
	long := outbox.Reason(errors.New(strings.Repeat("ж", record.MaxReasonLen)))
	require.True(t, utf8.ValidString(long))
	require.Equal(t, record.MaxReasonLen, len(long))
}

func requireNotFound(t *testing.T, err error) {
	t.Helper()
	require.ErrorIs(t, err, itsm.ErrNotFound)
	var nf *itsm.NotFoundError
	require.ErrorAs(t, err, &nf)
}
