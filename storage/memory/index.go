package memory

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/btree"

	"github.com/itsmkit/itsmkit/record"
)

// field names what an index entry indexes.
type field uint8

const (
	fieldAll field = iota // every record of the kind
	fieldState
	fieldStateCategory
	fieldPriority
	fieldAssignee
	fieldGroup
	fieldService
	fieldConfigItem
	fieldCategory
	fieldRequester
	fieldParent
	fieldMajor
	fieldMetric     // the metrics of the record's timers
	fieldPolicyKind // the policy kinds of the record's timers
	fieldAttr       // a custom attribute, whose name is part of the key
)

// entry is one record in one index of its kind, in list order (at, id).
// The index is named by key (see indexKey): for one list order, the
// records whose field (or attribute) has one value. A record is in an
// order's indexes only when it has the order's instant.
type entry struct {
	key string
	at  time.Time
	id  string
}

// indexKey returns the key of the index of order o for field f (and
// attribute name, for fieldAttr) with value v: a string that no other
// index shares, so that indexes compare with one string comparison.
// Only equality matters, not the order of values.
func indexKey(o record.Order, f field, name string, v record.Value) string {
	return string(appendKey(nil, o, f, name, v))
}

func appendKey(b []byte, o record.Order, f field, name string, v record.Value) []byte {
	b = append(b, byte(o), byte(f))
	b = append(b, name...)
	b = append(b, 0) // names hold no NUL
	if s, ok := v.Str(); ok {
		return append(append(b, 's'), s...)
	}
	if n, ok := v.Int(); ok {
		return strconv.AppendInt(append(b, 'i'), n, 10)
	}
	if t, ok := v.Bool(); ok {
		return strconv.AppendBool(append(b, 'b'), t)
	}
	return b
}

func cmpEntry(a, b *entry) int {
	if c := strings.Compare(a.key, b.key); c != 0 {
		return c
	}
	return cmpAt(a.at, a.id, b.at, b.id)
}

func entryLess(a, b *entry) bool { return cmpEntry(a, b) < 0 }

// count is the number of entries of the index key.
type count struct {
	key string
	n   int
}

func countLess(a, b *count) bool { return a.key < b.key }

// kindIndex holds the List indexes of one kind: the entries of every
// equality index in one btree, the size of each index, so that List can
// pick the smallest index that a query's filters allow, and for each
// order the treap of the records the SLA filters may select (see
// slatree.go).
type kindIndex struct {
	entries *btree.BTreeG[*entry] // items are never changed once stored
	counts  *btree.BTreeG[*count] // items are never changed once stored
	sla     [3]*slaNode           // by record.Order
}

func newKindIndex() *kindIndex {
	return &kindIndex{entries: newTree(entryLess), counts: newTree(countLess)}
}

func (ix *kindIndex) clone() *kindIndex {
	return &kindIndex{entries: ix.entries.Clone(), counts: ix.counts.Clone(), sla: ix.sla}
}

// size returns the number of entries of the index key.
func (ix *kindIndex) size(key string) int {
	if c, ok := ix.counts.Get(&count{key: key}); ok {
		return c.n
	}
	return 0
}

// add inserts e (delta 1) or deletes it (delta -1) and counts it.
func (ix *kindIndex) add(e *entry, delta int) {
	c := &count{key: e.key}
	if old, ok := ix.counts.Get(c); ok {
		c.n = old.n
	}
	if c.n += delta; c.n == 0 {
		ix.counts.Delete(c)
	} else {
		ix.counts.ReplaceOrInsert(c)
	}
	if delta > 0 {
		ix.entries.ReplaceOrInsert(e)
	} else {
		ix.entries.Delete(e)
	}
}

// update replaces the index entries of old (a record as stored) with
// those of new (the record as it is to be stored, with its SLA summary).
// Either may be nil.
func (ix *kindIndex) update(oldRec, newRec *record.Record) {
	ix.updateSLA(oldRec, newRec)
	ix.updateEntries(entriesOf(oldRec, headerValues(oldRec)), entriesOf(newRec, headerValues(newRec)))
}

// updateSummary is update for a new record that differs from old only in
// its SLA summary.
func (ix *kindIndex) updateSummary(oldRec, newRec *record.Record) {
	ix.updateSLA(oldRec, newRec)
	ix.updateEntries(entriesOf(oldRec, timerValues(nil, oldRec)), entriesOf(newRec, timerValues(nil, newRec)))
}

// updateSLA replaces the SLA treap nodes of old with those of new.
func (ix *kindIndex) updateSLA(oldRec, newRec *record.Record) {
	for o := record.ByOpened; o.Valid(); o++ {
		var oldAt, newAt time.Time
		var oldSpan, newSpan slaSpan
		oldIn, newIn := false, false
		if oldRec != nil {
			oldAt, oldIn = o.Key(oldRec)
			oldSpan, _ = spanOf(oldRec.SLA)
			oldIn = oldIn && oldSpan != noSpan
		}
		if newRec != nil {
			newAt, newIn = o.Key(newRec)
			newSpan, _ = spanOf(newRec.SLA)
			newIn = newIn && newSpan != noSpan
		}
		if oldIn && newIn && oldAt.Equal(newAt) && oldSpan == newSpan {
			continue
		}
		if oldIn {
			ix.sla[o] = slaRemove(ix.sla[o], oldAt, oldRec.ID)
		}
		if newIn {
			ix.sla[o] = slaInsert(ix.sla[o], newAt, newRec.ID, newSpan)
		}
	}
}

