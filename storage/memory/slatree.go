package memory

import (
	"time"

	"github.com/itsmkit/itsmkit/record"
)

// The SLA filters ask for records with a timer that is breached, or at
// risk, at the query's Now: a property that changes with time and not
// only with writes, so no ordered index can hold exactly the records it
// selects. The records that can ever match (those with a breach instant,
// and those with an active timer that has an at-risk instant) are kept
// per kind and list order in a treap in list order whose nodes also hold,
// for their subtree, the earliest breach instant and the widest at-risk
// window. List walks it in order and skips every subtree that cannot
// hold a match at Now, so that a page costs about its size times the
// tree's depth however many records are not breached or at risk.
//
// The treap is persistent: a change copies the nodes on its path and
// leaves the old tree as it was, so a transaction works on its own roots
// and a rollback drops them, as with the btrees.

// farFuture lies after every instant a record may carry.
var farFuture = time.Date(100000, 1, 1, 0, 0, 0, 0, time.UTC)

// slaSpan is what the SLA filters need of one record, or of a subtree of
// records: the earliest breach instant (farFuture when none), and the
// bounds of the at-risk windows of the active timers that have an
// at-risk instant (from AtRiskAt to BreachAt, or on without a breach
// instant; empty, from farFuture to minTime, when none).
type slaSpan struct {
	breach           time.Time
	riskFrom, riskTo time.Time
}

var noSpan = slaSpan{breach: farFuture, riskFrom: farFuture, riskTo: minTime}

// spanOf returns the span of a record's SLA summary, and false when no
// SLA filter can ever select the record.
func spanOf(sum record.Summary) (slaSpan, bool) {
	s := noSpan
	for _, t := range sum {
		if !t.BreachAt.IsZero() && t.BreachAt.Before(s.breach) {
			s.breach = t.BreachAt
		}
		if t.Active() && !t.AtRiskAt.IsZero() {
			to := farFuture
			if !t.BreachAt.IsZero() {
				to = t.BreachAt
			}
			if t.AtRiskAt.Before(s.riskFrom) {
				s.riskFrom = t.AtRiskAt
			}
			if to.After(s.riskTo) {
				s.riskTo = to
			}
		}
	}
	return s, s != noSpan
}

func (s slaSpan) join(o slaSpan) slaSpan {
	if o.breach.Before(s.breach) {
		s.breach = o.breach
	}
	if o.riskFrom.Before(s.riskFrom) {
		s.riskFrom = o.riskFrom
	}
	if o.riskTo.After(s.riskTo) {
		s.riskTo = o.riskTo
	}
	return s
}

// mayMatch reports whether a record (or subtree) of span s can pass the
// breached (or at-risk) filter at now: a necessary condition of
// TimerSummary.BreachedBy (AtRiskBy) for one of its timers.
func (s slaSpan) mayMatch(atRisk bool, now time.Time) bool {
	if atRisk {
		return !s.riskFrom.After(now) && !s.riskTo.Before(now)
	}
	return s.breach.Before(now)
}

// slaNode is a node of the treap, keyed by the record's instant in the
// tree's order and its ID. Nodes are never changed once they are in a
// tree.
type slaNode struct {
	at          time.Time
	id          string
	prio        uint64
	left, right *slaNode
	own         slaSpan // the record's
	sub         slaSpan // joined over the subtree
	size        int     // nodes in the subtree
}

// priority returns the treap priority of a record ID: a hash, so that the
// tree is balanced in expectation whatever order records arrive in.
func priority(id string) uint64 {
	h := uint64(14695981039346656037) // FNV-1a, then the splitmix64 finalizer
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// with returns a copy of n with the children l and r.
func (n *slaNode) with(l, r *slaNode) *slaNode {
	c := *n
	c.left, c.right = l, r
	c.sub, c.size = c.own, 1
	for _, k := range []*slaNode{l, r} {
		if k != nil {
			c.sub, c.size = c.sub.join(k.sub), c.size+k.size
		}
	}
	return &c
}

func (n *slaNode) len() int {
	if n == nil {
		return 0
	}
	return n.size
}

// split returns the nodes of n before (at, id) and those from it on.
func split(n *slaNode, at time.Time, id string) (*slaNode, *slaNode) {
	if n == nil {
		return nil, nil
	}
	if cmpAt(n.at, n.id, at, id) < 0 {
		l, r := split(n.right, at, id)
		return n.with(n.left, l), r
	}
	l, r := split(n.left, at, id)
	return l, n.with(r, n.right)
}

// merge joins a and b, every key of a coming before every key of b.
func merge(a, b *slaNode) *slaNode {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.prio > b.prio:
		return a.with(a.left, merge(a.right, b))
	}
	return b.with(merge(a, b.left), b.right)
}

// slaInsert returns n with a node for the record id at at, which n must
// not hold.
func slaInsert(n *slaNode, at time.Time, id string, s slaSpan) *slaNode {
	l, r := split(n, at, id)
	node := (&slaNode{at: at, id: id, prio: priority(id), own: s}).with(nil, nil)
	return merge(merge(l, node), r)
}

// slaRemove returns n without the node of the record id at at.
func slaRemove(n *slaNode, at time.Time, id string) *slaNode {
	l, r := split(n, at, id)
	_, r = split(r, at, id+"\x00") // id+"\x00" is the least ID after id
	return merge(l, r)
}

// slaWalk is one in-order walk of a treap.
type slaWalk struct {
	atRisk bool
	now    time.Time
	// after reports whether a node lies after the walk's start; before
	// whether it lies before its end.
	after, before func(n *slaNode) bool
	// visit is called for each node in range that may match; it returns
	// false to stop the walk.
	visit   func(n *slaNode) bool
	visited int
}

// walk walks n and reports whether the walk goes on.
func (w *slaWalk) walk(n *slaNode) bool {
	if n == nil {
		return true
	}
	w.visited++
	if !n.sub.mayMatch(w.atRisk, w.now) {
		return true
	}
	if !w.after(n) {
		return w.walk(n.right)
	}
	if !w.walk(n.left) {
		return false
	}
	if !w.before(n) {
		return false
	}
	if n.own.mayMatch(w.atRisk, w.now) && !w.visit(n) {
		return false
	}
	return w.walk(n.right)
}
