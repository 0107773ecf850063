package record

import (
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/itsmkit/itsmkit/itsm"
)

// Ref names one record: its kind and its ID. IDs are unique within a
// kind; two kinds may use the same ID.
type Ref struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// IsZero reports whether r names no record.
func (r Ref) IsZero() bool { return r == Ref{} }

// String returns "kind/id", or "" for the zero Ref.
func (r Ref) String() string {
	if r.IsZero() {
		return ""
	}
	return r.Kind + "/" + r.ID
}

// Header holds the fields every work record has. Stores keep them as
// indexed columns, derived from the record's document when it is written.
type Header struct {
	// Kind is the record kind, such as "incident".
	Kind string `json:"kind"`
	// ID is the stable identifier, unique within the kind.
	ID string `json:"id"`
	// Number is the human reference, such as "INC0001001", unique within
	// the kind.
	Number      string `json:"number"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// State is the lifecycle state; StateCategory its category, which
	// cross-kind views, metrics and SLA rules use instead of state names.
	State         string             `json:"state"`
	StateCategory itsm.StateCategory `json:"state_category"`
	// Impact, Urgency and Priority are zero when not set; a set priority
	// lies in 1..5, impact and urgency are positive (their scale is the
	// practice's priority matrix).
	Impact   itsm.Impact   `json:"impact,omitempty"`
	Urgency  itsm.Urgency  `json:"urgency,omitempty"`
	Priority itsm.Priority `json:"priority,omitempty"`
	// Requester is who asked for the work (the caller of an incident).
	Requester       itsm.Actor `json:"requester"`
	AssignmentGroup string     `json:"assignment_group,omitempty"`
	Assignee        string     `json:"assignee,omitempty"`
	// Watchers are notified of changes; they cannot be filtered on.
	Watchers []string `json:"watchers,omitempty"`
	// Service names the affected business or technical service.
	Service string `json:"service,omitempty"`
	// ConfigItems names the affected configuration items, in order.
	ConfigItems []string `json:"config_items,omitempty"`
	Category    string   `json:"category,omitempty"`
	// Parent is the record this one is a child of (a child incident, a
	// request item of a request); the zero Ref means none. Children are
	// found with Query.Parent.
	Parent Ref `json:"parent,omitzero"`
	// Major flags a major record, such as a major incident.
	Major bool `json:"major,omitempty"`
	// OpenedAt, UpdatedAt, ResolvedAt and ClosedAt are the record's
	// instants; the zero time means not (yet) set, and OpenedAt is
	// required. Set instants lie in the years 1 to 9999 (UTC); documents
	// keep them in UTC to the nanosecond.
	OpenedAt   time.Time `json:"opened_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	ClosedAt   time.Time `json:"closed_at,omitzero"`
	// Version counts stored changes from 1; an update based on an older
	// version fails with itsm.ErrConflict.
	Version int64 `json:"version"`
}

// Ref returns the header's kind and ID.
func (h *Header) Ref() Ref { return Ref{Kind: h.Kind, ID: h.ID} }

// Record is one work record of any kind: the shared header, the declared
// custom attributes and the kind's own fields as JSON.
type Record struct {
	Header
	// Attrs holds the custom attributes the kind's Schema declares.
	Attrs map[string]Value `json:"attrs,omitempty"`
	// Body holds the kind's own fields, encoded by its codec; empty or
	// null means none. It must be valid JSON in valid UTF-8 (CheckKeys).
	// Stores keep its meaning, not its bytes: Document compacts it and
	// escapes HTML characters, so a read returns the body as Document
	// wrote it.
	Body json.RawMessage `json:"body,omitempty"`
	// SLA summarises the record's SLA timers in the order they were
	// first saved. Stores fill it on every read (Get, GetByNumber, List)
	// from the timers' derived fields; it is not part of the stored
	// document and Create and Update ignore it.
	SLA Summary `json:"-"`
}

// Clone returns a deep copy (slices, maps, body and SLA summary), so
// stores and callers never share memory; nil gives nil. Attribute Values
// are immutable and copied as they are.
func (r *Record) Clone() *Record {
	if r == nil {
		return nil
	}
	c := *r
	c.Requester.Roles = slices.Clone(r.Requester.Roles)
	c.Watchers = slices.Clone(r.Watchers)
	c.ConfigItems = slices.Clone(r.ConfigItems)
	c.Attrs = maps.Clone(r.Attrs)
	c.Body = slices.Clone(r.Body)
	c.SLA = slices.Clone(r.SLA)
	return &c
}

