package storage

import "errors"

// ErrRetryable marks a failure after which the same operation may succeed
// when tried again from the start: a serialization failure, a deadlock, a
// busy database or a lost connection. Nothing of the failed transaction
// was committed. Test it with errors.Is or IsRetryable.
var ErrRetryable = errors.New("storage: retryable")

// ErrFull marks a write the database refused for want of room: the disk or
// the file system is full, or the database reached a size limit set on
// it. Nothing of the failed transaction was committed, and everything
// committed before is intact; the same write succeeds once room is made.
var ErrFull = errors.New("storage: database full")

// ErrReadOnly marks a write refused because the database only reads: a
// file or connection opened read-only, a read-only transaction, or a
// standby server. Nothing of the failed transaction was committed.
var ErrReadOnly = errors.New("storage: database is read-only")

// ErrCorrupt marks a database that is damaged or is not a database at all
// (a file of something else, a page or an index whose contents are
// broken). The store cannot vouch for what it reads; restore the database
// from a backup.
var ErrCorrupt = errors.New("storage: database corrupt")

// ErrUnknownOutcome marks a commit whose outcome the store cannot tell:
// the connection to the database was lost, or the caller's context ended,
// after the commit was sent and before its answer came back, so the
// transaction may have been committed or not. It never matches
// ErrRetryable: doing the same work again may do it twice. Find out first
// what was stored, or make the work idempotent with an idempotency key
// (itsm.WithIdempotencyKey), which Retry then retries.
var ErrUnknownOutcome = errors.New("storage: commit outcome unknown")

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
