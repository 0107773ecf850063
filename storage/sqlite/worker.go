package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
)

// sqlTimerCalendars lists the calendar names of the timers that have a
// wake-up, found through the partial index of records by sla_wake_at: its
// cost grows with the timers awaiting a wake-up, never with the finished
// ones. A 24×7 timer names none (”).
const sqlTimerCalendars = `SELECT DISTINCT coalesce(json_extract(t.timer, '$.calendar'), '')
	FROM records r JOIN sla_timers t ON t.kind = r.kind AND t.record_id = r.id
	WHERE r.sla_wake_at IS NOT NULL AND t.next_wake_at IS NOT NULL`

// ProcessDueTimers implements storage.TimerProcessor for the timers of
// records of every kind. In one write transaction it takes up to limit
// timers whose NextWakeAt is at or before now (earliest first, then by
// timer ID, record kind and record ID), decodes each and binds its
// calendar (see WithCalendars). A timer whose calendar the store does not
// know is left as it is and reported in Batch.Skipped. For each other
// timer it records each crossing storage.Crossings reports at now in
// sla_crossings unless it is there already, appends the audit event
// (storage.Crossing.Event) of each crossing it recorded through the path
// of Tx.AppendEvents (sequence, hash chain, outbox message), stores the
// timer's refreshed Stage, AtRiskAt, BreachAt and NextWakeAt
// (record.NewTimerRecord at now), and brings the SLA summary of each
// record touched up to date.
//
// Writers of one database run one at a time, so concurrent workers (in
// this process or others) never process a timer together, and a crossing
// is recorded exactly once. Nothing is delivered inside the transaction,
// which holds the write lock only for the database work: subscribers read
// the outbox after the commit, and may write. On an error the transaction
// rolls back and nothing of the call is kept. A limit of 0 or less
// processes nothing.
func (s *Store) ProcessDueTimers(ctx context.Context, now time.Time, limit int) (storage.Batch, error) {
	if limit <= 0 {
		return storage.Batch{}, nil
	}
	var b storage.Batch
	err := s.write(ctx, func(c txConn) error {
		b = storage.Batch{}
		t := s.newTx(c)
		defer t.done.Store(true)
		due, err := t.timers(ctx, sqlTimersDue, micro(now), limit)
		if err != nil || len(due) == 0 {
			return err
		}
		b.Claimed = len(due)
		refresh, err := prepareIn(ctx, c, sqlRefreshTimer)
		if err != nil {
			return err
		}
		defer refresh.Close()
		var refs []record.Ref
		for _, rec := range due {
			if err := rec.Timer.Bind(s.cfg.calendars); err != nil {
				b.Skipped = append(b.Skipped, &storage.UnknownCalendarError{Calendar: rec.Timer.CalendarName(), Record: rec.Record, TimerID: rec.ID})
				continue
			}
			n, err := t.recordCrossings(ctx, storage.Crossings(rec, now), now)
			if err != nil {
				return fmt.Errorf("sqlite: record crossings of timer %s of %s: %w", rec.ID, rec.Record, err)
			}
			b.Recorded += n
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
			if !slices.Contains(refs, rec.Record) {
				refs = append(refs, rec.Record)
			}
			b.Processed++
		}
		for _, ref := range refs {
			if _, err := c.ExecContext(ctx, sqlRefreshSummary, ref.Kind, ref.ID); err != nil {
				return fmt.Errorf("sqlite: refresh SLA summary of %s: %w", ref, mapErr(err))
			}
		}
		return nil
	})
	if err != nil {
		return storage.Batch{}, err
	}
	return b, nil
}

// recordCrossings inserts cs into sla_crossings (recorded at recorded),
// and appends the audit event of each one that was not there before, in
// order, with AppendEvents. It returns how many it recorded. The caller
// runs it where a failure ends the whole call (ProcessDueTimers) or under
// a savepoint (PutTimers).
func (t *tx) recordCrossings(ctx context.Context, cs []storage.Crossing, recorded time.Time) (int, error) {
	if len(cs) == 0 {
		return 0, nil
	}
	var evs []itsm.Event
	for _, cr := range cs {
		res, err := t.q.ExecContext(ctx, sqlInsertCrossing, cr.Record.Kind, cr.Record.ID, cr.TimerID, cr.Cycle, cr.BasisPoints,
			cr.Policy, string(cr.Metric), micro(cr.At), micro(recorded))
		if err != nil {
			return 0, mapErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return 0, mapErr(err)
		} else if n == 1 {
			evs = append(evs, cr.Event())
		}
	}
	if err := t.AppendEvents(ctx, evs...); err != nil {
		return 0, err
	}
	return len(evs), nil
}

// UnknownCalendars implements storage.TimerProcessor with one read of the
// calendar names of the timers that have a wake-up (through the partial
// index of records by their earliest wake-up, so finished timers cost
// nothing), and returns those the store's calendars (see WithCalendars)
// do not resolve.
func (s *Store) UnknownCalendars(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, sqlTimerCalendars)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list timer calendars: %w", mapErr(err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name sql.NullString
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("sqlite: list timer calendars: %w", mapErr(err))
		}
		if name.String == "" {
			continue // a 24×7 timer binds itself
		}
		ok := false
		if s.cfg.calendars != nil {
			_, ok = s.cfg.calendars.Calendar(name.String)
		}
		if !ok {
			out = append(out, name.String)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list timer calendars: %w", mapErr(err))
	}
	slices.Sort(out)
	return out, nil
}
