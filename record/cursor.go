package record

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
)

// Order is the order of List: by one of the header's instants, then by
// ID (bytewise), so that the order is total and stable while records
// arrive. An Order that is not Valid lists nothing.
type Order uint8

const (
	// ByOpened lists by OpenedAt, oldest first (the default).
	ByOpened Order = iota
	// ByResolved lists by ResolvedAt, oldest first; records that are not
	// resolved are left out.
	ByResolved
	// ByClosed lists by ClosedAt, oldest first; records that are not
	// closed are left out.
	ByClosed
)

var orderNames = [...]string{"opened", "resolved", "closed"}

// String returns "opened", "resolved" or "closed", or "Order(N)" for an
// invalid order.
func (o Order) String() string {
	if int(o) < len(orderNames) {
		return orderNames[o]
	}
	return "Order(" + strconv.Itoa(int(o)) + ")"
}

// Valid reports whether o is one of the declared orders.
func (o Order) Valid() bool { return o <= ByClosed }

// MarshalText encodes o as String does; an invalid order is an
// *itsm.ValidationError.
func (o Order) MarshalText() ([]byte, error) {
	if !o.Valid() {
		return nil, itsm.NewValidationError("query", "order", "%s is not a list order", o)
	}
	return []byte(o.String()), nil
}

// UnmarshalText decodes "opened", "resolved" or "closed" (as a list view
// might take from a request); anything else (case matters) is an
// *itsm.ValidationError and leaves o unchanged.
func (o *Order) UnmarshalText(b []byte) error {
	for i, n := range orderNames {
		if string(b) == n {
			*o = Order(i)
			return nil
		}
	}
	return itsm.NewValidationError("query", "order", "%q is not a list order (opened, resolved or closed)", b)
}

// Key returns the instant rec is listed by in order o, and false when rec
// has no such instant (and so is not listed in that order).
func (o Order) Key(rec *Record) (time.Time, bool) {
	var t time.Time
	switch o {
	case ByOpened:
		t = rec.OpenedAt
	case ByResolved:
		t = rec.ResolvedAt
	case ByClosed:
		t = rec.ClosedAt
	}
	return t, !t.IsZero()
}

// Cursor is a position in List order. Its text form (String) is opaque to
// callers; adapters use the fields. It holds any instant of the years 1
// to 9999, to the nanosecond, and any non-empty ID.
type Cursor struct {
	Order Order
	At    time.Time
	ID    string
}

// CursorAt returns the cursor positioned on rec in order o; its At is the
// zero time when rec has no instant in that order.
func CursorAt(o Order, rec *Record) Cursor {
	at, _ := o.Key(rec)
	return Cursor{Order: o, At: at, ID: rec.ID}
}

// String encodes the cursor for Page.Next and Query.After: unpadded
// URL-safe base64, so it needs no escaping in a URL. It encodes any
// cursor, but ParseCursor reads back only those with a valid Order, an
// instant in the years 1 to 9999 (UTC) and a non-empty ID.
func (c Cursor) String() string {
	raw := "1:" + strconv.Itoa(int(c.Order)) + ":" + strconv.FormatInt(c.At.Unix(), 10) + ":" +
		strconv.Itoa(c.At.Nanosecond()) + ":" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// The Unix seconds of the first and the last second of the years 1 to
// 9999 (UTC), the instants a cursor carries.
const (
	minUnix = -62135596800 // 0001-01-01T00:00:00Z
	maxUnix = 253402300799 // 9999-12-31T23:59:59Z
)

// ParseCursor decodes a cursor made by Cursor.String, with At in UTC.
// Anything else (not base64, another version, missing parts, an invalid
// order, nanoseconds outside 0..999999999, an instant outside the years 1
// to 9999, an empty ID) yields an *itsm.ValidationError for field
// "after".
func ParseCursor(s string) (Cursor, error) {
	bad := func() (Cursor, error) {
		return Cursor{}, itsm.NewValidationError("record query", "after", "%q is not a cursor from a previous page", s)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return bad()
	}
	parts := strings.SplitN(string(raw), ":", 5)
	if len(parts) != 5 || parts[0] != "1" || parts[4] == "" {
		return bad()
	}
	o, err1 := strconv.Atoi(parts[1])
	sec, err2 := strconv.ParseInt(parts[2], 10, 64)
	nsec, err3 := strconv.Atoi(parts[3])
	if err1 != nil || err2 != nil || err3 != nil || o < 0 || o > int(ByClosed) || nsec < 0 || nsec > 999_999_999 {
		return bad()
	}
	// The seconds are checked before time.Unix sees them: far outside
	// the range, the year of the instant it makes is not to be trusted.
	if sec < minUnix || sec > maxUnix {
		return bad()
	}
	at := time.Unix(sec, int64(nsec)).UTC()
	if !validInstant(at) {
		return bad()
	}
	return Cursor{Order: Order(o), At: at, ID: parts[4]}, nil
}

// Precedes reports whether the cursor's position comes before rec in its
// order, that is whether rec belongs on a page that starts after c: rec's
// instant is after c.At, or equal to it and rec's ID is bytewise greater
// than c.ID. A record without the order's instant never does.
func (c Cursor) Precedes(rec *Record) bool {
	at, ok := c.Order.Key(rec)
	if !ok {
		return false
	}
	if !at.Equal(c.At) {
		return at.After(c.At)
	}
	return rec.ID > c.ID
}
