package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
)

// ProcessDueTimers implements storage.TimerProcessor for the timers of
// records of every kind. In one write transaction it takes up to limit
// timers whose NextWakeAt is at or before now (earliest first, then by
// timer ID, record kind and record ID), decodes each and binds its
// calendar (see WithCalendars), records each crossing storage.Crossings
// reports at now in sla_crossings unless it is there already, calls hook
// for each crossing it recorded, stores the timer's refreshed Stage,
// AtRiskAt, BreachAt and NextWakeAt (record.NewTimerRecord at now), and
// brings the SLA summary of each record touched up to date. It returns
// how many timers it processed.
//
// Writers of one database run one at a time, so concurrent workers (in
// this process or others) never process a timer together, and a crossing
// is recorded exactly once. When hook returns an error, or a timer cannot
// be decoded or bound, the transaction rolls back, nothing of the pass is
// kept, and the error is returned; the crossings are offered again on the
// next pass. A limit of 0 or less processes nothing; a nil hook records
// crossings without telling anyone.
func (s *Store) ProcessDueTimers(ctx context.Context, now time.Time, limit int, hook storage.CrossingHook) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	processed := 0
	err := s.write(ctx, func(c txConn) error {
		due, err := reader{q: c}.timers(ctx, sqlTimersDue, micro(now), limit)
		if err != nil || len(due) == 0 {
			return err
		}
		// Each statement runs once or more per timer: parse them once per
		// pass even when the store's prepared statements are not ready.
		insert, err := prepareIn(ctx, c, sqlInsertCrossing)
		if err != nil {
			return err
		}
		defer insert.Close()
		refresh, err := prepareIn(ctx, c, sqlRefreshTimer)
		if err != nil {
			return err
		}
		defer refresh.Close()
		recorded := micro(now)
		var refs []record.Ref
		seen := make(map[record.Ref]bool)
		for _, rec := range due {
			if err := rec.Timer.Bind(s.cfg.calendars); err != nil {
				return fmt.Errorf("sqlite: process timer %s of %s: %w", rec.ID, rec.Record, err)
			}
			for _, cr := range storage.Crossings(rec, now) {
				res, err := insert.ExecContext(ctx, cr.Record.Kind, cr.Record.ID, cr.TimerID, cr.Cycle, cr.BasisPoints,
					cr.Policy, string(cr.Metric), micro(cr.At), recorded)
				if err != nil {
					return fmt.Errorf("sqlite: record crossing of timer %s of %s: %w", rec.ID, rec.Record, mapErr(err))
				}
				n, err := res.RowsAffected()
				if err != nil {
					return mapErr(err)
				}
				if n == 1 && hook != nil {
					if err := hook(ctx, cr); err != nil {
						return err
					}
				}
			}
			fresh := record.NewTimerRecord(rec.Record, rec.ID, rec.PolicyKind, rec.Timer, now)
			stage, err := fresh.Stage.MarshalText()
			if err != nil {
				return fmt.Errorf("sqlite: process timer %s of %s: %w", rec.ID, rec.Record, err)
			}
			_, err = refresh.ExecContext(ctx, string(stage), nullMicro(fresh.AtRiskAt), nullMicro(fresh.BreachAt),
				ceilMicro(fresh.NextWakeAt), rec.Record.Kind, rec.Record.ID, rec.ID)
			if err != nil {
				return fmt.Errorf("sqlite: refresh timer %s of %s: %w", rec.ID, rec.Record, mapErr(err))
			}
			if !seen[rec.Record] {
				seen[rec.Record] = true
				refs = append(refs, rec.Record)
			}
		}
		for _, ref := range refs {
			if _, err := c.ExecContext(ctx, sqlRefreshSummary, ref.Kind, ref.ID); err != nil {
				return fmt.Errorf("sqlite: refresh SLA summary of %s: %w", ref, mapErr(err))
			}
		}
		processed = len(due)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return processed, nil
}