// updateEntries replaces the equality index entries old with new.
func (ix *kindIndex) updateEntries(old, new []*entry) {
	slices.SortFunc(old, cmpEntry)
	slices.SortFunc(new, cmpEntry)
	i, j := 0, 0
	for i < len(old) || j < len(new) {
		c := 0
		switch {
		case i == len(old):
			c = 1
		case j == len(new):
			c = -1
		default:
			c = cmpEntry(old[i], new[j])
		}
		switch {
		case c < 0:
			ix.add(old[i], -1)
			i++
		case c > 0:
			ix.add(new[j], 1)
			j++
		default:
			i++
			j++
		}
	}
}

// indexed is one value of a record that an index holds.
type indexed struct {
	field field
	name  string
	val   record.Value
}

// headerValues returns the values of rec that the indexes hold, timers
// included (see timerValues). Empty values, which no filter asks for,
// are not indexed.
func headerValues(rec *record.Record) []indexed {
	if rec == nil {
		return nil
	}
	vals := make([]indexed, 0, 16+len(rec.ConfigItems)+len(rec.Attrs)+2*len(rec.SLA))
	vals = append(vals,
		indexed{field: fieldAll},
		indexed{field: fieldState, val: record.Text(rec.State)},
		indexed{field: fieldStateCategory, val: record.Int(int64(rec.StateCategory))},
		indexed{field: fieldMajor, val: record.Bool(rec.Major)},
	)
	text := func(f field, s string) {
		if s != "" {
			vals = append(vals, indexed{field: f, val: record.Text(s)})
		}
	}
	if rec.Priority != 0 {
		vals = append(vals, indexed{field: fieldPriority, val: record.Int(int64(rec.Priority))})
	}
	text(fieldAssignee, rec.Assignee)
	text(fieldGroup, rec.AssignmentGroup)
	text(fieldService, rec.Service)
	text(fieldCategory, rec.Category)
	text(fieldRequester, rec.Requester.ID)
	text(fieldParent, rec.Parent.String())
	for i, ci := range rec.ConfigItems {
		if !slices.Contains(rec.ConfigItems[:i], ci) {
			text(fieldConfigItem, ci)
		}
	}
	for name, v := range rec.Attrs {
		vals = append(vals, indexed{field: fieldAttr, name: name, val: v})
	}
	return timerValues(vals, rec)
}

// timerValues appends to vals the values of rec's SLA summary that the
// indexes hold: the metrics and policy kinds of its timers.
func timerValues(vals []indexed, rec *record.Record) []indexed {
	if rec == nil {
		return vals
	}
	for i, t := range rec.SLA {
		if t.Metric != "" && !slices.ContainsFunc(rec.SLA[:i], func(u record.TimerSummary) bool { return u.Metric == t.Metric }) {
			vals = append(vals, indexed{field: fieldMetric, val: record.Text(string(t.Metric))})
		}
		if !slices.ContainsFunc(rec.SLA[:i], func(u record.TimerSummary) bool { return u.PolicyKind == t.PolicyKind }) {
			vals = append(vals, indexed{field: fieldPolicyKind, val: record.Int(int64(t.PolicyKind))})
		}
	}
	return vals
}

// entriesOf returns the index entries of rec for vals, its values.
func entriesOf(rec *record.Record, vals []indexed) []*entry {
	if rec == nil {
		return nil
	}
	// One allocation for the keys, one for the entries.
	var buf []byte
	var ends []int
	var ats []time.Time
	for o := record.ByOpened; o.Valid(); o++ {
		at, ok := o.Key(rec)
		if !ok {
			continue
		}
		for _, x := range vals {
			buf = appendKey(buf, o, x.field, x.name, x.val)
			ends = append(ends, len(buf))
			ats = append(ats, at)
		}
	}
	keys := string(buf)
	es := make([]entry, len(ends))
	out := make([]*entry, len(ends))
	start := 0
	for i, end := range ends {
		es[i] = entry{key: keys[start:end], at: ats[i], id: rec.ID}
		out[i] = &es[i]
		start = end
	}
	return out
}

// source is an index List can walk for a query: the records of every
// one of vals of the equality index (field, name), or those of the SLA
// treap when sla is set, include all the records that match.
type source struct {
	field field
	name  string
	vals  []record.Value
	sla   bool
	size  int // entries of all vals together, or nodes of the treap
}

