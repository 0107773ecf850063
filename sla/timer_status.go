package sla

import (
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/shopspring/decimal"
)

// Stage is where a timer cycle stands. Its text form is the lower-case
// name.
type Stage uint8

// The stages.
const (
	// StagePending: the timer has not started (or starts after the
	// instant asked about).
	StagePending Stage = iota
	// StageRunning: the clock runs and the target is not exceeded.
	StageRunning
	// StagePaused: the clock is paused and the target is not exceeded.
	StagePaused
	// StageMet: the cycle was stopped within its target.
	StageMet
	// StageBreached: business elapsed time exceeds the target, whether
	// the cycle is still running, paused or stopped. A breached cycle
	// cannot become met.
	StageBreached
	// StageCancelled: the cycle was cancelled, or reset while active.
	StageCancelled
)

var stageNames = [...]string{"pending", "running", "paused", "met", "breached", "cancelled"}

// String returns the lower-case name, or "stage(N)" for an unknown value.
func (s Stage) String() string {
	if int(s) < len(stageNames) {
		return stageNames[s]
	}
	return "stage(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText returns String, refusing an unknown stage.
func (s Stage) MarshalText() ([]byte, error) {
	if int(s) >= len(stageNames) {
		return nil, itsm.NewValidationError("stage", "stage", "unknown stage %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText accepts the lower-case names in any case.
func (s *Stage) UnmarshalText(b []byte) error {
	t := strings.TrimSpace(string(b))
	for i, n := range stageNames {
		if strings.EqualFold(t, n) {
			*s = Stage(i)
			return nil
		}
	}
	return itsm.NewValidationError("stage", "stage", "unknown stage %q", t)
}

// BasisPoints of 10000 make 100 %.
const fullBasisPoints = 10000

// Threshold is one threshold of a cycle: a warning (a share of the target
// that, once reached, should alert someone) or the breach.
type Threshold struct {
	// BasisPoints is the threshold in hundredths of a percent of the
	// target: 5000 is 50 %, 10000 the breach.
	BasisPoints int32
	// Business is the business elapsed time at which the threshold is
	// reached: the target times BasisPoints / 10000, rounded down to the
	// nanosecond.
	Business time.Duration
	// Reached reports whether the threshold has been reached at the
	// instant asked about. A warning is reached once elapsed ≥ Business;
	// the breach once elapsed > Business (the target).
	Reached bool
	// At is the instant the threshold was reached, or will be reached if
	// the clock keeps running; zero when it has not been reached and the
	// clock is not running (paused, stopped, cancelled). For a warning it
	// is the first instant with elapsed = Business; for the breach it is
	// the breach instant (see Status.BreachedAt).
	At time.Time
}

// Breach reports whether this is the breach threshold (100 %).
func (th Threshold) Breach() bool { return th.BasisPoints == fullBasisPoints }

// Percent returns the threshold in percent, such as 75 or 87.5. It
// allocates; Status never calls it.
func (th Threshold) Percent() decimal.Decimal { return decimal.New(int64(th.BasisPoints), -2) }

// Status is what a timer cycle looks like at one instant. It is a plain
// value: Timer.Status builds it without allocating, and the decimal
// percentage is computed on demand by Percent.
//
// Instants keep the location of the time they were computed from (an
// event's At or the now passed to Status), so compare them with Equal;
// durations are exact to the nanosecond.
type Status struct {
	// Stage is the cycle's stage at the instant asked about.
	Stage Stage
	// Cycle numbers the cycle from 1 (0 while pending); each reset starts
	// a new one.
	Cycle int
	// Priority is the priority recorded with the cycle's latest target,
	// or 0 when none was recorded.
	Priority itsm.Priority
	// Target is the cycle's target in its written form.
	Target Target
	// TargetBusiness is the target as business time: Target itself, or
	// for a business-days target its conversion at the cycle start.
	TargetBusiness time.Duration
	// Started is the cycle's start.
	Started time.Time
	// Elapsed is the business time the clock has run (open calendar time
	// outside pauses).
	Elapsed time.Duration
	// ActualElapsed is the real time the clock has run, outside pauses;
	// always ≥ Elapsed.
	ActualElapsed time.Duration
	// PausedTime is the real time the cycle has spent paused.
	PausedTime time.Duration
	// Remaining is TargetBusiness − Elapsed; negative once breached, by
	// how much the target is exceeded.
	Remaining time.Duration
	// Paused reports whether the clock is paused (in stage paused or
	// breached).
	Paused bool
	// Due is the first instant at which elapsed reaches the target while
	// the clock runs: in the future while running, in the past once
	// breached. It is zero while paused or ended, because then the
	// deadline is not known.
	Due time.Time
	// BreachedAt is the breach instant, set only in stage breached: the
	// last instant with elapsed = target, after which every instant has
	// elapsed > target. It equals the due instant when that falls inside
	// open hours; when the due instant is a close (17:00 Friday), the
	// breach instant is the next opening (09:00 Monday), because elapsed
	// does not grow in between and a stop at 18:00 Friday is still met.
	BreachedAt time.Time
	// Ended is when the cycle was stopped, cancelled or reset; zero while
	// active.
	Ended time.Time
	// NextWake is the earliest future instant at which Status will change
	// stage or reach a threshold without a new event, for a scheduler to
	// wake up: the next unreached warning's instant, or for the breach the
	// first instant after BreachedAt. Zero when nothing is due (paused,
	// ended, pending or already breached).
	NextWake time.Time
	// Thresholds holds the warnings in increasing order and then the
	// breach; only the first NumThresholds entries are used.
	Thresholds [MaxWarnings + 1]Threshold
	// NumThresholds is the number of used entries of Thresholds.
	NumThresholds int
}

// ThresholdList returns the used thresholds as a slice (it allocates).
func (s Status) ThresholdList() []Threshold {
	return append([]Threshold(nil), s.Thresholds[:s.NumThresholds]...)
}

// Active reports whether the cycle has started and not ended.
func (s Status) Active() bool { return s.Stage != StagePending && s.Ended.IsZero() }

// Percent returns Elapsed / TargetBusiness in percent, rounded half away
// from zero to four decimal places (100 × elapsed / target computed
// exactly on integers, then rounded once). It is 0 while pending. It
// allocates, which is why it is a method and not a field.
func (s Status) Percent() decimal.Decimal { return s.PercentRound(4) }

// PercentRound is Percent rounded half away from zero to places decimal
// places (places < 0 is treated as 0).
func (s Status) PercentRound(places int32) decimal.Decimal {
	return percentOf(int64(s.Elapsed), int64(s.TargetBusiness), places)
}

// percentOf returns 100 × num / den rounded half away from zero to places
// decimal places, computed exactly on integers; zero when den ≤ 0.
func percentOf(num, den int64, places int32) decimal.Decimal {
	if den <= 0 {
		return decimal.Zero
	}
	places = max(places, 0)
	n := big.NewInt(num)
	n.Mul(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)+2), nil))
	d := big.NewInt(den)
	quo, rem := new(big.Int).QuoRem(n, d, new(big.Int))
	rem.Abs(rem).Lsh(rem, 1)
	if rem.Cmp(d) >= 0 {
		quo.Add(quo, big.NewInt(int64(n.Sign())))
	}
	return decimal.NewFromBigInt(quo, -places)
}
