package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/storage"
)

// ProcessDueTimers implements storage.TimerProcessor. In one write
// transaction it takes up to limit timers whose NextWakeAt is at or before
// now (earliest first, then by ID), decodes each and binds its calendar
// (see WithCalendars), records each crossing storage.Crossings reports at
// now in sla_crossings unless it is there already, calls hook for each
// crossing it recorded, and stores the timer's refreshed Stage, AtRiskAt,
// BreachAt and NextWakeAt (incident.NewTimerRecord at now). It returns how
// many timers it processed.
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
	t, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: process timers: begin: %w", mapErr(err))
	}
	committed := false
	defer func() {
		if !committed {
			_ = t.Rollback()
		}
	}()
	c := s.writerConn(t)
	r := reader{q: c}
	due, err := r.timers(ctx, sqlTimersDue, micro(now), limit)
	if err != nil {
		return 0, err
	}
	if len(due) == 0 {
		return 0, nil // the deferred rollback ends the empty transaction
	}
	// Each statement runs once or more per timer: parse them once per
	// pass even when the store's prepared statements are not ready.
	insert, err := prepareIn(ctx, c, sqlInsertCrossing)
	if err != nil {
		return 0, err
	}
	defer insert.Close()
	refresh, err := prepareIn(ctx, c, sqlRefreshTimer)
	if err != nil {
		return 0, err
	}
	defer refresh.Close()
	recorded := micro(now)
	for _, rec := range due {
		if err := rec.Timer.Bind(s.cfg.calendars); err != nil {
			return 0, fmt.Errorf("sqlite: process timer %s: %w", rec.ID, err)
		}
		for _, c := range storage.Crossings(rec, now) {
			res, err := insert.ExecContext(ctx, c.TimerID, c.Cycle, c.BasisPoints, c.IncidentID, c.Policy, string(c.Metric), micro(c.At), recorded)
			if err != nil {
				return 0, fmt.Errorf("sqlite: record crossing of timer %s: %w", rec.ID, mapErr(err))
			}
			n, err := res.RowsAffected()
			if err != nil {
				return 0, mapErr(err)
			}
			if n == 1 && hook != nil {
				if err := hook(ctx, c); err != nil {
					return 0, err
				}
			}
		}
		fresh := incident.NewTimerRecord(rec.ID, rec.IncidentID, rec.Timer, now)
		stage, err := fresh.Stage.MarshalText()
		if err != nil {
			return 0, fmt.Errorf("sqlite: process timer %s: %w", rec.ID, err)
		}
		_, err = refresh.ExecContext(ctx, string(stage), nullMicro(fresh.AtRiskAt), nullMicro(fresh.BreachAt), ceilMicro(fresh.NextWakeAt), rec.IncidentID, rec.ID)
		if err != nil {
			return 0, fmt.Errorf("sqlite: refresh timer %s: %w", rec.ID, mapErr(err))
		}
	}
	if err := t.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: process timers: commit: %w", mapErr(err))
	}
	committed = true
	return len(due), nil
}
