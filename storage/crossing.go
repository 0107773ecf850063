package storage

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// Crossing is one threshold of one SLA timer cycle that has been reached:
// a warning (such as 75 % of the target) or the breach. Stores record each
// crossing once, keyed by Record, TimerID, Cycle and BasisPoints, and
// append its audit event (see Crossing.Event) to the record's audit trail
// and to the outbox in the same transaction; a deliverer hands the outbox
// message to subscribers afterwards, outside any transaction.
type Crossing struct {
	// Record is the record the timer measures.
	Record  record.Ref `json:"record"`
	TimerID string     `json:"timer_id"`
	Policy  string     `json:"policy"`
	Metric  sla.Metric `json:"metric"`
	// Cycle is the timer cycle, from 1; a reopened record's new cycle
	// crosses its thresholds afresh.
	Cycle int `json:"cycle"`
	// BasisPoints is the threshold in hundredths of a percent: 7500 is
	// 75 %, 10000 the breach.
	BasisPoints int32 `json:"basis_points"`
	// At is when the threshold was reached.
	At time.Time `json:"at"`
}

// Breach reports whether the crossing is the breach.
func (c Crossing) Breach() bool { return c.BasisPoints == 10000 }

// The actions of the audit events that record crossings.
const (
	// ActionSLAWarning is the action of the event of a warning threshold
	// crossed.
	ActionSLAWarning = "sla-warning"
	// ActionSLABreach is the action of the event of a breach.
	ActionSLABreach = "sla-breach"
)

// The Field names of the itsm.Change entries of a crossing's event, in
// the order Crossing.Event writes them; each carries its value in New.
const (
	CrossingFieldTimer       = "sla.timer"
	CrossingFieldPolicy      = "sla.policy"
	CrossingFieldMetric      = "sla.metric"
	CrossingFieldCycle       = "sla.cycle"
	CrossingFieldBasisPoints = "sla.basis_points"
)

// Event returns the audit event that records c in the trail of c.Record:
// Action ActionSLABreach or ActionSLAWarning, Actor itsm.System, At the
// crossing instant, Changes carrying the timer ID, policy, metric, cycle
// and basis points (in New, Old empty), and a Reason for people such as
// "gold resolution: 75% of the target reached". Sequence is left zero:
// the store assigns it when it appends the event. CrossingFromEvent
// decodes it again.
func (c Crossing) Event() itsm.Event {
	action := ActionSLAWarning
	reason := fmt.Sprintf("%s %s: %s of the target reached", c.Policy, c.Metric, percent(c.BasisPoints))
	if c.Breach() {
		action = ActionSLABreach
		reason = fmt.Sprintf("%s %s: target exceeded", c.Policy, c.Metric)
	}
	return itsm.Event{
		Kind: c.Record.Kind, RecordID: c.Record.ID, Actor: itsm.System, At: c.At, Action: action,
		Changes: []itsm.Change{
			{Field: CrossingFieldTimer, New: c.TimerID},
			{Field: CrossingFieldPolicy, New: c.Policy},
			{Field: CrossingFieldMetric, New: string(c.Metric)},
			{Field: CrossingFieldCycle, New: strconv.Itoa(c.Cycle)},
			{Field: CrossingFieldBasisPoints, New: strconv.FormatInt(int64(c.BasisPoints), 10)},
		},
		Reason: reason,
	}
}

// percent renders basis points as a percentage: 7500 as "75%", 3333 as
// "33.33%".
func percent(bp int32) string {
	if bp%100 == 0 {
		return strconv.Itoa(int(bp/100)) + "%"
	}
	return strconv.FormatFloat(float64(bp)/100, 'f', -1, 64) + "%"
}

