package itsm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is the audit record of one change to one record: who did what,
// when, from which state to which, which fields changed and why. Stores
// keep events append-only, numbered by Sequence per record.
type Event struct {
	// Kind is the record kind, such as "incident".
	Kind string `json:"kind"`
	// RecordID identifies the record the event belongs to.
	RecordID string `json:"record_id"`
	// Sequence numbers the record's events from 1 without gaps; the store
	// assigns it when the event is appended.
	Sequence int64 `json:"sequence"`
	// Actor is who made the change.
	Actor Actor `json:"actor"`
	// At is when the change happened, as read from the service's Clock.
	At time.Time `json:"at"`
	// Action is what was done: a lifecycle action such as "resolve", or an
	// edit such as "comment" or "set-priority".
	Action string `json:"action"`
	// From is the state before the change; empty when the record was just
	// created or the change did not concern the state.
	From string `json:"from,omitempty"`
	// To is the state after the change; equal to From when the state did
	// not change.
	To string `json:"to,omitempty"`
	// Changes lists the fields that changed, in a stable order.
	Changes []Change `json:"changes,omitempty"`
	// Reason is the free-text justification, where the action takes one.
	Reason string `json:"reason,omitempty"`
}

// Change is one field's old and new value in an Event, both rendered as
// text so that the audit log does not depend on the record's Go types.
type Change struct {
	Field string `json:"field"`
	Old   string `json:"old,omitempty"`
	New   string `json:"new,omitempty"`
}

// Record adds a Change for field when old and new differ, formatting both
// with fmt's %v verb, and reports whether it added one. A nil value and a
// zero time render as the empty string.
func (e *Event) Record(field string, old, new any) bool {
	o, n := auditText(old), auditText(new)
	if o == n {
		return false
	}
	e.Changes = append(e.Changes, Change{Field: field, Old: o, New: n})
	return true
}

func auditText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.UTC().Format(time.RFC3339Nano)
	case fmt.Stringer:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

// Validate returns a *ValidationError naming every problem at once: a
// required field that is missing (kind, record ID, actor ID, time and
// action), a time outside the years 1 to 9999 (UTC), the range every store
// keeps, and text that no store keeps as given: invalid UTF-8 (which one
// store would replace with U+FFFD, so that the stored event no longer
// matched its hash) or a NUL byte (which PostgreSQL refuses), in any
// string of the event, its actor and its changes. Sequence is not checked
// because the store assigns it.
func (e Event) Validate() error {
	v := &ValidationError{Subject: "audit event"}
	if e.Kind == "" {
		v.Add("kind", "must not be empty")
	}
	if e.RecordID == "" {
		v.Add("record_id", "must not be empty")
	}
	if e.Actor.ID == "" {
		v.Add("actor.id", "must not be empty")
	}
	if e.At.IsZero() {
		v.Add("at", "must be set")
	} else if y := e.At.UTC().Year(); y < 1 || y > 9999 {
		v.Add("at", "lies outside the years 1 to 9999 (UTC)")
	}
	if e.Action == "" {
		v.Add("action", "must not be empty")
	}
	text := func(field, s string) {
		switch {
		case !utf8.ValidString(s):
			v.Add(field, "is not valid UTF-8")
		case strings.IndexByte(s, 0) >= 0:
			v.Add(field, "contains a NUL byte")
		}
	}
	text("kind", e.Kind)
	text("record_id", e.RecordID)
	text("actor.id", e.Actor.ID)
	text("actor.name", e.Actor.Name)
	for i, r := range e.Actor.Roles {
		text("actor.roles["+strconv.Itoa(i)+"]", string(r))
	}
	text("action", e.Action)
	text("from", e.From)
	text("to", e.To)
	for i, c := range e.Changes {
		at := "changes[" + strconv.Itoa(i) + "]."
		text(at+"field", c.Field)
		text(at+"old", c.Old)
		text(at+"new", c.New)
	}
	text("reason", e.Reason)
	return v.Err()
}

// String renders the event on one line for logs, such as
// "incident INC0001001 #3 2026-11-20T15:04:05Z alice resolve in-progress→resolved".
func (e Event) String() string {
	s := fmt.Sprintf("%s %s #%d %s %s %s", e.Kind, e.RecordID, e.Sequence,
		e.At.UTC().Format(time.RFC3339), e.Actor.ID, e.Action)
	if e.From != e.To {
		s += " " + e.From + "→" + e.To
	}
	if e.Reason != "" {
		s += fmt.Sprintf(" (%s)", e.Reason)
	}
	return s
}

// ValidateEvents validates every event (see Event.Validate) and returns
// one *ValidationError naming each problem as "[i].field", or nil. Stores
// call it so that a batch with one bad event appends nothing.
func ValidateEvents(events []Event) error {
	v := &ValidationError{Subject: "audit events"}
	for i, e := range events {
		err := e.Validate()
		if err == nil {
			continue
		}
		var fe *ValidationError
		if !errors.As(err, &fe) {
			return err
		}
		for _, f := range fe.Fields {
			v.Add("["+strconv.Itoa(i)+"]."+f.Field, "%s", f.Message)
		}
	}
	return v.Err()
}
