package memory

import (
	"slices"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
)

// recordKey identifies the record an audit event belongs to.
type recordKey struct {
	kind string
	id   string
}

// timerKey identifies a timer: its incident and its ID.
type timerKey struct {
	incident string
	id       string
}

func keyOf(r incident.TimerRecord) timerKey { return timerKey{incident: r.IncidentID, id: r.ID} }

// timerRow is a stored timer: the record without its Timer, the timer's
// JSON encoding, and the position of its first save.
type timerRow struct {
	rec   incident.TimerRecord // Timer is always nil here
	timer []byte               // json.Marshal of the *sla.Timer
	seq   uint64               // order of the first save, for Reader.Timers
}

// state is the committed data of a Store. Values reachable from it are
// never changed in place once stored: an update stores a new *Incident or
// *timerRow, and event slices only grow.
type state struct {
	incidents map[string]*incident.Incident // by ID
	byNumber  map[string]string             // number → ID
	timers    map[timerKey]*timerRow
	timerIDs  map[string][]string        // incident ID → IDs of its timers
	timerSeq  uint64                     // last timerRow.seq handed out
	events    map[recordKey][]itsm.Event // append-only, in sequence order
	numbers   map[string]int64           // last value of each number sequence
}

func newState() *state {
	return &state{
		incidents: make(map[string]*incident.Incident),
		byNumber:  make(map[string]string),
		timers:    make(map[timerKey]*timerRow),
		timerIDs:  make(map[string][]string),
		events:    make(map[recordKey][]itsm.Event),
		numbers:   make(map[string]int64),
	}
}

// staged holds the writes of one transaction, not yet visible outside it.
type staged struct {
	incidents map[string]*incident.Incident // created or updated, by ID
	byNumber  map[string]string             // numbers given in this transaction → ID
	timers    map[timerKey]*timerRow        // inserted or replaced
	timerSeq  uint64
	events    map[recordKey][]itsm.Event // appended after the committed ones
	numbers   map[string]int64
}

func newStaged(base *state) *staged {
	return &staged{
		incidents: make(map[string]*incident.Incident),
		byNumber:  make(map[string]string),
		timers:    make(map[timerKey]*timerRow),
		timerSeq:  base.timerSeq,
		events:    make(map[recordKey][]itsm.Event),
		numbers:   make(map[string]int64),
	}
}

// apply makes the staged writes part of s.
func (s *state) apply(w *staged) {
	// Release numbers that updates moved away first, so that two incidents
	// swapping numbers in one transaction end up indexed correctly.
	for id, inc := range w.incidents {
		if old, ok := s.incidents[id]; ok && old.Number != inc.Number && s.byNumber[old.Number] == id {
			delete(s.byNumber, old.Number)
		}
	}
	for id, inc := range w.incidents {
		s.incidents[id] = inc
		s.byNumber[inc.Number] = id
	}
	for k, row := range w.timers {
		if _, ok := s.timers[k]; !ok {
			// A new slice, so that no reader of the old one is affected.
			s.timerIDs[k.incident] = append(slices.Clip(s.timerIDs[k.incident]), k.id)
		}
		s.timers[k] = row
	}
	s.timerSeq = w.timerSeq
	for k, evs := range w.events {
		s.events[k] = append(s.events[k], evs...)
	}
	for k, n := range w.numbers {
		s.numbers[k] = n
	}
}

// view is what one read sees: the committed state, overlaid with a
// transaction's staged writes when w is not nil. Its methods return
// stored values; callers copy them before handing them out.
type view struct {
	base *state
	w    *staged
}

func (v view) incident(id string) (*incident.Incident, bool) {
	if v.w != nil {
		if inc, ok := v.w.incidents[id]; ok {
			return inc, true
		}
	}
	inc, ok := v.base.incidents[id]
	return inc, ok
}

// idByNumber returns the ID of the incident whose number is n.
func (v view) idByNumber(n string) (string, bool) {
	check := func(id string) bool {
		inc, ok := v.incident(id)
		return ok && inc.Number == n
	}
	if v.w != nil {
		if id, ok := v.w.byNumber[n]; ok && check(id) {
			return id, true
		}
	}
	if id, ok := v.base.byNumber[n]; ok && check(id) {
		return id, true
	}
	return "", false
}

// eachIncident calls fn once for every incident.
func (v view) eachIncident(fn func(*incident.Incident)) {
	for id, inc := range v.base.incidents {
		if v.w != nil {
			if s, ok := v.w.incidents[id]; ok {
				inc = s
			}
		}
		fn(inc)
	}
	if v.w != nil {
		for id, inc := range v.w.incidents {
			if _, ok := v.base.incidents[id]; !ok {
				fn(inc)
			}
		}
	}
}

func (v view) timer(k timerKey) (*timerRow, bool) {
	if v.w != nil {
		if row, ok := v.w.timers[k]; ok {
			return row, true
		}
	}
	row, ok := v.base.timers[k]
	return row, ok
}

// timersOf returns the timers of the incident with id, in no particular
// order.
func (v view) timersOf(id string) []*timerRow {
	var rows []*timerRow
	for _, tid := range v.base.timerIDs[id] {
		if row, ok := v.timer(timerKey{incident: id, id: tid}); ok {
			rows = append(rows, row)
		}
	}
	if v.w != nil {
		for k, row := range v.w.timers {
			if _, ok := v.base.timers[k]; k.incident == id && !ok {
				rows = append(rows, row) // new in this transaction
			}
		}
	}
	return rows
}

// eachTimer calls fn once for every timer.
func (v view) eachTimer(fn func(*timerRow)) {
	for k, row := range v.base.timers {
		if v.w != nil {
			if s, ok := v.w.timers[k]; ok {
				row = s
			}
		}
		fn(row)
	}
	if v.w != nil {
		for k, row := range v.w.timers {
			if _, ok := v.base.timers[k]; !ok {
				fn(row)
			}
		}
	}
}

// events returns the number of events of the record and calls fn for
// each in sequence order when fn is not nil.
func (v view) events(k recordKey, fn func(itsm.Event)) int {
	n := len(v.base.events[k])
	if fn != nil {
		for _, e := range v.base.events[k] {
			fn(e)
		}
	}
	if v.w != nil {
		n += len(v.w.events[k])
		if fn != nil {
			for _, e := range v.w.events[k] {
				fn(e)
			}
		}
	}
	return n
}

// number returns the last value handed out by the sequence named kind.
func (v view) number(kind string) int64 {
	if v.w != nil {
		if n, ok := v.w.numbers[kind]; ok {
			return n
		}
	}
	return v.base.numbers[kind]
}