// plan returns the smallest index whose records include every record
// that matches q.
func (ix *kindIndex) plan(q record.Query) source {
	best := source{field: fieldAll, vals: []record.Value{{}}}
	best.size = ix.size(indexKey(q.Order, fieldAll, "", record.Value{}))
	consider := func(f field, name string, vals []record.Value) {
		vals = slices.Clone(vals)
		slices.SortFunc(vals, record.Value.Compare)
		vals = slices.Compact(vals)
		n := 0
		for _, v := range vals {
			n += ix.size(indexKey(q.Order, f, name, v))
		}
		if n < best.size {
			best = source{field: f, name: name, vals: vals, size: n}
		}
	}
	texts := func(f field, ss ...string) {
		var vals []record.Value
		for _, s := range ss {
			vals = append(vals, record.Text(s))
		}
		consider(f, "", vals)
	}
	single := func(f field, s string) {
		if s != "" {
			texts(f, s)
		}
	}
	if len(q.States) > 0 {
		texts(fieldState, q.States...)
	}
	if len(q.StateCategories) > 0 {
		var vals []record.Value
		for _, c := range q.StateCategories {
			vals = append(vals, record.Int(int64(c)))
		}
		consider(fieldStateCategory, "", vals)
	}
	if len(q.Priorities) > 0 {
		var vals []record.Value
		for _, p := range q.Priorities {
			vals = append(vals, record.Int(int64(p)))
		}
		consider(fieldPriority, "", vals)
	}
	single(fieldAssignee, q.Assignee)
	single(fieldGroup, q.AssignmentGroup)
	single(fieldService, q.Service)
	single(fieldConfigItem, q.ConfigItem)
	single(fieldCategory, q.Category)
	single(fieldRequester, q.Requester)
	single(fieldParent, q.Parent.String())
	if q.Major != nil {
		consider(fieldMajor, "", []record.Value{record.Bool(*q.Major)})
	}
	for _, f := range q.Attrs {
		if len(f.In) > 0 {
			consider(fieldAttr, f.Name, f.In)
		}
	}
	if q.SLA.Metric != "" {
		consider(fieldMetric, "", []record.Value{record.Text(string(q.SLA.Metric))})
	}
	if len(q.SLA.PolicyKinds) > 0 {
		var vals []record.Value
		for _, k := range q.SLA.PolicyKinds {
			vals = append(vals, record.Int(int64(k)))
		}
		consider(fieldPolicyKind, "", vals)
	}
	if n := ix.sla[q.Order].len(); (q.SLA.Breached || q.SLA.AtRisk) && n <= best.size {
		// The treap is walked skipping what cannot match, so its size
		// overstates the cost; it is still the bound.
		best = source{sla: true, size: n}
	}
	return best
}

// minTime lies before every instant a record may carry.
var minTime = time.Date(-100000, 1, 1, 0, 0, 0, 0, time.UTC)

// orderRange returns the range of q on the instant it is ordered by.
func orderRange(q record.Query) record.Range {
	switch q.Order {
	case record.ByResolved:
		return q.Resolved
	case record.ByClosed:
		return q.Closed
	}
	return q.Opened
}

// walk returns up to want records that match q from the index of
// (src.field, src.name, val), in list order from just after the cursor
// after (nil: from the start) and within q's range on the order's
// instant. It reports how many entries it visited.
func (v view) walk(ix *kindIndex, q record.Query, src source, val record.Value, after *record.Cursor, want int) ([]*record.Record, int) {
	rng := orderRange(q)
	pivot := &entry{key: indexKey(q.Order, src.field, src.name, val), at: minTime}
	if !rng.From.IsZero() {
		pivot.at = rng.From
	}
	if after != nil && !pivot.at.After(after.At) {
		pivot.at, pivot.id = after.At, after.ID
	}
	var out []*record.Record
	visited := 0
	ix.entries.AscendGreaterOrEqual(pivot, func(e *entry) bool {
		visited++
		if e.key != pivot.key || !rng.To.IsZero() && !e.at.Before(rng.To) {
			return false
		}
		if after != nil && e.id == after.ID && e.at.Equal(after.At) {
			return true
		}
		if rec, ok := v.record(record.Ref{Kind: q.Kind, ID: e.id}); ok && q.Match(rec) {
			out = append(out, rec)
		}
		return len(out) < want
	})
	return out, visited
}

// walkSLA returns up to want records that match q from the SLA treap of
// q's order, in list order from just after the cursor after (nil: from
// the start) and within q's range on the order's instant, skipping the
// subtrees that cannot hold a match. It reports how many nodes it
// visited.
func (v view) walkSLA(ix *kindIndex, q record.Query, after *record.Cursor, want int) ([]*record.Record, int) {
	rng := orderRange(q)
	var out []*record.Record
	w := &slaWalk{
		atRisk: q.SLA.AtRisk,
		now:    q.Now,
		after: func(n *slaNode) bool {
			if after != nil && cmpAt(n.at, n.id, after.At, after.ID) <= 0 {
				return false
			}
			return rng.From.IsZero() || !n.at.Before(rng.From)
		},
		before: func(n *slaNode) bool { return rng.To.IsZero() || n.at.Before(rng.To) },
		visit: func(n *slaNode) bool {
			if rec, ok := v.record(record.Ref{Kind: q.Kind, ID: n.id}); ok && q.Match(rec) {
				out = append(out, rec)
			}
			return len(out) < want
		},
	}
	w.walk(ix.sla[q.Order])
	return out, w.visited
}
