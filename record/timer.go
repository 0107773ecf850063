package record

import (
	"strconv"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
)

// TimerRecord is an SLA timer attached to a record, as stores keep it.
// The fields after Timer are derived from it when it is saved (see
// NewTimerRecord), so that stores can index and filter without decoding
// timers.
type TimerRecord struct {
	// Record is the record the timer measures.
	Record Ref `json:"record"`
	// ID identifies the timer among the timers of its record: two
	// records may each have a timer with the same ID.
	ID string `json:"id"`
	// Timer is the timer with its whole history. Stores return it with
	// its calendar unbound; bind it (sla.Timer.Bind) before use.
	Timer *sla.Timer `json:"timer"`
	// PolicyKind is the kind of the timer's policy (SLA, OLA or UC), as
	// given to NewTimerRecord.
	PolicyKind sla.PolicyKind `json:"policy_kind"`

	// Stage is the timer's stage when it was saved.
	Stage sla.Stage `json:"stage"`
	// AtRiskAt is when the last warning threshold was or will be crossed
	// if the timer keeps running; zero when unknown (paused before
	// crossing it) or when there is no warning threshold.
	AtRiskAt time.Time `json:"at_risk_at,omitzero"`
	// BreachAt is when the target was or will be exceeded if the timer
	// keeps running; zero when unknown (paused before the breach) or when
	// the timer finished in time.
	BreachAt time.Time `json:"breach_at,omitzero"`
	// NextWakeAt is the next instant a scheduler must look at the timer
	// (a threshold to announce); zero when there is none.
	NextWakeAt time.Time `json:"next_wake_at,omitzero"`
}

// NewTimerRecord returns the record a store keeps for timer t of rec,
// with Stage, AtRiskAt, BreachAt and NextWakeAt derived from the status
// of t's current cycle at now: AtRiskAt is the instant of the last
// warning threshold, BreachAt that of the breach threshold (each zero
// while unknown), NextWakeAt the status's NextWake. The derived instants
// are in UTC to the microsecond, the precision of the SQL stores, so that
// every store keeps them alike: AtRiskAt and BreachAt are truncated,
// NextWakeAt is rounded up (a wake-up at that instant finds the threshold
// crossed, never just short of it). Call it again after every event, or
// the derived fields go stale. t must have its calendar bound
// (sla.Timer.Status panics otherwise).
func NewTimerRecord(rec Ref, id string, kind sla.PolicyKind, t *sla.Timer, now time.Time) TimerRecord {
	st := t.Status(now)
	r := TimerRecord{Record: rec, ID: id, Timer: t, PolicyKind: kind, Stage: st.Stage, NextWakeAt: ceilMicro(st.NextWake)}
	for _, th := range st.Thresholds[:st.NumThresholds] {
		if th.Breach() {
			r.BreachAt = floorMicro(th.At)
		} else {
			r.AtRiskAt = floorMicro(th.At)
		}
	}
	return r
}

