package outbox

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
)

// Backoff says how long a deliverer waits before it offers a message to a
// subscriber again after a failed delivery. Delay must be safe for
// concurrent use: a deliverer calls it for all its subscribers at once.
type Backoff interface {
	// Delay returns the wait after the failure of attempt number
	// attempts (1 for the first delivery). A delay of 0 or less offers
	// the message again at once.
	Delay(attempts int) time.Duration
}

// Defaults of ExponentialBackoff, and the backoff of a Deliverer whose
// Backoff is nil.
const (
	// DefaultBackoffInitial is the wait after a first failed delivery.
	DefaultBackoffInitial = time.Second
	// DefaultBackoffMax caps every wait.
	DefaultBackoffMax = time.Hour
	// DefaultBackoffJitter is the jitter of DefaultBackoff.
	DefaultBackoffJitter = 0.2
)

// DefaultBackoff is the backoff of a Deliverer whose Backoff is nil: from
// one second, doubling to a cap of an hour, each wait cut by up to a fifth
// at random so that subscribers failing together do not retry together.
var DefaultBackoff Backoff = ExponentialBackoff{
	Initial: DefaultBackoffInitial, Max: DefaultBackoffMax, Jitter: DefaultBackoffJitter,
}

// ExponentialBackoff waits Initial after the first failed attempt and
// twice as long after each further one, never more than Max. With Jitter
// set, each wait d is cut to d × (1 − Jitter × r) for r drawn from Rand in
// [0, 1), so waits lie between d × (1 − Jitter) and d. A zero Initial or
// Max takes its default (DefaultBackoffInitial, DefaultBackoffMax); a
// zero Jitter draws nothing, so waits are exact, which suits tests.
//
// A Deliverer refuses an ExponentialBackoff whose Initial or Max is
// negative, whose Max is shorter than its Initial or whose Jitter lies
// outside 0 to 1 (see Check).
type ExponentialBackoff struct {
	Initial time.Duration
	Max     time.Duration
	Jitter  float64
	// Rand returns numbers in [0, 1) and must be safe for concurrent
	// use; nil uses math/rand/v2's Float64. SeededRand makes a
	// repeatable one.
	Rand func() float64
}

// Check returns an *itsm.ValidationError naming every problem of b
// (fields "backoff.initial", "backoff.max", "backoff.jitter"), or nil.
func (b ExponentialBackoff) Check() error {
	v := &itsm.ValidationError{Subject: "outbox deliverer"}
	b.check(v)
	return v.Err()
}

func (b ExponentialBackoff) check(v *itsm.ValidationError) {
	initial, limit := b.bounds()
	if b.Initial < 0 {
		v.Add("backoff.initial", "must not be negative")
	}
	if b.Max < 0 {
		v.Add("backoff.max", "must not be negative")
	} else if b.Initial >= 0 && limit < initial {
		v.Add("backoff.max", "%v is shorter than the initial delay %v", limit, initial)
	}
	if !(b.Jitter >= 0 && b.Jitter <= 1) { // NaN too
		v.Add("backoff.jitter", "must be between 0 and 1")
	}
}

func (b ExponentialBackoff) bounds() (initial, limit time.Duration) {
	initial, limit = b.Initial, b.Max
	if initial == 0 {
		initial = DefaultBackoffInitial
	}
	if limit == 0 {
		limit = DefaultBackoffMax
	}
	return initial, limit
}

// Delay returns the wait after attempt number attempts failed: Initial ×
// 2^(attempts−1), capped at Max, less the jitter. An attempts below 1
// counts as 1. For a b that fails Check, the delay is clamped into 0 to
// Max.
func (b ExponentialBackoff) Delay(attempts int) time.Duration {
	initial, limit := b.bounds()
	if initial < 0 {
		initial = 0
	}
	if limit < initial {
		limit = initial
	}
	d := initial
	for i := 1; i < attempts && d < limit; i++ {
		if d > limit/2 {
			d = limit
			break
		}
		d *= 2
	}
	if b.Jitter > 0 && b.Jitter <= 1 {
		r := rand.Float64
		if b.Rand != nil {
			r = b.Rand
		}
		d -= time.Duration(float64(d) * b.Jitter * r())
	}
	return d
}

// SeededRand returns a source of numbers in [0, 1) for
// ExponentialBackoff.Rand that yields the same sequence for the same seed
// and is safe for concurrent use.
func SeededRand(seed uint64) func() float64 {
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		return r.Float64()
	}
}
