package itsm

import (
	"context"
	"fmt"
)

// idempotencyKey is the context key of WithIdempotencyKey.
type idempotencyKey struct{}

// WithIdempotencyKey returns a copy of ctx that carries key: the services
// of this module then make each mutating call with ctx idempotent. The
// first call with a key commits its change together with its result; a
// later call with the same key and the same request commits nothing and
// returns that result again, for as long as the service keeps keys (a day
// by default). A key given for a different request (another operation,
// record or input) is refused with a *KeyReusedError.
//
// Use a fresh random key (a UUID, say) for each logical request and the
// same key for every retry of it; a key names one call, so give each call
// of a batch its own. An empty key removes any key ctx carries. Keys are
// checked where they are used: 1 to 255 bytes of valid UTF-8 without NUL
// bytes.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, key)
}

// IdempotencyKey returns the key ctx carries (see WithIdempotencyKey), and
// whether it carries a non-empty one.
func IdempotencyKey(ctx context.Context) (string, bool) {
	key, _ := ctx.Value(idempotencyKey{}).(string)
	return key, key != ""
}

// KeyReusedError reports an idempotency key given again for a different
// request than the one it first came with: another operation, or the same
// operation on another record or with other input. Nothing was written.
// It matches ErrValidation: the caller must use a new key for a new
// request.
type KeyReusedError struct {
	// Key is the reused key.
	Key string
	// Operation is the operation of this call, such as "incident.resolve".
	Operation string
	// First is the operation the key first came with.
	First string
}

// Error names the key and both operations.
func (e *KeyReusedError) Error() string {
	if e.First == e.Operation {
		return fmt.Sprintf("itsm: idempotency key %q was used for another %s request", e.Key, e.Operation)
	}
	return fmt.Sprintf("itsm: idempotency key %q was used for %s, not %s", e.Key, e.First, e.Operation)
}

// Unwrap returns ErrValidation.
func (e *KeyReusedError) Unwrap() error { return ErrValidation }