// floorMicro returns t in UTC truncated to the microsecond; the zero time
// stays zero.
func floorMicro(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// ceilMicro returns t in UTC rounded up to the microsecond; the zero time
// stays zero.
func ceilMicro(t time.Time) time.Time {
	f := floorMicro(t)
	if f.Before(t) {
		f = f.Add(time.Microsecond)
	}
	return f
}

// Summary returns the timer's derived fields without its history; Policy
// and Metric come from Timer and stay empty when Timer is nil.
func (r TimerRecord) Summary() TimerSummary {
	s := TimerSummary{ID: r.ID, PolicyKind: r.PolicyKind, Stage: r.Stage,
		AtRiskAt: r.AtRiskAt, BreachAt: r.BreachAt, NextWakeAt: r.NextWakeAt}
	if r.Timer != nil {
		s.Policy, s.Metric = r.Timer.Policy(), r.Timer.Metric()
	}
	return s
}

// CheckTimerRecords checks what a store needs to keep timers: each has a
// record with a well-formed kind and an ID, an ID (IDs are 1 to MaxIDLen
// bytes of valid UTF-8 without NUL bytes) and a Timer whose policy name
// (at most MaxIDLen bytes) and events' reasons (at most MaxTextLen bytes)
// are valid UTF-8 without NUL bytes, and whose events
// and derived instants (at risk, breach, next wake-up) lie in the years 1
// to 9999 (UTC), the instants every store keeps. It does not check that
// the derived fields match the Timer. It returns one *itsm.ValidationError
// naming each problem as "[i].field", or nil. The number of events per
// cycle is a limit of the record's kind, which Limits.CheckTimerRecords
// checks before it runs this; adapters call that (through
// Registry.CheckTimerRecords) in PutTimers before writing anything.
func CheckTimerRecords(timers []TimerRecord) error {
	v := &itsm.ValidationError{Subject: "timer records"}
	for i, r := range timers {
		at := "[" + strconv.Itoa(i) + "]."
		if msg := idProblem(r.ID); msg != "" {
			v.Add(at+"id", "%s", msg)
		}
		if !validName(r.Record.Kind) {
			v.Add(at+"record.kind", "%q is not a kind name", r.Record.Kind)
		}
		if msg := idProblem(r.Record.ID); msg != "" {
			v.Add(at+"record.id", "%s", msg)
		}
		if r.Timer == nil {
			v.Add(at+"timer", "must not be nil")
			continue
		}
		if msg := textProblem(r.Timer.Policy(), MaxIDLen); msg != "" {
			v.Add(at+"timer.policy", "%s", msg)
		}
		for j, ev := range r.Timer.Events() {
			evAt := at + "timer.events[" + strconv.Itoa(j) + "]."
			if !ev.At.IsZero() && !validInstant(ev.At) {
				v.Add(evAt+"at", "lies outside the years 1 to 9999 (UTC)")
			}
			if msg := textProblem(ev.Reason, MaxTextLen); msg != "" {
				v.Add(evAt+"reason", "%s", msg)
			}
		}
		for _, d := range []struct {
			name string
			at   time.Time
		}{{"at_risk_at", r.AtRiskAt}, {"breach_at", r.BreachAt}, {"next_wake_at", r.NextWakeAt}} {
			if !d.at.IsZero() && !validInstant(d.at) {
				v.Add(at+d.name, "lies outside the years 1 to 9999 (UTC)")
			}
		}
	}
	return v.Err()
}

// TimerSummary is what a list view shows of one SLA timer: its identity
// and derived instants, without its history.
type TimerSummary struct {
	ID         string         `json:"id"`
	Policy     string         `json:"policy"`
	PolicyKind sla.PolicyKind `json:"policy_kind"`
	Metric     sla.Metric     `json:"metric"`
	Stage      sla.Stage      `json:"stage"`
	AtRiskAt   time.Time      `json:"at_risk_at,omitzero"`
	BreachAt   time.Time      `json:"breach_at,omitzero"`
	NextWakeAt time.Time      `json:"next_wake_at,omitzero"`
}

// Active reports whether the timer was running or paused when it was
// saved.
func (s TimerSummary) Active() bool { return s.Stage == sla.StageRunning || s.Stage == sla.StagePaused }

// BreachedBy reports whether the timer has breached at now: it has a
// breach instant and now is after it. At the breach instant itself the
// elapsed time equals the target, which is not yet a breach. A timer that
// breached keeps counting as breached after it is stopped.
func (s TimerSummary) BreachedBy(now time.Time) bool {
	return !s.BreachAt.IsZero() && now.After(s.BreachAt)
}

// AtRiskBy reports whether the timer is at risk at now: Active, with a
// last warning instant at or before now, and not BreachedBy now.
func (s TimerSummary) AtRiskBy(now time.Time) bool {
	return s.Active() && !s.AtRiskAt.IsZero() && !now.Before(s.AtRiskAt) && !s.BreachedBy(now)
}

// Summary is the SLA summary of one record: its timers' summaries in the
// order the timers were first saved.
type Summary []TimerSummary

// NextDue returns the earliest breach instant of an active timer that has
// not breached at now (a breach instant at or after now), or the zero
// time when there is none. Paused timers have no breach instant.
func (s Summary) NextDue(now time.Time) time.Time {
	var due time.Time
	for _, t := range s {
		if t.Active() && !t.BreachAt.IsZero() && !t.BreachedBy(now) && (due.IsZero() || t.BreachAt.Before(due)) {
			due = t.BreachAt
		}
	}
	return due
}

// Breached reports whether any timer has breached at now.
func (s Summary) Breached(now time.Time) bool {
	for _, t := range s {
		if t.BreachedBy(now) {
			return true
		}
	}
	return false
}

// AtRisk reports whether any timer is at risk at now.
func (s Summary) AtRisk(now time.Time) bool {
	for _, t := range s {
		if t.AtRiskBy(now) {
			return true
		}
	}
	return false
}

// Metric returns the summaries of the timers of metric m, in order; nil
// when there are none.
func (s Summary) Metric(m sla.Metric) Summary {
	var out Summary
	for _, t := range s {
		if t.Metric == m {
			out = append(out, t)
		}
	}
	return out
}
