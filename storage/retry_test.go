package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage"
)

// failing returns an fn for Retry that fails with errs in turn and then
// succeeds with the number of calls.
func failing(calls *int, errs ...error) func(context.Context) (int, error) {
	return func(context.Context) (int, error) {
		*calls++
		if *calls <= len(errs) {
			return 0, errs[*calls-1]
		}
		return *calls, nil
	}
}

var (
	fast       = storage.RetryPolicy{Attempts: 4, Min: time.Microsecond, Max: time.Millisecond}
	errLost    = storage.Retryable(errors.New("connection lost before the commit"))
	errUnknown = errors.Join(storage.ErrUnknownOutcome, errors.New("connection lost during the commit"))
)

func TestRetry(t *testing.T) {
	t.Parallel()
	keyed := itsm.WithIdempotencyKey(context.Background(), "k-1")
	errOther := errors.New("refused")
	cases := []struct {
		name      string
		ctx       context.Context
		errs      []error
		wantCalls int
		wantErr   error
	}{
		{"success at once", context.Background(), nil, 1, nil},
		{"retryable, then success", context.Background(), []error{errLost, errLost}, 3, nil},
		{"retryable until attempts run out", context.Background(), []error{errLost, errLost, errLost, errLost, errLost}, 4, storage.ErrRetryable},
		{"unknown outcome without a key is not retried", context.Background(), []error{errUnknown}, 1, storage.ErrUnknownOutcome},
		{"unknown outcome with a key is retried", keyed, []error{errUnknown, errLost}, 3, nil},
		{"any other error is returned at once", keyed, []error{errOther}, 1, errOther},
		{"an empty key is no key", itsm.WithIdempotencyKey(keyed, ""), []error{errUnknown}, 1, storage.ErrUnknownOutcome},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			got, err := storage.Retry(c.ctx, fast, failing(&calls, c.errs...))
			require.Equal(t, c.wantCalls, calls)
			if c.wantErr != nil {
				require.ErrorIs(t, err, c.wantErr)
				require.Zero(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, calls, got)
		})
	}
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	fn := func(context.Context) (int, error) {
		calls++
		cancel()
		return 0, errLost
	}
	_, err := storage.Retry(ctx, storage.RetryPolicy{Attempts: 10, Min: time.Hour, Max: time.Hour}, fn)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, storage.ErrRetryable, "the last error comes along")
	require.Equal(t, 1, calls)
}

func TestRetryDefaults(t *testing.T) {
	t.Parallel()
	calls := 0
	_, err := storage.Retry(context.Background(), storage.RetryPolicy{}, failing(&calls, errLost, errLost, errLost, errLost, errLost, errLost))
	require.ErrorIs(t, err, storage.ErrRetryable)
	require.Equal(t, 5, calls, "five attempts by default")
}