// Document returns the record's canonical JSON document, as stores keep
// it: the header, the attributes and the body, without the SLA summary.
// Instants are written in UTC to the nanosecond (RFC 3339), so that no
// zone offset is rounded (RFC 3339 has no seconds in offsets, which old
// dates in named zones have) and the years 1 to 9999 always encode. The
// body is compacted, and encoding/json escapes "<", ">", "&", U+2028 and
// U+2029 in it; its meaning is unchanged. Document fails for a record
// that CheckKeys or its Schema's Check would refuse in ways JSON cannot
// carry, such as a zero attribute Value or an invalid body; it succeeds
// for every record that passes both.
func (r *Record) Document() ([]byte, error) {
	d := *r
	d.OpenedAt, d.UpdatedAt = d.OpenedAt.UTC(), d.UpdatedAt.UTC()
	d.ResolvedAt, d.ClosedAt = d.ResolvedAt.UTC(), d.ClosedAt.UTC()
	return json.Marshal(&d)
}

// ParseDocument decodes a document made by Record.Document; its instants
// are in UTC. It checks only that the JSON fits a Record (encoding/json
// rules: unknown keys are ignored, keys match case-insensitively, invalid
// UTF-8 in strings becomes U+FFFD); run CheckKeys and Schema.Check on the
// result before trusting it.
func ParseDocument(doc []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(doc, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// MaxIDLen is the longest ID, number, state, actor ID or name, role,
// group, service, category or configuration item, in bytes. The sizes of
// titles, descriptions, bodies and journals are limits of their kind (see
// Limits).
const MaxIDLen = 255

// CheckKeys checks what any store needs to keep rec, whatever its kind:
// rec is not nil, has a well-formed kind, an ID and a number, a state
// with a valid category, an opening instant; all text is valid UTF-8
// without NUL bytes, keys and names within MaxIDLen bytes, title and
// description within MaxTextLimit (the limits of rec's kind are its
// Schema's to check, see Limits.CheckRecord); a parent names both a well-formed kind and an ID
// and is not rec itself; impact and urgency are not negative and a set
// priority lies in 1..5; every set instant lies in the years 1 to 9999 in
// UTC; and a body is valid JSON in UTF-8 that escapes no NUL character
// and no unpaired surrogate. It reports every problem at once as an
// *itsm.ValidationError with fields named as in the JSON document
// ("id", "requester.id", "config_items[2]", ...). Stores call it in
// Create and Update, before checking rec against its kind's Schema
// (Schema.Check). A record that passes both encodes with Document.
func CheckKeys(rec *Record) error {
	if rec == nil {
		return itsm.NewValidationError("record", "record", "must not be nil")
	}
	v := &itsm.ValidationError{Subject: rec.Kind}
	if rec.Kind == "" {
		v.Subject = "record"
	}
	if !validName(rec.Kind) {
		v.Add("kind", "%q is not a kind name", rec.Kind)
	}
	text := func(field, s string, max int, required bool) {
		if required && s == "" {
			v.Add(field, "must not be empty")
		} else if msg := textProblem(s, max); msg != "" {
			v.Add(field, "%s", msg)
		}
	}
	text("id", rec.ID, MaxIDLen, true)
	text("number", rec.Number, MaxIDLen, true)
	text("title", rec.Title, MaxTextLimit, false)
	text("description", rec.Description, MaxTextLimit, false)
	text("state", rec.State, MaxIDLen, true)
	for _, f := range []struct{ name, val string }{
		{"requester.id", rec.Requester.ID}, {"requester.name", rec.Requester.Name},
		{"assignment_group", rec.AssignmentGroup}, {"assignee", rec.Assignee},
		{"service", rec.Service}, {"category", rec.Category},
		{"parent.id", rec.Parent.ID},
	} {
		text(f.name, f.val, MaxIDLen, false)
	}
	for i, r := range rec.Requester.Roles {
		text("requester.roles["+strconv.Itoa(i)+"]", string(r), MaxIDLen, true)
	}
	for i, s := range rec.ConfigItems {
		text("config_items["+strconv.Itoa(i)+"]", s, MaxIDLen, true)
	}
	for i, s := range rec.Watchers {
		text("watchers["+strconv.Itoa(i)+"]", s, MaxIDLen, true)
	}
	if rec.Parent.Kind != "" && !validName(rec.Parent.Kind) {
		v.Add("parent.kind", "%q is not a kind name", rec.Parent.Kind)
	}
	if (rec.Parent.Kind == "") != (rec.Parent.ID == "") {
		v.Add("parent", "needs both a kind and an ID, or neither")
	}
	if rec.Impact < 0 {
		v.Add("impact", "%d is negative", int(rec.Impact))
	}
	if rec.Urgency < 0 {
		v.Add("urgency", "%d is negative", int(rec.Urgency))
	}
	if rec.Priority != 0 && !rec.Priority.Valid() {
		v.Add("priority", "%d is outside 1..5", int(rec.Priority))
	}
	if rec.Parent == rec.Ref() && !rec.Parent.IsZero() {
		v.Add("parent", "a record cannot be its own parent")
	}
	if !rec.StateCategory.Valid() {
		v.Add("state_category", "must be set")
	}
	if rec.OpenedAt.IsZero() {
		v.Add("opened_at", "must be set")
	}
	for _, t := range []struct {
		name string
		at   time.Time
	}{{"opened_at", rec.OpenedAt}, {"updated_at", rec.UpdatedAt}, {"resolved_at", rec.ResolvedAt}, {"closed_at", rec.ClosedAt}} {
		if !t.at.IsZero() && !validInstant(t.at) {
			v.Add(t.name, "lies outside the years 1 to 9999 (UTC)")
		}
	}
	switch {
	case len(rec.Body) == 0:
	case !json.Valid(rec.Body):
		v.Add("body", "is not valid JSON")
	case !utf8.Valid(rec.Body):
		v.Add("body", "is not valid UTF-8")
	case badJSONEscape(rec.Body):
		v.Add("body", "escapes a NUL character or an unpaired surrogate")
	}
	return v.Err()
}

// Check checks rec against the schema. First its title, description and
// body must be within the kind's limits (Limits.CheckRecord with
// Schema.Limits): otherwise the error is an *itsm.LimitError for the
// first field over its limit, and nothing else is checked. Then its kind
// must be the schema's, its state one of the kind's with that state's
// category, and its attributes declared and well typed (see CheckAttrs);
// every problem of these is reported at once as an *itsm.ValidationError
// (fields "kind", "state", "state_category", "attrs.<name>"). A nil rec
// is an *itsm.ValidationError too. Call CheckKeys first for the checks
// that do not depend on the kind.
func (s *Schema) Check(rec *Record) error {
	if rec == nil {
		return itsm.NewValidationError(s.def.Kind, "record", "must not be nil")
	}
	if err := s.def.Limits.CheckRecord(rec); err != nil {
		return err
	}
	v := &itsm.ValidationError{Subject: s.def.Kind}
	if rec.Kind != s.def.Kind {
		v.Add("kind", "is %q, not %q", rec.Kind, s.def.Kind)
	}
	if c, ok := s.states[rec.State]; !ok {
		v.Add("state", "%q is not a state of %s records", rec.State, s.def.Kind)
	} else if c != rec.StateCategory {
		v.Add("state_category", "state %q is %s, not %s", rec.State, c, rec.StateCategory)
	}
	s.checkAttrs(v, rec.Attrs)
	return v.Err()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// validInstant reports whether t lies in the years 1 to 9999 in UTC, the
// instants every store keeps and every cursor carries.
func validInstant(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1 && y <= 9999
}

// textProblem says what is wrong with s as stored text of at most max
// bytes (invalid UTF-8, too long, a NUL byte, which PostgreSQL refuses in
// text and JSON), or returns "".
func textProblem(s string, max int) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case len(s) > max:
		return "is longer than " + strconv.Itoa(max) + " bytes"
	case strings.IndexByte(s, 0) >= 0:
		return "contains a NUL byte"
	}
	return ""
}

// idProblem says what is wrong with s as an ID, a kind-independent key of
// 1 to MaxIDLen bytes, or returns "".
func idProblem(s string) string {
	if s == "" || len(s) > MaxIDLen {
		return "must be 1 to " + strconv.Itoa(MaxIDLen) + " bytes"
	}
	return textProblem(s, MaxIDLen)
}

// badJSONEscape reports whether b, which must be valid JSON, escapes a NUL
// character (\u0000) or a UTF-16 surrogate that is not part of a pair:
// PostgreSQL refuses both in JSON, and encoding/json silently replaces a
// lone surrogate with U+FFFD.
func badJSONEscape(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		// In valid JSON a backslash only starts an escape in a string;
		// \u is followed by four hex digits.
		i++
		if b[i] != 'u' {
			continue
		}
		r := hex4(b[i+1 : i+5])
		i += 4
		switch {
		case r == 0, r >= 0xDC00 && r <= 0xDFFF:
			return true
		case r >= 0xD800 && r <= 0xDBFF:
			if i+6 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
				return true
			}
			if lo := hex4(b[i+3 : i+7]); lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 6
		}
	}
	return false
}

func hex4(b []byte) rune {
	n, err := strconv.ParseUint(string(b), 16, 16)
	if err != nil {
		return -1
	}
	return rune(n)
}
