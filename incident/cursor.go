package incident

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
)

// Cursor is a position in List order. Incidents are listed by OpenedAt,
// then by ID, so the order is total and stable while new incidents arrive.
// Its text form is opaque to callers; adapters use the fields.
type Cursor struct {
	OpenedAt time.Time
	ID       string
}

// CursorAfter returns the cursor positioned on inc, for Page.Next.
func CursorAfter(inc *Incident) Cursor { return Cursor{OpenedAt: inc.OpenedAt, ID: inc.ID} }

// NewPage returns the page of q made of incs: the incidents that match q,
// in List order, from just after q.After. Adapters fetch up to
// q.PageSize()+1 of them, so that one more than the page size tells that
// a next page exists; NewPage then drops it and sets Next to the cursor
// on the page's last incident. The page shares incs' backing array.
func NewPage(q Query, incs []*Incident) Page {
	var page Page
	if size := q.PageSize(); len(incs) > size {
		incs = incs[:size]
		page.Next = CursorAfter(incs[size-1]).String()
	}
	page.Incidents = incs
	return page
}

// String encodes the cursor for Page.Next and Query.After.
func (c Cursor) String() string {
	raw := strconv.FormatInt(c.OpenedAt.UnixNano(), 10) + ":" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// ParseCursor decodes a cursor made by Cursor.String. Anything else yields
// an *itsm.ValidationError for field "after".
func ParseCursor(s string) (Cursor, error) {
	bad := func() (Cursor, error) {
		return Cursor{}, itsm.NewValidationError("incident query", "after", "%q is not a cursor from a previous page", s)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return bad()
	}
	nanos, id, ok := strings.Cut(string(raw), ":")
	if !ok || id == "" {
		return bad()
	}
	n, err := strconv.ParseInt(nanos, 10, 64)
	if err != nil {
		return bad()
	}
	return Cursor{OpenedAt: time.Unix(0, n).UTC(), ID: id}, nil
}

// Precedes reports whether the cursor's position comes before inc in List
// order, that is whether inc belongs on a page that starts after c.
func (c Cursor) Precedes(inc *Incident) bool {
	if !inc.OpenedAt.Equal(c.OpenedAt) {
		return inc.OpenedAt.After(c.OpenedAt)
	}
	return inc.ID > c.ID
}
