package sla

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/shopspring/decimal"
)

// EventKind is what happened to a timer. Its text form is the lower-case
// name ("start", "pause", ...).
type EventKind uint8

// The timer event kinds.
const (
	// EventStart starts the first cycle at At with the event's Target.
	EventStart EventKind = iota + 1
	// EventPause stops the clock of a running cycle; paused time never
	// counts.
	EventPause
	// EventResume restarts the clock of a paused cycle.
	EventResume
	// EventStop ends the cycle: met if business elapsed time is within the
	// target, breached otherwise.
	EventStop
	// EventCancel ends the cycle as cancelled; compliance reports count it
	// apart.
	EventCancel
	// EventReset ends the current cycle (an active one as cancelled) and
	// starts a new running cycle at At. Its Target, when set, replaces the
	// target for the new cycle.
	EventReset
	// EventRetarget replaces the target of the current cycle. Elapsed time
	// is kept; the new target applies to the whole cycle.
	EventRetarget
)

var eventKindNames = [...]string{"", "start", "pause", "resume", "stop", "cancel", "reset", "retarget"}

// String returns the lower-case name, or "event(N)" for an unknown kind.
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return "event(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText returns String, refusing an unknown kind.
func (k EventKind) MarshalText() ([]byte, error) {
	if k == 0 || int(k) >= len(eventKindNames) {
		return nil, itsm.NewValidationError("timer event", "kind", "unknown event kind %d", int(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText accepts the lower-case names in any case.
func (k *EventKind) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	for i := 1; i < len(eventKindNames); i++ {
		if strings.EqualFold(s, eventKindNames[i]) {
			*k = EventKind(i)
			return nil
		}
	}
	return itsm.NewValidationError("timer event", "kind", "unknown event kind %q", s)
}

// TimerEvent is one entry of a timer's history.
type TimerEvent struct {
	// Kind says what happened.
	Kind EventKind `json:"kind"`
	// At is when it took effect. It may lie before the moment it was
	// recorded (a retroactive start or pause) but never before the
	// previous event.
	At time.Time `json:"at"`
	// Target is the target in force from this event: required for start
	// and retarget, optional for reset, empty otherwise.
	Target Target `json:"target,omitzero"`
	// Priority is the priority the target belongs to, when known: set on
	// start and optionally on retarget and reset.
	Priority itsm.Priority `json:"priority,omitzero"`
	// Reason is free text for the audit trail, such as "priority raised
	// from 3 to 1" or "awaiting customer".
	Reason string `json:"reason,omitempty"`
}

// HistoryProblem classifies an impossible timer history.
type HistoryProblem uint8

// The history problems.
const (
	// ProblemUnknownKind: the event kind is not one of the defined kinds.
	ProblemUnknownKind HistoryProblem = iota + 1
	// ProblemNoTime: the event has the zero time.
	ProblemNoTime
	// ProblemOutOfOrder: the event is earlier than the previous one.
	ProblemOutOfOrder
	// ProblemNotStarted: the timer has not been started.
	ProblemNotStarted
	// ProblemAlreadyStarted: start on a timer that has been started (use
	// reset for a new cycle).
	ProblemAlreadyStarted
	// ProblemNotRunning: pause on a cycle that is not running.
	ProblemNotRunning
	// ProblemNotPaused: resume on a cycle that is not paused.
	ProblemNotPaused
	// ProblemEnded: pause, resume, stop, cancel or retarget after the
	// cycle was stopped or cancelled.
	ProblemEnded
	// ProblemBadTarget: a start or retarget without a positive target, a
	// reset with a target that is not positive, or a target on an event
	// that takes none.
	ProblemBadTarget
	// ProblemBadPriority: a priority outside 1..5.
	ProblemBadPriority
)

var historyProblemText = [...]string{
	"", "unknown event kind", "event has no time", "event is earlier than the previous event",
	"timer has not been started", "timer has already been started; reset starts a new cycle",
	"cycle is not running", "cycle is not paused", "cycle has ended; only reset may follow",
	"target is missing, not positive or not allowed on this event", "priority is outside 1..5",
}

// String describes the problem in lower case.
func (p HistoryProblem) String() string {
	if int(p) < len(historyProblemText) && p > 0 {
		return historyProblemText[p]
	}
	return "problem(" + strconv.Itoa(int(p)) + ")"
}

// HistoryError reports an event that cannot follow the timer's history. It
// matches itsm.ErrValidation. The history is left unchanged.
type HistoryError struct {
	// Index is the position the event has or would have in the history.
	Index int
	// Event is the offending event.
	Event TimerEvent
	// Problem says what is wrong.
	Problem HistoryProblem
}

// Error names the event, its position and the problem.
func (e *HistoryError) Error() string {
	return "sla: timer event " + strconv.Itoa(e.Index) + " (" + e.Event.Kind.String() + " at " +
		e.Event.At.Format(time.RFC3339Nano) + "): " + e.Problem.String()
}

// Unwrap returns itsm.ErrValidation.
func (e *HistoryError) Unwrap() error { return itsm.ErrValidation }

// clockState is the state of the current cycle while checking a history.
type clockState uint8

const (
	clockIdle clockState = iota
	clockRunning
	clockPaused
	clockEnded
)

// historyCheck validates events one at a time.
type historyCheck struct {
	state clockState
	last  time.Time
	n     int
}

func (h *historyCheck) next(ev TimerEvent) *HistoryError {
	fail := func(p HistoryProblem) *HistoryError { return &HistoryError{Index: h.n, Event: ev, Problem: p} }
	switch {
	case ev.Kind == 0 || int(ev.Kind) >= len(eventKindNames):
		return fail(ProblemUnknownKind)
	case ev.At.IsZero():
		return fail(ProblemNoTime)
	case h.n > 0 && ev.At.Before(h.last):
		return fail(ProblemOutOfOrder)
	case ev.Priority != 0 && !ev.Priority.Valid():
		return fail(ProblemBadPriority)
	}
	next := h.state
	switch ev.Kind {
	case EventStart:
		if h.state != clockIdle {
			return fail(ProblemAlreadyStarted)
		}
		if ev.Target.Validate() != nil {
			return fail(ProblemBadTarget)
		}
		next = clockRunning
	case EventPause, EventResume, EventStop, EventCancel, EventRetarget:
		switch h.state {
		case clockIdle:
			return fail(ProblemNotStarted)
		case clockEnded:
			return fail(ProblemEnded)
		}
		switch ev.Kind {
		case EventPause:
			if h.state != clockRunning {
				return fail(ProblemNotRunning)
			}
			next = clockPaused
		case EventResume:
			if h.state != clockPaused {
				return fail(ProblemNotPaused)
			}
			next = clockRunning
		case EventStop, EventCancel:
			next = clockEnded
		case EventRetarget:
			if ev.Target.Validate() != nil {
				return fail(ProblemBadTarget)
			}
		}
		if ev.Kind != EventRetarget && !ev.Target.IsZero() {
			return fail(ProblemBadTarget)
		}
	case EventReset:
		if h.state == clockIdle {
			return fail(ProblemNotStarted)
		}
		if !ev.Target.IsZero() && ev.Target.Validate() != nil {
			return fail(ProblemBadTarget)
		}
		next = clockRunning
	}
	h.state = next
	h.last = ev.At
	h.n++
	return nil
}

// ValidateHistory checks that events form a possible timer history: known
// kinds, non-zero times in non-decreasing order, exactly one start and it
// first, pause only while running, resume only while paused, nothing but
// reset after stop or cancel, positive targets where required. It returns
// the first problem as a *HistoryError, or nil.
func ValidateHistory(events []TimerEvent) error {
	var h historyCheck
	for _, ev := range events {
		if err := h.next(ev); err != nil {
			return err
		}
	}
	return nil
}

// Timer is the clock of one metric of one policy for one record, such as the
// resolution SLA of an incident. It knows nothing about the record: the
// owner feeds it events (Start, Pause, Resume, Stop, Cancel, Reset,
// Retarget) and asks for its Status at any instant. Status is a pure
// function of the history, the calendar and the instant asked about, so a
// timer never needs a background job to stay current.
//
// Create one with Policy.NewTimer or NewTimer; the zero Timer has no
// target or calendar and refuses Start. Methods that append events validate
// them first and leave the timer unchanged on error. A Timer must not be
// modified concurrently; Status and the other read methods may run
// concurrently with each other.
//
// JSON: see MarshalJSON. Durations everywhere in this package's JSON are
// ISO 8601 time-only strings ("PT4H30M"), never numbers.
type Timer struct {
	policy   string
	kind     PolicyKind
	metric   Metric
	priority itsm.Priority
	calName  string
	zone     string // zone of an unbound calendar, from JSON
	cal      *Calendar
	target   Target
	warnings [MaxWarnings]int32 // basis points, increasing
	nwarn    int
	events   []TimerEvent
	check    historyCheck
}

// NewTimer returns an unstarted timer on cal with target and the given
// warning thresholds (in percent; nil means DefaultWarnings). policy,
// metric and priority identify it in reports and may be empty or zero.
// Prefer Policy.NewTimer, which fills everything from a validated policy.
// The calendar is recorded in JSON by its Name, so a decoded timer must be
// bound (Bind) to a source that knows that name, "24x7" for AlwaysOpen;
// only a 24×7 policy's timers bind themselves. It fails with an *itsm.ValidationError for a nil calendar, a target that
// is not positive, an invalid priority or bad warnings.
func NewTimer(cal *Calendar, target Target, warnings []decimal.Decimal, policy string, metric Metric, priority itsm.Priority) (*Timer, error) {
	v := &itsm.ValidationError{Subject: "timer"}
	if cal == nil {
		v.Add("calendar", "is required")
	}
	if err := target.Validate(); err != nil {
		v.Add("target", "%s must be positive", target)
	}
	if priority != 0 && !priority.Valid() {
		v.Add("priority", "%d is outside 1..5", int(priority))
	}
	if warnings == nil {
		warnings = DefaultWarnings()
	}
	var bps [MaxWarnings]int32
	if len(warnings) > MaxWarnings {
		v.Add("warnings", "at most %d warning thresholds, got %d", MaxWarnings, len(warnings))
	} else {
		bps, _ = warningBasisPoints(warnings, v)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	t := &Timer{policy: policy, metric: metric, priority: priority, cal: cal, target: target, warnings: bps, nwarn: len(warnings)}
	if cal != nil && !cal.always {
		// A 24×7 timer is written without a calendar name and binds
		// itself when decoded, like the timers of 24×7 policies.
		t.calName = cal.Name()
	}
	return t, nil
}

// Policy returns the ID of the policy the timer belongs to.
func (t *Timer) Policy() string { return t.policy }

// Kind returns the kind of the timer's policy.
func (t *Timer) Kind() PolicyKind { return t.kind }

// Metric returns the metric the timer measures.
func (t *Timer) Metric() Metric { return t.metric }

// Priority returns the latest priority recorded in the history (by start,
// retarget or reset), or the priority the timer was created with.
func (t *Timer) Priority() itsm.Priority {
	for i := len(t.events) - 1; i >= 0; i-- {
		if p := t.events[i].Priority; p != 0 {
			return p
		}
	}
	return t.priority
}

// Target returns the target in force after the latest event, or the
// target the timer was created with when it has no events.
func (t *Timer) Target() Target {
	for i := len(t.events) - 1; i >= 0; i-- {
		if tg := t.events[i].Target; !tg.IsZero() {
			return tg
		}
	}
	return t.target
}

// Calendar returns the calendar the timer runs on, or nil for a timer read
// from JSON whose named calendar has not been bound (see Bind).
func (t *Timer) Calendar() *Calendar { return t.cal }

// CalendarName returns the name of the timer's calendar; it is empty for a
// 24×7 policy.
func (t *Timer) CalendarName() string { return t.calName }

// Events returns a copy of the history.
func (t *Timer) Events() []TimerEvent { return slices.Clone(t.events) }

// Len returns the number of events in the history.
func (t *Timer) Len() int { return len(t.events) }

// Started reports whether the timer has a start event.
func (t *Timer) Started() bool { return len(t.events) > 0 }

// Append validates ev against the history and appends it, or returns a
// *HistoryError and leaves the timer unchanged. The named methods (Start,
// Pause, ...) are shorthands for it.
func (t *Timer) Append(ev TimerEvent) error {
	h := t.check
	if err := h.next(ev); err != nil {
		return err
	}
	t.check = h
	t.events = append(t.events, ev)
	return nil
}

// Start starts the first cycle at at, with the timer's target and
// priority. at may lie in the past (a retroactive start, such as when the
// ticket was logged); follow it with Pause/Resume pairs, also in the past,
// to subtract time already spent in pausing states. Starting twice is a
// *HistoryError; use Reset for a new cycle.
func (t *Timer) Start(at time.Time) error {
	return t.Append(TimerEvent{Kind: EventStart, At: at, Target: t.target, Priority: t.priority})
}

// StartWithPauses starts the timer retroactively at start and records the
// given pauses, which must be in order, not overlapping, and not before
// start. A pause with a zero End is still going on, and the timer is left
// paused; only the last pause may be open. It is all-or-nothing: on error
// the timer is unchanged.
func (t *Timer) StartWithPauses(start time.Time, pauses []Outage, reason string) error {
	c := *t
	c.events = slices.Clone(t.events)
	if err := c.Start(start); err != nil {
		return err
	}
	for i, p := range pauses {
		if err := c.Pause(p.Start, reason); err != nil {
			return err
		}
		if p.End.IsZero() {
			if i != len(pauses)-1 {
				return &HistoryError{Index: len(c.events), Event: TimerEvent{Kind: EventResume, At: p.End}, Problem: ProblemNoTime}
			}
			break
		}
		if err := c.Resume(p.End, ""); err != nil {
			return err
		}
	}
	*t = c
	return nil
}

// Pause stops the clock at at; reason is kept for the audit trail. It is a
// *HistoryError unless the cycle is running.
func (t *Timer) Pause(at time.Time, reason string) error {
	return t.Append(TimerEvent{Kind: EventPause, At: at, Reason: reason})
}

// Resume restarts the clock at at. It is a *HistoryError unless the cycle
// is paused.
func (t *Timer) Resume(at time.Time, reason string) error {
	return t.Append(TimerEvent{Kind: EventResume, At: at, Reason: reason})
}

// Stop ends the cycle at at: met if business elapsed time is at most the
// target, breached otherwise. A paused cycle may be stopped; its elapsed
// time stays as it was at the pause.
func (t *Timer) Stop(at time.Time, reason string) error {
	return t.Append(TimerEvent{Kind: EventStop, At: at, Reason: reason})
}

// Cancel ends the cycle at at as cancelled (for example when the SLA no
// longer applies). Cancelled cycles are counted apart in compliance.
func (t *Timer) Cancel(at time.Time, reason string) error {
	return t.Append(TimerEvent{Kind: EventCancel, At: at, Reason: reason})
}

// Reset ends the current cycle and starts a new running one at at, for
// example when a resolved incident is reopened. A cycle that was still
// running or paused ends as cancelled at at; ended cycles keep their
// outcome and stay available through Cycles. A non-zero target (and
// priority) replaces the current one for the new cycle.
func (t *Timer) Reset(at time.Time, target Target, priority itsm.Priority, reason string) error {
	return t.Append(TimerEvent{Kind: EventReset, At: at, Target: target, Priority: priority, Reason: reason})
}

// Retarget replaces the target of the current cycle from at on, for
// example when the priority changes; priority may be 0 when it is
// unchanged. Elapsed time is kept and the new target applies to the whole
// cycle, so a timer that has already used more than the new target is
// breached, with the breach instant when it passed the new target. Both
// targets stay in the history.
func (t *Timer) Retarget(at time.Time, target Target, priority itsm.Priority, reason string) error {
	return t.Append(TimerEvent{Kind: EventRetarget, At: at, Target: target, Priority: priority, Reason: reason})
}

// RetargetPriority looks up policy's target for the timer's metric at
// priority and retargets to it. It fails with an *itsm.ValidationError when
// the policy has no such target.
func (t *Timer) RetargetPriority(at time.Time, policy *Policy, priority itsm.Priority, reason string) error {
	tg, ok := policy.Target(t.metric, priority)
	if !ok {
		return itsm.NewValidationError("timer", "priority", "policy %q has no %q target for priority %d", policy.ID(), t.metric, int(priority))
	}
	return t.Retarget(at, tg, priority, reason)
}

// Bind resolves the timer's calendar name through src. A timer decoded from
// JSON needs it before Status unless its policy is 24×7 (which binds
// itself). It fails with an *itsm.ValidationError (field "calendar") when
// src does not know the name.
func (t *Timer) Bind(src CalendarSource) error {
	if t.calName == "" && t.cal != nil {
		return nil
	}
	var cal *Calendar
	ok := false
	if src != nil {
		cal, ok = src.Calendar(t.calName)
	}
	if !ok {
		return itsm.NewValidationError("timer", "calendar", "unknown calendar %q", t.calName)
	}
	t.cal = cal
	return nil
}
