package itsm

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// StateCategory groups the states of any lifecycle into six kinds that mean
// the same for every record type, so that cross-kind views ("my open
// work"), metrics and SLA rules can be written once without knowing the
// state names of each lifecycle. Every state of a Lifecycle has exactly one
// category, declared in Definition.Categories.
//
// The zero value means "not set" and is not a valid category.
type StateCategory uint8

// The six state categories, in the order a record usually passes through
// them.
const (
	// CategoryNew is a record that has been logged but not yet worked on,
	// such as a new, unassigned incident.
	CategoryNew StateCategory = iota + 1
	// CategoryActive is a record being worked on.
	CategoryActive
	// CategoryPending is a record waiting on someone or something outside
	// the team (the caller, a supplier, a change window), such as
	// "on hold".
	CategoryPending
	// CategoryResolved is a record whose work is done but which may still
	// be reopened, such as a resolved incident awaiting confirmation. It
	// is neither Open nor Terminal.
	CategoryResolved
	// CategoryClosed is a record that was completed and is final. Only
	// terminal states may have it.
	CategoryClosed
	// CategoryCancelled is a record abandoned without completing its work
	// (withdrawn, a duplicate, logged in error). Only terminal states may
	// have it.
	CategoryCancelled
)

// minCategory and maxCategory bound the valid categories.
const (
	minCategory = CategoryNew
	maxCategory = CategoryCancelled
)

var categoryNames = [...]string{"", "new", "active", "pending", "resolved", "closed", "cancelled"}

// StateCategories returns every valid category in order, from CategoryNew
// to CategoryCancelled. The slice is new on each call, so the caller may
// change it.
func StateCategories() []StateCategory {
	out := make([]StateCategory, 0, maxCategory-minCategory+1)
	for c := minCategory; c <= maxCategory; c++ {
		out = append(out, c)
	}
	return out
}

// ParseStateCategory reads a category from its text form, as
// UnmarshalText does: "new", "active", "pending", "resolved", "closed" or
// "cancelled", in any case and with surrounding white space ignored, and
// "canceled" as an alias of "cancelled". Anything else, the empty string
// included, returns 0 and a *ValidationError matching ErrValidation.
func ParseStateCategory(s string) (StateCategory, error) {
	t := strings.TrimSpace(s)
	for c := minCategory; c <= maxCategory; c++ {
		if strings.EqualFold(t, categoryNames[c]) {
			return c, nil
		}
	}
	if strings.EqualFold(t, "canceled") {
		return CategoryCancelled, nil
	}
	return 0, NewValidationError("state category", "category",
		"%q is not a state category (new, active, pending, resolved, closed, cancelled)", t)
}

// Valid reports whether c is one of the six categories; it is false for
// the zero value.
func (c StateCategory) Valid() bool { return c >= minCategory && c <= maxCategory }

// validate returns a *ValidationError for field "category" unless c is
// valid.
func (c StateCategory) validate() error {
	if c.Valid() {
		return nil
	}
	return NewValidationError("state category", "category", "%d is outside %d..%d", int(c), int(minCategory), int(maxCategory))
}

// String returns the lower-case text form ("new" … "cancelled"; always the
// British spelling), or "category(N)" for an invalid value such as the
// zero one.
func (c StateCategory) String() string {
	if c.Valid() {
		return categoryNames[c]
	}
	return "category(" + strconv.Itoa(int(c)) + ")"
}

// Terminal reports whether c is a category of terminal states: closed or
// cancelled. It is false for an invalid category.
func (c StateCategory) Terminal() bool { return c == CategoryClosed || c == CategoryCancelled }

// Open reports whether work on a record in c is still outstanding: new,
// active or pending. It is false for resolved (the work is done, though
// the record may be reopened), for the terminal categories and for an
// invalid category.
func (c StateCategory) Open() bool { return c >= CategoryNew && c <= CategoryPending }

// MarshalText encodes a valid category by its text form and refuses an
// invalid one, the zero value included, so nothing unreadable is ever
// written.
func (c StateCategory) MarshalText() ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	return []byte(categoryNames[c]), nil
}

// UnmarshalText accepts what ParseStateCategory accepts. On error c is left
// unchanged.
func (c *StateCategory) UnmarshalText(b []byte) error {
	v, err := ParseStateCategory(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Value stores the category as its text form, such as "pending". Unlike
// Priority, which stores its zero value as NULL, an invalid category
// (including the zero value) is an error: every state has a category, so
// there is nothing to store as NULL. Use sql.Null[StateCategory] for a
// nullable column.
func (c StateCategory) Value() (driver.Value, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	return categoryNames[c], nil
}

// Scan reads a text column (string or []byte) in any form UnmarshalText
// accepts. Text that is not a category is a *ValidationError; NULL and
// other types are errors too. On error c is left unchanged.
func (c *StateCategory) Scan(src any) error {
	var text string
	switch v := src.(type) {
	case string:
		text = v
	case []byte:
		text = string(v)
	case nil:
		return errors.New("itsm: cannot scan NULL into state category")
	default:
		return fmt.Errorf("itsm: cannot scan %T into state category", src)
	}
	v, err := ParseStateCategory(text)
	if err != nil {
		return err
	}
	*c = v
	return nil
}
