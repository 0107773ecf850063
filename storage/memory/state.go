package memory

import (
	"cmp"
	"math"
	"strings"
	"time"

	"github.com/google/btree"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
)

// degree is the degree of every btree of the store.
const degree = 32

func newTree[T any](less btree.LessFunc[T]) *btree.BTreeG[T] { return btree.NewG(degree, less) }

func cmpRef(a, b record.Ref) int {
	if c := strings.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// seqItem is one element of a per-record sequence (a journal entry, an
// audit event, a link seen from one end) or, with the zero ref, of the
// outbox: n numbers the elements of ref from 1 in the order they were
// added.
type seqItem[T any] struct {
	ref record.Ref
	n   int64
	val T
}

func seqLess[T any](a, b *seqItem[T]) bool {
	if c := cmpRef(a.ref, b.ref); c != 0 {
		return c < 0
	}
	return a.n < b.n
}

// eachOf calls fn for the items of ref in order.
func eachOf[T any](t *btree.BTreeG[*seqItem[T]], ref record.Ref, fn func(*seqItem[T])) {
	t.AscendGreaterOrEqual(&seqItem[T]{ref: ref}, func(it *seqItem[T]) bool {
		if it.ref != ref {
			return false
		}
		fn(it)
		return true
	})
}

// lastOf returns the n of the last item of ref, or 0.
func lastOf[T any](t *btree.BTreeG[*seqItem[T]], ref record.Ref) int64 {
	var n int64
	t.DescendLessOrEqual(&seqItem[T]{ref: ref, n: math.MaxInt64}, func(it *seqItem[T]) bool {
		if it.ref == ref {
			n = it.n
		}
		return false
	})
	return n
}

// timerRow is a stored timer: its record without the Timer, its summary
// (which needs the Timer's policy and metric), the Timer's JSON encoding,
// and the position of its first save among the timers of its record.
type timerRow struct {
	rec record.TimerRecord // Timer is always nil here
	sum record.TimerSummary
	enc []byte
	seq int64
}

func timerLess(a, b *timerRow) bool {
	if c := cmpRef(a.rec.Record, b.rec.Record); c != 0 {
		return c < 0
	}
	return a.rec.ID < b.rec.ID
}

// dueItem puts a timer with a NextWakeAt in the order of TimersDue.
type dueItem struct {
	row *timerRow
}

func dueLess(a, b dueItem) bool {
	x, y := &a.row.rec, &b.row.rec
	if c := x.NextWakeAt.Compare(y.NextWakeAt); c != 0 {
		return c < 0
	}
	if c := strings.Compare(x.ID, y.ID); c != 0 {
		return c < 0
	}
	return cmpRef(x.Record, y.Record) < 0
}

// linkItem is a stored link, keyed by type and ends.
type linkItem struct {
	link record.Link
	seq  int64 // the n of the link's seqItems in trees.ends
}

func linkLess(a, b *linkItem) bool {
	if c := strings.Compare(a.link.Type, b.link.Type); c != 0 {
		return c < 0
	}
	if c := cmpRef(a.link.From, b.link.From); c != 0 {
		return c < 0
	}
	return cmpRef(a.link.To, b.link.To) < 0
}

// numberItem is the last value of the number sequence of a kind.
type numberItem struct {
	kind string
	n    int64
}

func numberLess(a, b numberItem) bool { return a.kind < b.kind }

// crossingItem is a recorded threshold crossing.
type crossingItem struct {
	rec    record.Ref
	timer  string
	cycle  int
	points int32
}

func crossingLess(a, b crossingItem) bool {
	if c := cmpRef(a.rec, b.rec); c != 0 {
		return c < 0
	}
	if c := strings.Compare(a.timer, b.timer); c != 0 {
		return c < 0
	}
	if a.cycle != b.cycle {
		return a.cycle < b.cycle
	}
	return a.points < b.points
}

// trees is the part of the data kept in btrees. A transaction works on a
// clone (btree.Clone is a lazy copy-on-write, O(1)); the commit swaps the
// clone in. Trees reachable from the committed state are never changed
// in place. Large items are kept by pointer, so that the nodes a
// transaction copies on its first write to them are small; an item is
// never changed once it is in a tree.
type trees struct {
	kinds     map[string]*kindIndex // the indexes of List, by kind
	timers    *btree.BTreeG[*timerRow]
	timerSeq  int64 // last timerRow.seq handed out
	due       *btree.BTreeG[dueItem]
	journal   *btree.BTreeG[*seqItem[record.Entry]]
	events    *btree.BTreeG[*seqItem[itsm.Event]]
	links     *btree.BTreeG[*linkItem]
	ends      *btree.BTreeG[*seqItem[record.Link]] // each link under both ends
	linkSeq   int64                                // last link seq handed out
	outbox    *btree.BTreeG[*seqItem[itsm.Event]]  // zero ref, n is the message ID
	numbers   *btree.BTreeG[numberItem]
	crossings *btree.BTreeG[crossingItem]
	outcomes  *btree.BTreeG[*record.Outcome] // by key
	expiries  *btree.BTreeG[*record.Outcome] // by Expires, then key
}

func newTrees() *trees {
	return &trees{
		kinds:     map[string]*kindIndex{},
		timers:    newTree(timerLess),
		due:       newTree(dueLess),
		journal:   newTree(seqLess[record.Entry]),
		events:    newTree(seqLess[itsm.Event]),
		links:     newTree(linkLess),
		ends:      newTree(seqLess[record.Link]),
		outbox:    newTree(seqLess[itsm.Event]),
		numbers:   newTree(numberLess),
		crossings: newTree(crossingLess),
		outcomes:  newTree(outcomeLess),
		expiries:  newTree(expiryLess),
	}
}

// clone returns a copy of t that can be changed without changing t. It
// costs O(number of kinds).
func (t *trees) clone() *trees {
	c := *t
	c.kinds = make(map[string]*kindIndex, len(t.kinds))
	for k, ix := range t.kinds {
		c.kinds[k] = ix.clone()
	}
	c.timers = t.timers.Clone()
	c.due = t.due.Clone()
	c.journal = t.journal.Clone()
	c.events = t.events.Clone()
	c.links = t.links.Clone()
	c.ends = t.ends.Clone()
	c.outbox = t.outbox.Clone()
	c.numbers = t.numbers.Clone()
	c.crossings = t.crossings.Clone()
	c.outcomes = t.outcomes.Clone()
	c.expiries = t.expiries.Clone()
	return &c
}

// numberKey is a record number within its kind.
type numberKey struct {
	kind, number string
}

// state is the committed data of a Store. The maps are changed only by a
// commit, under Store.mu; the records they hold are never changed in
// place (a write stores a new *record.Record).
type state struct {
	records map[record.Ref]*record.Record // with their SLA summary
	numbers map[numberKey]string          // number → ID
	t       *trees
}

func newState() *state {
	return &state{
		records: map[record.Ref]*record.Record{},
		numbers: map[numberKey]string{},
		t:       newTrees(),
	}
}

// staged holds the map writes of one transaction; its tree writes are in
// its own trees.
type staged struct {
	records map[record.Ref]*record.Record // created or changed
	numbers map[numberKey]string          // numbers given in this transaction → ID
	t       *trees
}

func newStaged(base *state) *staged {
	return &staged{
		records: map[record.Ref]*record.Record{},
		numbers: map[numberKey]string{},
		t:       base.t.clone(),
	}
}

// apply makes the staged writes part of s.
func (s *state) apply(w *staged) {
	// Release the numbers that updates moved away first, so that two
	// records swapping numbers in one transaction end up indexed
	// correctly.
	for ref, rec := range w.records {
		if old, ok := s.records[ref]; ok && old.Number != rec.Number {
			if k := (numberKey{ref.Kind, old.Number}); s.numbers[k] == ref.ID {
				delete(s.numbers, k)
			}
		}
	}
	for ref, rec := range w.records {
		s.records[ref] = rec
		s.numbers[numberKey{ref.Kind, rec.Number}] = ref.ID
	}
	s.t = w.t
}

// view is what one read sees: the committed maps, overlaid with a
// transaction's staged writes when w is not nil, and the trees (the
// committed ones, or the transaction's). Its methods return stored
// values; callers copy them before handing them out.
type view struct {
	s    *Store
	base *state
	w    *staged
	t    *trees
}

func (v view) record(ref record.Ref) (*record.Record, bool) {
	if v.w != nil {
		if rec, ok := v.w.records[ref]; ok {
			return rec, true
		}
	}
	rec, ok := v.base.records[ref]
	return rec, ok
}

// idByNumber returns the ID of the record of kind whose number is n.
func (v view) idByNumber(kind, n string) (string, bool) {
	k := numberKey{kind, n}
	check := func(id string) bool {
		rec, ok := v.record(record.Ref{Kind: kind, ID: id})
		return ok && rec.Number == n
	}
	if v.w != nil {
		if id, ok := v.w.numbers[k]; ok && check(id) {
			return id, true
		}
	}
	if id, ok := v.base.numbers[k]; ok && check(id) {
		return id, true
	}
	return "", false
}

// cmpAt orders entries by instant, then ID.
func cmpAt(a time.Time, aid string, b time.Time, bid string) int {
	return cmp.Or(a.Compare(b), strings.Compare(aid, bid))
}
