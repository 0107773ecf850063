package itsm

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors shared by every itsmkit package. Typed errors in this and
// other packages wrap them, so callers test the category with errors.Is and
// read the detail with errors.As.
var (
	// ErrNotFound reports that a record, timer or other stored item does
	// not exist.
	ErrNotFound = errors.New("itsm: not found")
	// ErrConflict reports an optimistic-concurrency failure (a stale
	// version) or a uniqueness clash. Nothing was changed; the caller may
	// reload and retry.
	ErrConflict = errors.New("itsm: conflict")
	// ErrInvalidTransition reports that a lifecycle action cannot be taken
	// from the record's current state, or that its guards refused it.
	ErrInvalidTransition = errors.New("itsm: invalid transition")
	// ErrValidation reports input that breaks a rule: a missing field, a
	// value out of range, a malformed definition.
	ErrValidation = errors.New("itsm: validation failed")
	// ErrForbidden reports that the acting Actor lacks a role the
	// operation requires.
	ErrForbidden = errors.New("itsm: forbidden")
	// ErrTooLarge reports input beyond a size limit: a text longer than
	// its limit allows, or more items than a record may hold. Errors that
	// match it match ErrValidation too (see LimitError), so that callers
	// that only tell bad input from other failures need not know it.
	ErrTooLarge = errors.New("itsm: too large")
)

// FieldError is one problem with one field of an input.
type FieldError struct {
	// Field names the offending field, using the JSON name or a dotted
	// path such as "hours.mon[1]".
	Field string
	// Message says what is wrong, in lower case without trailing period.
	Message string
}

// String returns "field: message".
func (f FieldError) String() string { return f.Field + ": " + f.Message }

// ValidationError lists every field of an input that failed validation. It
// matches ErrValidation with errors.Is.
//
// The zero value is ready to use: add problems with Add and return Err,
// which is nil when nothing was added.
type ValidationError struct {
	// Subject names what was validated, such as "incident" or
	// "calendar emea-service-desk". It may be empty.
	Subject string
	// Fields holds the problems in the order they were found.
	Fields []FieldError
}

// NewValidationError returns a ValidationError about subject with a single
// field problem; the message is formatted with fmt.Sprintf.
func NewValidationError(subject, field, format string, args ...any) *ValidationError {
	e := &ValidationError{Subject: subject}
	e.Add(field, format, args...)
	return e
}

// Add records a problem with field; the message is formatted with
// fmt.Sprintf.
func (e *ValidationError) Add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err returns e when it holds at least one problem and nil otherwise, so a
// validator can end with "return v.Err()".
func (e *ValidationError) Err() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Has reports whether a problem was recorded for field.
func (e *ValidationError) Has(field string) bool {
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

// Error lists the problems, separated by semicolons.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("itsm: invalid ")
	if e.Subject != "" {
		b.WriteString(e.Subject)
	} else {
		b.WriteString("input")
	}
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.String())
	}
	return b.String()
}

// Unwrap returns ErrValidation.
func (e *ValidationError) Unwrap() error { return ErrValidation }

// GuardFailure is one guard that refused a transition, with its reason.
type GuardFailure struct {
	// Guard is the guard's name as declared in the lifecycle definition.
	Guard string
	// Reason is the guard's own explanation.
	Reason string
}

// TransitionError explains why a lifecycle action was refused. It always
// matches ErrInvalidTransition with errors.Is; when the only obstacle is the
// actor's roles it matches ErrForbidden as well.
type TransitionError struct {
	// Kind is the record kind, such as "incident".
	Kind string
	// ID identifies the record; it may be empty for a record not yet
	// stored.
	ID string
	// State is the record's state when the action was tried.
	State string
	// Action is the action that was tried.
	Action string
	// UnknownState is set when the lifecycle does not define State at
	// all, such as a state read from storage that a newer or older
	// lifecycle renamed.
	UnknownState bool
	// UnknownAction is set when the lifecycle does not define Action at
	// all.
	UnknownAction bool
	// WrongState is set when Action is defined but not from State.
	WrongState bool
	// RolesRequired lists the roles of which the actor holds none, when
	// the transition restricts roles.
	RolesRequired []string
	// MissingFields names the required fields that were empty.
	MissingFields []string
	// Unmet lists every guard that refused, in declaration order.
	Unmet []GuardFailure
}

// Forbidden reports whether the actor's roles were the only obstacle.
func (e *TransitionError) Forbidden() bool {
	return len(e.RolesRequired) > 0 && !e.UnknownState && !e.UnknownAction && !e.WrongState &&
		len(e.MissingFields) == 0 && len(e.Unmet) == 0
}

