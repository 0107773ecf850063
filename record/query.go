package record

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
)

// Query selects records of one kind for List. Zero fields do not filter;
// set fields combine with AND, and the values within one slice with OR.
// Text filters compare exactly (case-sensitively), except Text. Match
// states the semantics exactly; Schema.CheckQuery states what is refused.
type Query struct {
	// Kind is the kind to list; it is required and must be declared.
	Kind string
	// States keeps records in one of these states; each must be a state
	// of the kind.
	States []string
	// StateCategories keeps records whose state is in one of these
	// categories.
	StateCategories []itsm.StateCategory
	Priorities      []itsm.Priority
	Assignee        string
	AssignmentGroup string
	Service         string
	// ConfigItem keeps records whose ConfigItems include it.
	ConfigItem string
	Category   string
	// Requester keeps records whose Requester.ID is it.
	Requester string
	// Parent keeps the children of the record it names: it needs both a
	// kind and an ID.
	Parent Ref
	// Major, when set, keeps records whose Major flag equals *Major.
	Major *bool
	// Opened, Resolved and Closed keep records whose instant lies in the
	// range; a set range leaves out records without that instant. Both
	// ends must lie in the years 1 to 9999, From before To.
	Opened, Resolved, Closed Range
	// Attrs filters on declared attributes.
	Attrs []AttrFilter
	// SLA filters on the SLA summary.
	SLA SLAFilter
	// Now is the instant the SLA filter is judged at; services set it from
	// their clock. It is required when SLA.Breached or SLA.AtRisk is set,
	// and ignored otherwise.
	Now time.Time
	// Text keeps records whose number, title or description contains it,
	// ignoring case as ContainsFold does; at most MaxTextFilter bytes of
	// valid UTF-8 without NUL bytes.
	Text string
	// Order is the list order; default ByOpened. Records without the
	// order's instant are left out (see Order).
	Order Order
	// Limit caps the page size; 0 means DefaultPageSize and values above
	// MaxPageSize are lowered to it.
	Limit int
	// After is the cursor from a previous Page.Next of a query in the same
	// order; empty starts at the beginning. Pass the other filters
	// unchanged: the cursor records only a position.
	After string
}

// Range is a half-open range of instants [From, To); a zero end is open,
// so the zero Range filters nothing.
type Range struct {
	From, To time.Time
}

// IsZero reports whether the range filters nothing.
func (r Range) IsZero() bool { return r.From.IsZero() && r.To.IsZero() }

// Contains reports whether t is set (not the zero time) and lies in the
// range: not before From, before To. A zero t is never contained, not
// even in the zero Range.
func (r Range) Contains(t time.Time) bool {
	if t.IsZero() {
		return false
	}
	return (r.From.IsZero() || !t.Before(r.From)) && (r.To.IsZero() || t.Before(r.To))
}

// AttrFilter filters on one declared attribute. In keeps records whose
// value is one of In (Value.Equal: of the attribute's type, decimals in
// canonical form); Min and Max (inclusive, zero for open) keep records
// whose value lies between them (Value.Compare), for integer and time
// attributes only. A filter needs In, Min or Max; set together, all must
// hold. A record without the attribute never matches a filter on it.
type AttrFilter struct {
	Name string
	In   []Value
	Min  Value
	Max  Value
}

// SLAFilter filters on a record's SLA timers (Record.SLA). Metric and
// PolicyKinds narrow the timers looked at; Breached asks that one of those
// timers is breached at Query.Now (TimerSummary.BreachedBy), AtRisk that
// one is at risk then (TimerSummary.AtRiskBy). A timer at risk is not
// breached, so CheckQuery refuses both flags together. With neither flag
// set, a set Metric or PolicyKinds keeps records that have such a timer,
// in any stage.
type SLAFilter struct {
	Breached    bool
	AtRisk      bool
	Metric      sla.Metric
	PolicyKinds []sla.PolicyKind
}

// IsZero reports whether the filter filters nothing.
func (f SLAFilter) IsZero() bool {
	return !f.Breached && !f.AtRisk && f.Metric == "" && len(f.PolicyKinds) == 0
}

// Page is one page of List results, in the query's order.
type Page struct {
	Records []*Record
	// Next is the cursor for the following page; empty on the last page.
	Next string
}

// Page size bounds for Query.Limit.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
	// MaxTextFilter is the longest Text filter, in bytes.
	MaxTextFilter = 256
)

// PageSize returns the effective page size of q: DefaultPageSize for a
// Limit of 0 or less, MaxPageSize for a Limit above it, Limit otherwise.
func (q Query) PageSize() int {
	switch {
	case q.Limit <= 0:
		return DefaultPageSize
	case q.Limit > MaxPageSize:
		return MaxPageSize
	default:
		return q.Limit
	}
}

