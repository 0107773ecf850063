package record

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
	// claimed it, this one included, in Claim; in DeadLetters, the claims
	// before the message was buried; 0 from ReadOutbox.
	Attempts int `json:"attempts,omitempty"`
}

// DeadLetter is an outbox message a consumer gave up on (see
// Store.Bury): Claim does not hand it to that consumer again until it is
// replayed.
type DeadLetter struct {
	// Message is the message, its Attempts the claims of it by the
	// consumer before it was buried.
	Message
	// DeadAt is when the message was buried, in UTC to the microsecond.
	DeadAt time.Time `json:"dead_at"`
	// LastError is the reason of the last Defer or of the Bury, cut to
	// MaxReasonLen bytes.
	LastError string `json:"last_error,omitempty"`
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

// MaxReasonLen is the most bytes of a reason Defer and Bury keep as a
// last error; a longer reason is cut (see TrimReason).
const MaxReasonLen = 1024

// TrimReason returns reason cut to at most MaxReasonLen bytes at a rune
// boundary, so that valid UTF-8 stays valid; a reason that fits is
// returned as it is. Defer and Bury keep reasons trimmed so: a failure's
// description is worth keeping in part rather than losing the failure.
func TrimReason(reason string) string {
	if len(reason) <= MaxReasonLen {
		return reason
	}
	i := MaxReasonLen
	for i > 0 && !utf8.RuneStart(reason[i]) {
		i--
	}
	return reason[:i]
}

// CheckConsumer checks a consumer name: 1 to MaxIDLen bytes of valid
// UTF-8 without NUL bytes. It returns an *itsm.ValidationError for field
// "consumer" of subject, or nil.
func CheckConsumer(subject, consumer string) error {
	if msg := idProblem(consumer); msg != "" {
		return itsm.NewValidationError(subject, "consumer", "%s", msg)
	}
	return nil
}

// CheckDefer checks Defer's arguments: a consumer name as CheckConsumer
// wants it, an until that is set and lies in the years 1 to 9999, and a
// reason of valid UTF-8 without NUL bytes, of any length (Defer keeps
// TrimReason of it). It returns an *itsm.ValidationError naming every
// problem (fields "consumer", "until", "reason"), or nil. The message ID
// is not checked here: one that is not in the outbox is Defer's
// *itsm.NotFoundError.
func CheckDefer(consumer string, until time.Time, reason string) error {
	return checkSettle("outbox defer", consumer, "until", until, reason)
}

// CheckBury checks Bury's arguments as CheckDefer checks Defer's, with
// now in place of until (fields "consumer", "now", "reason").
func CheckBury(consumer string, now time.Time, reason string) error {
	return checkSettle("outbox bury", consumer, "now", now, reason)
}

func checkSettle(subject, consumer, field string, at time.Time, reason string) error {
	v := &itsm.ValidationError{Subject: subject}
	if msg := idProblem(consumer); msg != "" {
		v.Add("consumer", "%s", msg)
	}
	if at.IsZero() {
		v.Add(field, "must be set")
	} else if !validInstant(at) {
		v.Add(field, "lies outside the years 1 to 9999 (UTC)")
	}
	switch {
	case !utf8.ValidString(reason):
		v.Add("reason", "is not valid UTF-8")
	case strings.IndexByte(reason, 0) >= 0:
		v.Add("reason", "contains a NUL byte")
	}
	return v.Err()
}

// CheckDeadLetters checks DeadLetters' arguments: a consumer name as
// CheckConsumer wants it, an after of 0 or more and a positive limit. It
// returns an *itsm.ValidationError naming every problem (fields
// "consumer", "after", "limit"), or nil.
func CheckDeadLetters(consumer string, after int64, limit int) error {
	v := &itsm.ValidationError{Subject: "outbox dead letters"}
	if msg := idProblem(consumer); msg != "" {
		v.Add("consumer", "%s", msg)
	}
	if after < 0 {
		v.Add("after", "must not be negative")
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
