package storage

import "errors"

// ErrRetryable marks a failure after which the same operation may succeed
// when tried again from the start: a serialization failure, a deadlock, a
// busy database or a lost connection. Nothing of the failed transaction
// was committed. Test it with errors.Is or IsRetryable.
var ErrRetryable = errors.New("storage: retryable")

// Retryable wraps err so that it matches ErrRetryable as well as
// everything err matches. It returns nil for a nil err.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return &retryableError{err: err}
}

// IsRetryable reports whether err matches ErrRetryable.
func IsRetryable(err error) bool { return errors.Is(err, ErrRetryable) }

type retryableError struct{ err error }

func (e *retryableError) Error() string   { return e.err.Error() + " (retryable)" }
func (e *retryableError) Unwrap() []error { return []error{e.err, ErrRetryable} }