// CrossingFromEvent decodes the crossing an event made by Crossing.Event
// records, with At as the event's (in UTC when the event came from a
// store, which keeps instants as AuditTime). It reports false for any
// other event: another action, an actor other than itsm.System, a
// missing or malformed field (a cycle below 1, basis points outside 1 to
// 10000 or disagreeing with the action). Fields are found by name, so
// their order does not matter; unknown fields are ignored.
func CrossingFromEvent(ev itsm.Event) (Crossing, bool) {
	if (ev.Action != ActionSLAWarning && ev.Action != ActionSLABreach) || ev.Actor.ID != itsm.System.ID {
		return Crossing{}, false
	}
	c := Crossing{Record: record.Ref{Kind: ev.Kind, ID: ev.RecordID}, At: ev.At}
	var timer, cycle, points bool
	for _, ch := range ev.Changes {
		switch ch.Field {
		case CrossingFieldTimer:
			c.TimerID, timer = ch.New, ch.New != ""
		case CrossingFieldPolicy:
			c.Policy = ch.New
		case CrossingFieldMetric:
			c.Metric = sla.Metric(ch.New)
		case CrossingFieldCycle:
			n, err := strconv.Atoi(ch.New)
			c.Cycle, cycle = n, err == nil && n >= 1
		case CrossingFieldBasisPoints:
			n, err := strconv.ParseInt(ch.New, 10, 32)
			c.BasisPoints, points = int32(n), err == nil && n >= 1 && n <= 10000
		}
	}
	if !timer || !cycle || !points || c.Breach() != (ev.Action == ActionSLABreach) {
		return Crossing{}, false
	}
	return c, true
}

// Crossings returns the thresholds of the timer's current cycle that are
// reached at now, in increasing order. The timer must have its calendar
// bound.
func Crossings(rec record.TimerRecord, now time.Time) []Crossing {
	return appendCrossings(nil, rec, rec.Timer.Status(now))
}

// AllCrossings returns the thresholds reached at now of every cycle of
// the timer that has started by now, oldest cycle first and each in
// increasing order: a cycle that was reset (a reopened record) keeps the
// crossings it reached before the reset. Stores record these when a timer
// is written, so that a crossing is recorded even when the timer stops
// or is reset before a wake-up worker looks at it. The timer must have
// its calendar bound.
func AllCrossings(rec record.TimerRecord, now time.Time) []Crossing {
	var out []Crossing
	for _, st := range rec.Timer.Cycles(now) {
		out = appendCrossings(out, rec, st)
	}
	return out
}

func appendCrossings(out []Crossing, rec record.TimerRecord, st sla.Status) []Crossing {
	for _, th := range st.Thresholds[:st.NumThresholds] {
		if !th.Reached {
			continue
		}
		at := th.At
		if th.Breach() && !st.BreachedAt.IsZero() {
			at = st.BreachedAt
		}
		out = append(out, Crossing{
			Record: rec.Record, TimerID: rec.ID,
			Policy: rec.Timer.Policy(), Metric: rec.Timer.Metric(),
			Cycle: st.Cycle, BasisPoints: th.BasisPoints, At: at,
		})
	}
	return out
}

// LastChange returns the instant the timer was last changed: the time of
// its latest event, or the zero time for a timer without events. Stores
// record the AllCrossings of a written timer at this instant: the
// thresholds it had reached when its latest event happened, which a later
// read of the timer cannot change.
func LastChange(t *sla.Timer) time.Time {
	if t == nil || t.Len() == 0 {
		return time.Time{}
	}
	evs := t.Events()
	return evs[len(evs)-1].At
}

// WrittenCrossings returns the crossings a store records when it writes
// rec: AllCrossings at LastChange(rec.Timer). A timer with its calendar
// bound is judged as it is; an unbound one (decoded from a store) is
// judged through a bound copy, so rec.Timer is never changed. When src
// does not know the calendar of an unbound timer the error is an
// *UnknownCalendarError: the store then writes the timer all the same and
// records nothing for it, and a wake-up worker reports it. A timer
// without events has no crossings.
func WrittenCrossings(rec record.TimerRecord, src sla.CalendarSource) ([]Crossing, error) {
	at := LastChange(rec.Timer)
	if at.IsZero() {
		return nil, nil
	}
	if rec.Timer.Calendar() == nil {
		enc, err := json.Marshal(rec.Timer)
		if err != nil {
			return nil, fmt.Errorf("storage: copy timer %s of %s: %w", rec.ID, rec.Record, err)
		}
		c := new(sla.Timer)
		if err := json.Unmarshal(enc, c); err != nil {
			return nil, fmt.Errorf("storage: copy timer %s of %s: %w", rec.ID, rec.Record, err)
		}
		if err := c.Bind(src); err != nil {
			return nil, &UnknownCalendarError{Calendar: c.CalendarName(), Record: rec.Record, TimerID: rec.ID}
		}
		rec.Timer = c
	}
	return AllCrossings(rec, at), nil
}