// Error describes the refusal with every reason.
func (e *TransitionError) Error() string {
	var b strings.Builder
	b.WriteString("itsm: cannot ")
	b.WriteString(e.Action)
	b.WriteString(" ")
	if e.Kind != "" {
		b.WriteString(e.Kind)
	} else {
		b.WriteString("record")
	}
	if e.ID != "" {
		b.WriteString(" ")
		b.WriteString(e.ID)
	}
	b.WriteString(" in state ")
	b.WriteString(e.State)
	var reasons []string
	if e.UnknownState {
		reasons = append(reasons, "unknown state")
	}
	switch {
	case e.UnknownAction:
		reasons = append(reasons, "unknown action")
	case e.WrongState:
		reasons = append(reasons, "not permitted from this state")
	}
	if len(e.RolesRequired) > 0 {
		reasons = append(reasons, "requires one of roles "+strings.Join(e.RolesRequired, ", "))
	}
	if len(e.MissingFields) > 0 {
		reasons = append(reasons, "missing "+strings.Join(e.MissingFields, ", "))
	}
	for _, g := range e.Unmet {
		reasons = append(reasons, g.Guard+": "+g.Reason)
	}
	if len(reasons) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(reasons, "; "))
	}
	return b.String()
}

// Unwrap returns ErrInvalidTransition, and ErrForbidden too when Forbidden
// reports true.
func (e *TransitionError) Unwrap() []error {
	if e.Forbidden() {
		return []error{ErrInvalidTransition, ErrForbidden}
	}
	return []error{ErrInvalidTransition}
}

// NotFoundError names the record that does not exist. It matches
// ErrNotFound.
type NotFoundError struct {
	// Kind is the record kind, such as "incident".
	Kind string
	// ID is the identifier or number that was looked up.
	ID string
}

// Error says which record was not found.
func (e *NotFoundError) Error() string { return "itsm: " + e.Kind + " " + e.ID + " not found" }

// Unwrap returns ErrNotFound.
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// ConflictError reports an update based on a stale version. It matches
// ErrConflict.
type ConflictError struct {
	// Kind is the record kind, such as "incident".
	Kind string
	// ID identifies the record.
	ID string
	// Expected is the version the caller based its change on.
	Expected int64
	// Actual is the version stored now, or 0 when unknown.
	Actual int64
}

// Error says which record changed under the caller.
func (e *ConflictError) Error() string {
	if e.Actual == 0 {
		return fmt.Sprintf("itsm: %s %s changed since version %d", e.Kind, e.ID, e.Expected)
	}
	return fmt.Sprintf("itsm: %s %s is at version %d, not %d", e.Kind, e.ID, e.Actual, e.Expected)
}

// Unwrap returns ErrConflict.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// ForbiddenError names the actor and the permission it lacks. It matches
// ErrForbidden.
type ForbiddenError struct {
	// ActorID identifies the actor that was refused.
	ActorID string
	// Permission is what the actor tried to do.
	Permission Permission
}

// Error says who may not do what.
func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("itsm: actor %q lacks permission %q", e.ActorID, string(e.Permission))
}

// Unwrap returns ErrForbidden.
func (e *ForbiddenError) Unwrap() error { return ErrForbidden }

// DutyError reports an action refused by a segregation-of-duties rule: the
// actor may hold every role and permission the action needs and still not
// take it on this record, because of how the actor stands to the record
// (the caller of an incident resolving it, the requester of a change
// approving it). It matches ErrForbidden.
type DutyError struct {
	// Rule names the rule that refused the action.
	Rule string
	// ActorID identifies the actor that was refused.
	ActorID string
	// Action is the action refused.
	Action string
	// Kind and ID name the record, ID as users know it (its number).
	Kind, ID string
}

// Error says who may not do what to which record, and by which rule.
func (e *DutyError) Error() string {
	return fmt.Sprintf("itsm: actor %q may not %s %s %s (segregation of duties: %s)", e.ActorID, e.Action, e.Kind, e.ID, e.Rule)
}

// Unwrap returns ErrForbidden.
func (e *DutyError) Unwrap() error { return ErrForbidden }

// LimitError reports an input beyond a size limit: a text with more bytes
// than its limit, or a list with more items than a record may hold. It
// matches both ErrTooLarge and ErrValidation with errors.Is, so that a
// caller can answer it apart (HTTP 413 rather than 422) or with the other
// validation errors.
type LimitError struct {
	// Subject names what was checked, such as "incident" or "journal
	// entries".
	Subject string
	// Field names the field over its limit, using the JSON name or a
	// dotted path such as "[2].text" or "journal".
	Field string
	// Limit is the largest size allowed, in Unit.
	Limit int
	// Size is the size found (or, for a count, the size the write would
	// reach), in Unit; it is larger than Limit.
	Size int
	// Unit says what Limit and Size count, such as "bytes", "entries" or
	// "events".
	Unit string
}

// Error says which field is how far over which limit, such as "itsm:
// incident description is 70000 bytes, over the limit of 65536 bytes".
func (e *LimitError) Error() string {
	subject := e.Subject
	if subject == "" {
		subject = "input"
	}
	return fmt.Sprintf("itsm: %s %s is %d %s, over the limit of %d %s", subject, e.Field, e.Size, e.Unit, e.Limit, e.Unit)
}

// Unwrap returns ErrTooLarge and ErrValidation.
func (e *LimitError) Unwrap() []error { return []error{ErrTooLarge, ErrValidation} }
