package record

import (
	"encoding/base64"
	"strconv"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
)

// Message is one outbox message: an audit event of a committed change,
// appended in the transaction that made the change.
type Message struct {
	// ID identifies the message in the store; Ack takes it. IDs grow with
	// the order of appending but may have gaps and, on stores with
	// concurrent writers, may commit out of order: read the outbox in
	// order through ReadOutbox's cursor, not by ID.
	ID int64 `json:"id"`
	// Event is the audit event, with its Sequence.
	Event itsm.Event `json:"event"`
	// Attempts counts the claims of this message by the consumer that
	// claimed it, this one included; 0 outside Claim.
	Attempts int `json:"attempts,omitempty"`
}

// OutboxPage is one page of ReadOutbox.
type OutboxPage struct {
	Messages []Message
	// Next is the cursor after the last message of the page; pass it to
	// the next ReadOutbox. It is the cursor given when the page is empty,
	// so a reader can poll with it.
	Next string
}

// Lease bounds for Claim.
const (
	// MinLease is the shortest lease Claim accepts.
	MinLease = time.Millisecond
	// MaxLease is the longest lease Claim accepts.
	MaxLease = 24 * time.Hour
)

// CheckClaim checks Claim's arguments: a consumer name of 1 to MaxIDLen
// bytes of valid UTF-8 without NUL bytes, a now that is set and lies in
// the years 1 to 9999, a lease within MinLease and MaxLease (both
// included) and a positive limit. It returns an *itsm.ValidationError
// naming every problem (fields "consumer", "now", "lease", "limit"), or
// nil.
func CheckClaim(consumer string, now time.Time, lease time.Duration, limit int) error {
	v := &itsm.ValidationError{Subject: "outbox claim"}
	if msg := idProblem(consumer); msg != "" {
		v.Add("consumer", "%s", msg)
	}
	if now.IsZero() {
		v.Add("now", "must be set")
	} else if !validInstant(now) {
		v.Add("now", "lies outside the years 1 to 9999 (UTC)")
	}
	if lease < MinLease || lease > MaxLease {
		v.Add("lease", "must be between %v and %v", MinLease, MaxLease)
	}
	if limit <= 0 {
		v.Add("limit", "must be positive")
	}
	return v.Err()
}

// IDCursor returns the ReadOutbox cursor after message id, for stores
// whose messages commit in ID order (one writer at a time).
func IDCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

// ParseIDCursor returns the message ID a cursor made by IDCursor names,
// and 0 for the empty cursor (the start). Anything else is an
// *itsm.ValidationError for field "after".
func ParseIDCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	id, perr := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || perr != nil || id < 1 || IDCursor(id) != s {
		return 0, itsm.NewValidationError("outbox", "after", "%q is not an outbox cursor", s)
	}
	return id, nil
}
