package itsm

import (
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
)

// Impact measures how widely an incident or change affects the business.
// On the default scale 1 is High, 2 Medium and 3 Low; a PriorityMatrix
// may define another scale (more levels, other names, a reversed order).
// The zero value means "not set".
type Impact int

// Urgency measures how quickly the business needs a resolution. On the
// default scale 1 is High, 2 Medium and 3 Low; a PriorityMatrix may define
// another scale. The zero value means "not set".
type Urgency int

// Priority orders work: 1 Critical, 2 High, 3 Moderate, 4 Low, 5 Planning.
// It is usually derived from Impact and Urgency by a PriorityMatrix. The
// zero value means "not set".
type Priority int

// The default impact and urgency levels.
const (
	ImpactHigh   Impact = 1
	ImpactMedium Impact = 2
	ImpactLow    Impact = 3

	UrgencyHigh   Urgency = 1
	UrgencyMedium Urgency = 2
	UrgencyLow    Urgency = 3
)

// The five priorities, from most to least urgent.
const (
	PriorityCritical Priority = 1
	PriorityHigh     Priority = 2
	PriorityModerate Priority = 3
	PriorityLow      Priority = 4
	PriorityPlanning Priority = 5
)

// MinPriority and MaxPriority bound the valid priorities.
const (
	MinPriority = PriorityCritical
	MaxPriority = PriorityPlanning
)

var (
	levelNames    = [...]string{"", "high", "medium", "low"}
	priorityNames = [...]string{"", "critical", "high", "moderate", "low", "planning"}
)

// levelString names v on the default three-level scale, or spells the
// number for a value of a custom scale.
func levelString(v int) string {
	if v >= 1 && v < len(levelNames) {
		return levelNames[v]
	}
	return strconv.Itoa(v)
}

// parseLevel reads a default-scale name (any case) or a decimal number.
func parseLevel(what, s string) (int, error) {
	s = strings.TrimSpace(s)
	for i := 1; i < len(levelNames); i++ {
		if strings.EqualFold(s, levelNames[i]) {
			return i, nil
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, NewValidationError(what, what, "%q is neither a level name (high, medium, low) nor a positive number", s)
	}
	return n, nil
}

// String returns "high", "medium" or "low" on the default scale, and the
// number for other values, such as "4" on a four-level scale. Names of a
// custom scale come from PriorityMatrix.ImpactName.
func (i Impact) String() string { return levelString(int(i)) }

// MarshalText encodes the impact as String does.
func (i Impact) MarshalText() ([]byte, error) { return []byte(i.String()), nil }

// UnmarshalText accepts "high", "medium", "low" (any case) or a positive
// decimal number. Whether the value exists on a given scale is checked by
// the PriorityMatrix, not here.
func (i *Impact) UnmarshalText(b []byte) error {
	n, err := parseLevel("impact", string(b))
	if err != nil {
		return err
	}
	*i = Impact(n)
	return nil
}

// Value stores the impact as an integer; the zero Impact is stored as NULL.
func (i Impact) Value() (driver.Value, error) { return nullableInt(int(i)), nil }

// Scan reads an integer column; NULL reads as the zero Impact.
func (i *Impact) Scan(src any) error {
	n, err := scanInt("impact", src)
	*i = Impact(n)
	return err
}

// String returns "high", "medium" or "low" on the default scale, and the
// number for other values. Names of a custom scale come from
// PriorityMatrix.UrgencyName.
func (u Urgency) String() string { return levelString(int(u)) }

// MarshalText encodes the urgency as String does.
func (u Urgency) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText accepts "high", "medium", "low" (any case) or a positive
// decimal number.
func (u *Urgency) UnmarshalText(b []byte) error {
	n, err := parseLevel("urgency", string(b))
	if err != nil {
		return err
	}
	*u = Urgency(n)
	return nil
}

// Value stores the urgency as an integer; the zero Urgency is stored as
// NULL.
func (u Urgency) Value() (driver.Value, error) { return nullableInt(int(u)), nil }

// Scan reads an integer column; NULL reads as the zero Urgency.
func (u *Urgency) Scan(src any) error {
	n, err := scanInt("urgency", src)
	*u = Urgency(n)
	return err
}

// Valid reports whether p is one of the five priorities.
func (p Priority) Valid() bool { return p >= MinPriority && p <= MaxPriority }

// Validate returns a *ValidationError for field "priority" unless p is
// valid.
func (p Priority) Validate() error {
	if p.Valid() {
		return nil
	}
	return NewValidationError("priority", "priority", "%d is outside %d..%d", int(p), MinPriority, MaxPriority)
}

// String returns the lower-case name ("critical" … "planning"), or
// "priority(N)" for an invalid value.
func (p Priority) String() string {
	if p.Valid() {
		return priorityNames[p]
	}
	return "priority(" + strconv.Itoa(int(p)) + ")"
}

// Label returns the short form used on service desks: "P1" … "P5".
func (p Priority) Label() string { return "P" + strconv.Itoa(int(p)) }

// MarshalText encodes a valid priority by its name and refuses an invalid
// one, so nothing unreadable is ever written.
func (p Priority) MarshalText() ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return []byte(p.String()), nil
}

// UnmarshalText accepts a name ("critical", any case), a label ("P1") or a
// digit ("1"), and refuses anything outside 1..5.
func (p *Priority) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	for i := MinPriority; i <= MaxPriority; i++ {
		if strings.EqualFold(s, priorityNames[i]) {
			*p = i
			return nil
		}
	}
	digits := s
	if len(s) == 2 && (s[0] == 'P' || s[0] == 'p') {
		digits = s[1:]
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		return NewValidationError("priority", "priority", "%q is not a priority name, label or number", s)
	}
	v := Priority(n)
	if err := v.Validate(); err != nil {
		return err
	}
	*p = v
	return nil
}

// Value stores the priority as an integer; the zero Priority is stored as
// NULL.
func (p Priority) Value() (driver.Value, error) { return nullableInt(int(p)), nil }

// Scan reads an integer column; NULL reads as the zero Priority. A value
// outside 1..5 is an error.
func (p *Priority) Scan(src any) error {
	n, err := scanInt("priority", src)
	if err != nil {
		return err
	}
	v := Priority(n)
	if n != 0 {
		if err := v.Validate(); err != nil {
			return err
		}
	}
	*p = v
	return nil
}

func nullableInt(n int) driver.Value {
	if n == 0 {
		return nil
	}
	return int64(n)
}

func scanInt(what string, src any) (int, error) {
	switch v := src.(type) {
	case nil:
		return 0, nil
	case int64:
		return int(v), nil
	case int32:
		return int(v), nil
	case []byte:
		return strconv.Atoi(string(v))
	case string:
		return strconv.Atoi(v)
	default:
		return 0, fmt.Errorf("itsm: cannot scan %T into %s", src, what)
	}
}
