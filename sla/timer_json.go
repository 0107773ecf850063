package sla

import (
	"encoding/json"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/shopspring/decimal"
)

// isoDuration is a time.Duration that reads and writes as an ISO 8601
// time-only duration (FormatISODuration, ParseISODuration).
type isoDuration time.Duration

// MarshalText writes FormatISODuration.
func (d isoDuration) MarshalText() ([]byte, error) {
	return []byte(FormatISODuration(time.Duration(d))), nil
}

// UnmarshalText reads with ParseISODuration.
func (d *isoDuration) UnmarshalText(b []byte) error {
	v, err := ParseISODuration(string(b))
	if err != nil {
		return err
	}
	*d = isoDuration(v)
	return nil
}

type thresholdJSON struct {
	Percent  decimal.Decimal `json:"percent"`
	Business isoDuration     `json:"business"`
	Reached  bool            `json:"reached"`
	At       time.Time       `json:"at,omitzero"`
}

// MarshalJSON writes the threshold as
// {"percent":"75","business":"PT3H","reached":true,"at":"2026-…"}; "at"
// is left out when zero.
func (th Threshold) MarshalJSON() ([]byte, error) {
	return json.Marshal(thresholdJSON{Percent: th.Percent(), Business: isoDuration(th.Business), Reached: th.Reached, At: th.At})
}

// UnmarshalJSON reads the form written by MarshalJSON. The percentage must
// lie in (0, 100] with at most two decimal places.
func (th *Threshold) UnmarshalJSON(b []byte) error {
	var w thresholdJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	bp := w.Percent.Shift(2)
	if !bp.IsInteger() || !bp.IsPositive() || bp.GreaterThan(decimal.NewFromInt(fullBasisPoints)) {
		return itsm.NewValidationError("threshold", "percent", "%s is outside (0, 100] or has more than two decimal places", w.Percent)
	}
	*th = Threshold{BasisPoints: int32(bp.IntPart()), Business: time.Duration(w.Business), Reached: w.Reached, At: w.At}
	return nil
}

type statusJSON struct {
	Stage          Stage           `json:"stage"`
	Cycle          int             `json:"cycle,omitempty"`
	Priority       itsm.Priority   `json:"priority,omitzero"`
	Target         Target          `json:"target,omitzero"`
	TargetBusiness isoDuration     `json:"target_business"`
	Started        time.Time       `json:"started,omitzero"`
	Elapsed        isoDuration     `json:"elapsed"`
	ActualElapsed  isoDuration     `json:"actual_elapsed"`
	PausedTime     isoDuration     `json:"paused_time"`
	Remaining      isoDuration     `json:"remaining"`
	Percent        decimal.Decimal `json:"percent"`
	Paused         bool            `json:"paused,omitempty"`
	Due            time.Time       `json:"due,omitzero"`
	BreachedAt     time.Time       `json:"breached_at,omitzero"`
	Ended          time.Time       `json:"ended,omitzero"`
	NextWake       time.Time       `json:"next_wake,omitzero"`
	Thresholds     []Threshold     `json:"thresholds,omitempty"`
}

// MarshalJSON writes the status with snake_case keys, durations as ISO 8601
// time-only strings ("PT3H30M"), instants as RFC 3339 with their offset
// (zero instants left out), the stage as its lower-case name, and the
// derived "percent" (Percent, as a decimal string) for readers.
func (s Status) MarshalJSON() ([]byte, error) {
	return json.Marshal(statusJSON{
		Stage: s.Stage, Cycle: s.Cycle, Priority: s.Priority, Target: s.Target,
		TargetBusiness: isoDuration(s.TargetBusiness), Started: s.Started,
		Elapsed: isoDuration(s.Elapsed), ActualElapsed: isoDuration(s.ActualElapsed),
		PausedTime: isoDuration(s.PausedTime), Remaining: isoDuration(s.Remaining),
		Percent: s.Percent(), Paused: s.Paused, Due: s.Due, BreachedAt: s.BreachedAt,
		Ended: s.Ended, NextWake: s.NextWake, Thresholds: s.ThresholdList(),
	})
}

