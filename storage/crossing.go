package storage

import (
	"context"
	"time"

	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// Crossing is one threshold of one SLA timer cycle that has been reached:
// a warning (such as 75 % of the target) or the breach. A wake-up worker
// records each crossing once, keyed by Record, TimerID, Cycle and
// BasisPoints, and hands it to a CrossingHook.
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

// CrossingHook receives each crossing once it is recorded, inside the
// transaction that records it: when the hook returns an error the
// transaction rolls back and the crossing is offered again on a later
// pass. Delivery is therefore at least once; the recording is exactly
// once.
type CrossingHook func(ctx context.Context, c Crossing) error

// Crossings returns the thresholds of the timer's current cycle that are
// reached at now, in increasing order. The timer must have its calendar
// bound.
func Crossings(rec record.TimerRecord, now time.Time) []Crossing {
	st := rec.Timer.Status(now)
	var out []Crossing
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