// NewPage returns the page of q made of recs: the records that match q,
// in q's order, from just after q.After. Adapters fetch up to
// q.PageSize()+1 of them, so that one more than the page size tells that a
// next page exists; NewPage then drops it and sets Next to the cursor on
// the page's last record. Otherwise Records is recs as given (nil stays
// nil) and Next is empty. The page shares recs' backing array.
func NewPage(q Query, recs []*Record) Page {
	var page Page
	if size := q.PageSize(); len(recs) > size {
		recs = recs[:size]
		page.Next = CursorAt(q.Order, recs[size-1]).String()
	}
	page.Records = recs
	return page
}

// Match reports whether rec, with its SLA summary, satisfies every filter
// of q other than paging: it is of q's kind, has the instant of q's
// Order, and passes each set filter. It does not check q; a query that
// Schema.CheckQuery refuses may match anything or nothing. The memory
// store filters with it; the SQL stores express the same rules in SQL,
// and storagetest checks they agree.
func (q Query) Match(rec *Record) bool {
	if rec.Kind != q.Kind {
		return false
	}
	if _, ok := q.Order.Key(rec); !ok {
		return false
	}
	if len(q.States) > 0 && !slices.Contains(q.States, rec.State) ||
		len(q.StateCategories) > 0 && !slices.Contains(q.StateCategories, rec.StateCategory) ||
		len(q.Priorities) > 0 && !slices.Contains(q.Priorities, rec.Priority) ||
		q.Assignee != "" && rec.Assignee != q.Assignee ||
		q.AssignmentGroup != "" && rec.AssignmentGroup != q.AssignmentGroup ||
		q.Service != "" && rec.Service != q.Service ||
		q.ConfigItem != "" && !slices.Contains(rec.ConfigItems, q.ConfigItem) ||
		q.Category != "" && rec.Category != q.Category ||
		q.Requester != "" && rec.Requester.ID != q.Requester ||
		!q.Parent.IsZero() && rec.Parent != q.Parent ||
		q.Major != nil && rec.Major != *q.Major {
		return false
	}
	if !q.Opened.IsZero() && !q.Opened.Contains(rec.OpenedAt) ||
		!q.Resolved.IsZero() && !q.Resolved.Contains(rec.ResolvedAt) ||
		!q.Closed.IsZero() && !q.Closed.Contains(rec.ClosedAt) {
		return false
	}
	for _, f := range q.Attrs {
		if !f.match(rec.Attrs) {
			return false
		}
	}
	if !q.SLA.IsZero() && !q.SLA.match(rec.SLA, q.Now) {
		return false
	}
	if q.Text != "" && !ContainsFold(rec.Number, q.Text) && !ContainsFold(rec.Title, q.Text) && !ContainsFold(rec.Description, q.Text) {
		return false
	}
	return true
}

func (f AttrFilter) match(attrs map[string]Value) bool {
	v, ok := attrs[f.Name]
	if !ok {
		return false
	}
	if len(f.In) > 0 && !slices.Contains(f.In, v) {
		return false
	}
	if !f.Min.IsZero() && v.Compare(f.Min) < 0 || !f.Max.IsZero() && v.Compare(f.Max) > 0 {
		return false
	}
	return true
}

// Timer reports whether the filter's Metric and PolicyKinds select t.
func (f SLAFilter) Timer(t TimerSummary) bool {
	return (f.Metric == "" || t.Metric == f.Metric) && (len(f.PolicyKinds) == 0 || slices.Contains(f.PolicyKinds, t.PolicyKind))
}

func (f SLAFilter) match(s Summary, now time.Time) bool {
	for _, t := range s {
		if !f.Timer(t) {
			continue
		}
		if f.Breached && !t.BreachedBy(now) || f.AtRisk && !t.AtRiskBy(now) {
			continue
		}
		return true
	}
	return false
}

