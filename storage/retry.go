package storage

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
)

// RetryPolicy bounds Retry. The zero value selects the defaults.
type RetryPolicy struct {
	// Attempts is how many times fn runs at most, the first included;
	// default 5.
	Attempts int
	// Min is the longest pause before the second attempt; default 10 ms.
	// The bound doubles with each attempt up to Max.
	Min time.Duration
	// Max bounds every pause; default 1 s.
	Max time.Duration
}

// Retry calls fn until it succeeds or fails in a way that retrying cannot
// fix, and returns its last result. It tries again, after a random pause
// (exponential backoff with full jitter, bounded by p):
//
//   - after an error matching ErrRetryable: nothing was committed;
//   - after an error matching ErrUnknownOutcome only when ctx carries an
//     idempotency key (itsm.WithIdempotencyKey): the commit may have
//     happened, and only the key keeps the next attempt from doing the
//     work twice (the service finds the first attempt's result and
//     returns it). Without a key such an error is returned at once.
//
// Any other error, and the last attempt's, is returned as it is. When ctx
// ends during a pause, Retry returns ctx.Err() joined with the last
// error. fn gets ctx; give every call of fn the same key, and each logical
// request its own.
func Retry[T any](ctx context.Context, p RetryPolicy, fn func(ctx context.Context) (T, error)) (T, error) {
	attempts, lo, hi := p.Attempts, p.Min, p.Max
	if attempts <= 0 {
		attempts = 5
	}
	if lo <= 0 {
		lo = 10 * time.Millisecond
	}
	if hi <= 0 {
		hi = time.Second
	}
	_, keyed := itsm.IdempotencyKey(ctx)
	bound := lo
	for attempt := 1; ; attempt++ {
		out, err := fn(ctx)
		if err == nil || attempt >= attempts || !(IsRetryable(err) || keyed && errors.Is(err, ErrUnknownOutcome)) {
			return out, err
		}
		pause := time.Duration(rand.Int64N(int64(min(bound, hi)) + 1))
		bound *= 2
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			var zero T
			return zero, errors.Join(ctx.Err(), err)
		case <-t.C:
		}
	}
}
