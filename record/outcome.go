package record

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
)

// Outcome is what a write that carried an idempotency key committed: the
// key, the operation and a digest of the request it answered, and the
// result it returned. Tx.Remember stores it in the write's own
// transaction, so the outcome is stored if and only if the write is;
// Tx.Recall finds it again when the same key comes back, and the service
// returns Result instead of writing anything.
type Outcome struct {
	// Key is the caller's idempotency key: 1 to MaxIDLen bytes of valid
	// UTF-8 without NUL bytes (see itsm.WithIdempotencyKey).
	Key string `json:"key"`
	// Operation names the call, such as "incident.open": 1 to MaxIDLen
	// bytes.
	Operation string `json:"operation"`
	// Request is a digest of the call's arguments (RequestDigest), so that
	// a key reused for another request is told apart from a retry.
	Request string `json:"request"`
	// Result is what the call returned, as JSON; at most MaxOutcomeLen
	// bytes.
	Result json.RawMessage `json:"result"`
	// At is when the write committed (to the store's precision) and
	// Expires when the store may forget the key; Expires is after At.
	At      time.Time `json:"at"`
	Expires time.Time `json:"expires"`
}

// MaxOutcomeLen is the longest Outcome.Result, in bytes.
const MaxOutcomeLen = 4 << 20

// CheckOutcome checks an Outcome before it is stored and returns an
// *itsm.ValidationError naming every problem (fields "key", "operation",
// "request", "result", "at", "expires"), or nil.
func CheckOutcome(o Outcome) error {
	v := &itsm.ValidationError{Subject: "idempotency outcome"}
	if msg := idProblem(o.Key); msg != "" {
		v.Add("key", "%s", msg)
	}
	if msg := idProblem(o.Operation); msg != "" {
		v.Add("operation", "%s", msg)
	}
	if msg := idProblem(o.Request); msg != "" {
		v.Add("request", "%s", msg)
	}
	switch {
	case len(o.Result) > MaxOutcomeLen:
		v.Add("result", "is %d bytes, more than %d", len(o.Result), MaxOutcomeLen)
	case !json.Valid(o.Result):
		v.Add("result", "is not valid JSON")
	case badJSONEscape(o.Result):
		v.Add("result", "escapes a NUL character or a lone UTF-16 surrogate")
	}
	if o.At.IsZero() || !validInstant(o.At) {
		v.Add("at", "must be set and lie in the years 1 to 9999 (UTC)")
	}
	if !validInstant(o.Expires) || !o.Expires.After(o.At) {
		v.Add("expires", "must lie after at and in the years 1 to 9999 (UTC)")
	}
	return v.Err()
}

// CheckOutcomeKey checks a key given to Tx.Recall as CheckOutcome checks
// Outcome.Key, and an instant now that is set and lies in the years 1 to
// 9999 (fields "key", "now").
func CheckOutcomeKey(key string, now time.Time) error {
	v := &itsm.ValidationError{Subject: "idempotency key"}
	if msg := idProblem(key); msg != "" {
		v.Add("key", "%s", msg)
	}
	if now.IsZero() || !validInstant(now) {
		v.Add("now", "must be set and lie in the years 1 to 9999 (UTC)")
	}
	return v.Err()
}

// RequestDigest returns the hex SHA-256 of operation and the JSON of
// request, for Outcome.Request. Two requests have the same digest when
// their operation and JSON are the same; a request that does not encode
// as JSON is an error.
func RequestDigest(operation string, request any) (string, error) {
	b, err := json.Marshal(request)
	if err != nil {
		return "", fmt.Errorf("record: digest of the %s request: %w", operation, err)
	}
	h := sha256.New()
	h.Write([]byte(operation))
	h.Write([]byte{0})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// KeyConflict is the error Tx.Remember returns when a live outcome with
// the key is stored already (another transaction committed it first): an
// *itsm.ConflictError of kind "idempotency key".
func KeyConflict(key string) error {
	return &itsm.ConflictError{Kind: OutcomeConflictKind, ID: key}
}

// OutcomeConflictKind is the Kind of the *itsm.ConflictError that
// Tx.Remember returns for a key stored already.
const OutcomeConflictKind = "idempotency key"

// CheckForget checks the instant given to Store.ForgetOutcomes: set and
// in the years 1 to 9999 (field "now").
func CheckForget(now time.Time) error {
	if now.IsZero() || !validInstant(now) {
		return itsm.NewValidationError("idempotency outcomes", "now", "must be set and lie in the years 1 to 9999 (UTC)")
	}
	return nil
}