// UnmarshalJSON reads the form written by MarshalJSON. "percent" is
// derived and ignored; at most MaxWarnings+1 thresholds are accepted.
func (s *Status) UnmarshalJSON(b []byte) error {
	var w statusJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if len(w.Thresholds) > MaxWarnings+1 {
		return itsm.NewValidationError("status", "thresholds", "at most %d thresholds, got %d", MaxWarnings+1, len(w.Thresholds))
	}
	v := Status{
		Stage: w.Stage, Cycle: w.Cycle, Priority: w.Priority, Target: w.Target,
		TargetBusiness: time.Duration(w.TargetBusiness), Started: w.Started,
		Elapsed: time.Duration(w.Elapsed), ActualElapsed: time.Duration(w.ActualElapsed),
		PausedTime: time.Duration(w.PausedTime), Remaining: time.Duration(w.Remaining),
		Paused: w.Paused, Due: w.Due, BreachedAt: w.BreachedAt, Ended: w.Ended, NextWake: w.NextWake,
	}
	v.NumThresholds = copy(v.Thresholds[:], w.Thresholds)
	*s = v
	return nil
}

type timerJSON struct {
	Policy   string            `json:"policy,omitempty"`
	Kind     PolicyKind        `json:"kind"`
	Metric   Metric            `json:"metric,omitempty"`
	Priority itsm.Priority     `json:"priority,omitzero"`
	Calendar string            `json:"calendar,omitempty"`
	TimeZone string            `json:"time_zone,omitempty"`
	Target   Target            `json:"target"`
	Warnings []decimal.Decimal `json:"warnings"`
	Events   []TimerEvent      `json:"events"`
}

// MarshalJSON writes the timer's identity, target, warnings and history:
//
//	{"policy":"gold","kind":"sla","metric":"resolution","priority":"high",
//	 "calendar":"us-9-5","target":"PT8H","warnings":["50","75"],
//	 "events":[{"kind":"start","at":"…","target":"PT8H","priority":"high"}, …]}
//
// A 24×7 timer has no "calendar" and records its zone in "time_zone".
func (t *Timer) MarshalJSON() ([]byte, error) {
	w := timerJSON{
		Policy: t.policy, Kind: t.kind, Metric: t.metric, Priority: t.priority,
		Calendar: t.calName, Target: t.target, Events: t.events,
		Warnings: make([]decimal.Decimal, t.nwarn),
	}
	if w.Events == nil {
		w.Events = []TimerEvent{}
	}
	for i := range t.nwarn {
		w.Warnings[i] = decimal.New(int64(t.warnings[i]), -2)
	}
	if t.calName == "" {
		switch {
		case t.cal != nil:
			w.TimeZone = t.cal.Location().String()
		default:
			w.TimeZone = t.zone
		}
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the form written by MarshalJSON and checks the
// history with ValidateHistory (a *HistoryError on failure) and the target
// and warnings as NewTimer does. A 24×7 timer (no "calendar") is bound to
// AlwaysOpen in its zone; a timer with a named calendar must be bound with
// Bind before Status.
func (t *Timer) UnmarshalJSON(b []byte) error {
	var w timerJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	v := &itsm.ValidationError{Subject: "timer"}
	if err := w.Target.Validate(); err != nil {
		v.Add("target", "%s must be positive", w.Target)
	}
	if w.Warnings == nil {
		w.Warnings = DefaultWarnings()
	}
	var bps [MaxWarnings]int32
	if len(w.Warnings) > MaxWarnings {
		v.Add("warnings", "at most %d warning thresholds, got %d", MaxWarnings, len(w.Warnings))
	} else {
		bps, _ = warningBasisPoints(w.Warnings, v)
	}
	var cal *Calendar
	if w.Calendar == "" {
		loc, err := time.LoadLocation(w.TimeZone)
		if err != nil {
			v.Add("time_zone", "unknown time zone %q", w.TimeZone)
		} else {
			cal = AlwaysOpen(loc)
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	nt := Timer{
		policy: w.Policy, kind: w.Kind, metric: w.Metric, priority: w.Priority,
		calName: w.Calendar, zone: w.TimeZone, cal: cal, target: w.Target,
		warnings: bps, nwarn: len(w.Warnings),
	}
	for _, ev := range w.Events {
		if err := nt.Append(ev); err != nil {
			return err
		}
	}
	*t = nt
	return nil
}