// ContainsFold reports whether s contains sub, ignoring case: whether
// strings.ToLower(s) contains strings.ToLower(sub). That is rune-wise
// lower-casing, not full Unicode case folding ("STRASSE" does not contain
// "ß"). An empty sub is contained in every s. It is the Text filter's
// rule.
func ContainsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// CheckQuery checks q against the schema of its kind: the kind is the
// schema's, the states are the kind's, the categories and priorities
// valid, a parent has both a well-formed kind and an ID, the ranges are
// not inverted or empty and lie in the years 1 to 9999, the attributes are
// declared, each filter has values of its type (ranges only on integer and
// time attributes), Now is set for the SLA flags and not both flags are,
// the policy kinds are valid, the metric is valid UTF-8 of at most
// MaxIDLen bytes without NUL, the text valid UTF-8 within MaxTextFilter
// without NUL, the order valid, the limit not negative and the cursor one
// of the same order. It reports every problem at once as an
// *itsm.ValidationError (fields "states[i]", "attrs[i].in[j]",
// "sla.policy_kinds[i]", "after", ...), so that an unknown state or
// attribute is an error rather than an empty page.
func (s *Schema) CheckQuery(q Query) error {
	v := &itsm.ValidationError{Subject: s.def.Kind + " query"}
	if q.Kind != s.def.Kind {
		v.Add("kind", "is %q, not %q", q.Kind, s.def.Kind)
	}
	for i, st := range q.States {
		if _, ok := s.states[st]; !ok {
			v.Add("states["+strconv.Itoa(i)+"]", "%q is not a state of %s records", st, s.def.Kind)
		}
	}
	for i, c := range q.StateCategories {
		if !c.Valid() {
			v.Add("state_categories["+strconv.Itoa(i)+"]", "%d is not a state category", c)
		}
	}
	for i, p := range q.Priorities {
		if !p.Valid() {
			v.Add("priorities["+strconv.Itoa(i)+"]", "%d is outside 1..5", int(p))
		}
	}
	if (q.Parent.Kind == "") != (q.Parent.ID == "") {
		v.Add("parent", "needs both a kind and an ID, or neither")
	}
	if q.Parent.Kind != "" && !validName(q.Parent.Kind) {
		v.Add("parent.kind", "%q is not a kind name", q.Parent.Kind)
	}
	for _, r := range []struct {
		name string
		r    Range
	}{{"opened", q.Opened}, {"resolved", q.Resolved}, {"closed", q.Closed}} {
		if !r.r.From.IsZero() && !r.r.To.IsZero() && !r.r.From.Before(r.r.To) {
			v.Add(r.name, "from must lie before to")
		}
		if !r.r.From.IsZero() && !validInstant(r.r.From) || !r.r.To.IsZero() && !validInstant(r.r.To) {
			v.Add(r.name, "lies outside the years 1 to 9999 (UTC)")
		}
	}
	for i, f := range q.Attrs {
		at := "attrs[" + strconv.Itoa(i) + "]"
		a, ok := s.Attribute(f.Name)
		if !ok {
			v.Add(at+".name", "%q is not an attribute of %s records", f.Name, s.def.Kind)
			continue
		}
		if len(f.In) == 0 && f.Min.IsZero() && f.Max.IsZero() {
			v.Add(at, "needs values (in) or a range (min, max)")
		}
		for j, val := range f.In {
			if msg := checkValue(a, val); msg != "" {
				v.Add(at+".in["+strconv.Itoa(j)+"]", "%s", msg)
			}
		}
		for _, b := range []struct {
			name string
			val  Value
		}{{"min", f.Min}, {"max", f.Max}} {
			if b.val.IsZero() {
				continue
			}
			if !a.Type.Ordered() {
				v.Add(at+"."+b.name, "a %s attribute has no ranges", a.Type)
			} else if msg := checkValue(a, b.val); msg != "" {
				v.Add(at+"."+b.name, "%s", msg)
			}
		}
	}
	if (q.SLA.Breached || q.SLA.AtRisk) && q.Now.IsZero() {
		v.Add("now", "must be set to judge breached or at-risk timers")
	}
	if q.SLA.Breached && q.SLA.AtRisk {
		// A timer at risk is by definition not breached, so together
		// the flags would always give an empty page.
		v.Add("sla", "breached and at risk exclude each other; ask for one of them")
	}
	for i, k := range q.SLA.PolicyKinds {
		if k > sla.KindUC {
			v.Add("sla.policy_kinds["+strconv.Itoa(i)+"]", "%d is not a policy kind", k)
		}
	}
	if msg := textProblem(string(q.SLA.Metric), MaxIDLen); msg != "" {
		v.Add("sla.metric", "%s", msg)
	}
	switch {
	case !utf8.ValidString(q.Text):
		v.Add("text", "is not valid UTF-8")
	case len(q.Text) > MaxTextFilter:
		v.Add("text", "is longer than %d bytes", MaxTextFilter)
	case strings.IndexByte(q.Text, 0) >= 0:
		v.Add("text", "contains a NUL byte")
	}
	if !q.Order.Valid() {
		v.Add("order", "%d is not an order", q.Order)
	}
	if q.Limit < 0 {
		v.Add("limit", "must not be negative")
	}
	if q.After != "" {
		if c, err := ParseCursor(q.After); err != nil {
			v.Add("after", "%q is not a cursor from a previous page", q.After)
		} else if c.Order != q.Order {
			v.Add("after", "is a cursor of the %s order, not of the %s order", c.Order, q.Order)
		}
	}
	return v.Err()
}
