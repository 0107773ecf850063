package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
)

// ProcessDueTimers implements storage.TimerProcessor. In one transaction
// (waiting for the writer like InTx, or returning ctx.Err() when ctx is
// done first) it takes up to limit timers whose NextWakeAt is at or
// before now, in the order of TimersDue, decodes each and binds its
// calendar (see WithCalendars), records each crossing storage.Crossings
// reports at now unless it is recorded already for the timer's record,
// timer ID, cycle and basis points, calls hook for each crossing it
// recorded, in threshold order, and stores the timer's refreshed Stage,
// AtRiskAt, BreachAt and NextWakeAt (record.NewTimerRecord at now), which
// refreshes its record's SLA summary too. It returns how many timers it
// processed.
//
// Transactions run one at a time, so concurrent workers never process a
// timer together and a crossing is recorded exactly once. When hook
// returns an error, or a timer cannot be decoded or bound, or ctx is done
// before the commit, nothing of the pass is kept and the error is
// returned; the crossings are offered again on the next pass. hook runs
// inside the transaction: it must not call InTx or ProcessDueTimers of
// the same store, which would wait for it forever. A limit of 0 or less
// processes nothing; a nil hook records crossings without telling anyone.
func (s *Store) ProcessDueTimers(ctx context.Context, now time.Time, limit int, hook storage.CrossingHook) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if limit <= 0 {
		return 0, nil
	}
	if err := s.acquire(ctx); err != nil {
		return 0, err
	}
	defer s.release()
	t := s.begin()
	defer t.end()
	v := t.v
	due, err := v.timersDue(now, limit)
	if err != nil {
		return 0, err
	}
	rows := make([]*timerRow, 0, len(due))
	for _, rec := range due {
		if err := rec.Timer.Bind(s.cals); err != nil {
			return 0, fmt.Errorf("memory: process timer %s of %s: %w", rec.ID, rec.Record, err)
		}
		for _, c := range storage.Crossings(rec, now) {
			k := crossingItem{rec: c.Record, timer: c.TimerID, cycle: c.Cycle, points: c.BasisPoints}
			if v.t.crossings.Has(k) {
				continue
			}
			v.t.crossings.ReplaceOrInsert(k)
			if hook != nil {
				if err := hook(ctx, c); err != nil {
					return 0, err
				}
			}
		}
		fresh := record.NewTimerRecord(rec.Record, rec.ID, rec.PolicyKind, rec.Timer, now)
		fresh.AtRiskAt, fresh.BreachAt, fresh.NextWakeAt = fresh.AtRiskAt.UTC(), fresh.BreachAt.UTC(), fresh.NextWakeAt.UTC()
		row, _ := v.t.timers.Get(&timerRow{rec: fresh})
		sum := fresh.Summary()
		fresh.Timer = nil
		// The timer's history is unchanged, and so is its encoding.
		rows = append(rows, &timerRow{rec: fresh, sum: sum, enc: row.enc})
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	v.putTimers(rows)
	s.commit(t.end())
	return len(due), nil
}
