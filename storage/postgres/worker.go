package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
)

// ProcessDueTimers implements storage.TimerProcessor for timers of every
// kind. In one READ COMMITTED transaction it locks up to limit records
// whose earliest wake-up (the SLA summary's) is at or before now, earliest
// first (records of the same instant in no particular order), with SELECT
// ... FOR NO KEY UPDATE SKIP LOCKED, so that concurrent workers (in this
// process or others) take disjoint records and none waits for another or
// for a transaction writing a record, and claims up to limit of their due
// timers, earliest first and then by timer ID, record kind and record ID.
// It decodes and binds each timer (see WithCalendars); a timer whose
// calendar the store does not know is left as it is and reported in
// Batch.Skipped. For each other timer it records every crossing
// storage.Crossings reports at now in sla_crossings unless it is recorded
// already for the timer's record, timer ID, cycle and basis points
// (INSERT ... ON CONFLICT DO NOTHING, all timers in one round trip),
// appends the audit event (storage.Crossing.Event) of each crossing it
// recorded with Tx.AppendEvents (sequence, hash chain, outbox message),
// and stores the timer's refreshed Stage, AtRiskAt, BreachAt and
// NextWakeAt (record.NewTimerRecord at now); then it brings the SLA
// summary of each record up to date, with the commit.
//
// Nothing is delivered inside the transaction: subscribers read the
// outbox after the commit, and may write to the same records. On an error
// the transaction rolls back and nothing of the call is kept. A limit of
// 0 or less processes nothing.
func (s *Store) ProcessDueTimers(ctx context.Context, now time.Time, limit int) (storage.Batch, error) {
	if limit <= 0 {
		return storage.Batch{}, nil
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return storage.Batch{}, fmt.Errorf("postgres: process timers: begin: %w", mapError(err, "", ""))
	}
	var b storage.Batch
	err = runTx(ctx, s, &lazyTx{conn: conn, begin: beginSQL}, func(ctx context.Context, rt record.Tx) error {
		b = storage.Batch{}
		t := rt.(*txn)
		var due []record.TimerRecord
		err := t.use(ctx, func(db querier) (err error) {
			due, err = s.queryTimers(ctx, db, s.q.claimDue, now.Truncate(time.Microsecond), limit)
			for _, rec := range due {
				t.hold(rec.Record) // locked by claimDue until the end
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: process timers: %w", err)
		}
		b.Claimed = len(due)
		var groups [][]storage.Crossing
		var fresh []record.TimerRecord
		for _, rec := range due {
			if err := rec.Timer.Bind(s.cals); err != nil {
				b.Skipped = append(b.Skipped, &storage.UnknownCalendarError{Calendar: rec.Timer.CalendarName(), Record: rec.Record, TimerID: rec.ID})
				continue
			}
			groups = append(groups, storage.Crossings(rec, now))
			fresh = append(fresh, record.NewTimerRecord(rec.Record, rec.ID, rec.PolicyKind, rec.Timer, now))
		}
		if b.Recorded, err = t.recordCrossings(ctx, groups, now); err != nil {
			return fmt.Errorf("postgres: process timers: %w", err)
		}
		stages := make([]string, len(fresh))
		for i, f := range fresh {
			stage, err := f.Stage.MarshalText()
			if err != nil {
				return fmt.Errorf("postgres: process timer %s of %s: %w", f.ID, f.Record, err)
			}
			stages[i] = string(stage)
		}
		_, err = t.deferIf(func() bool { return true }, func(p *pgx.Batch) {
			var touched []record.Ref
			for i, f := range fresh {
				p.Queue(s.q.refreshTimer, f.Record.Kind, f.Record.ID, f.ID, stages[i],
					nullTime(micro(f.AtRiskAt)), nullTime(micro(f.BreachAt)), wakeTime(f.NextWakeAt))
				if !slices.Contains(touched, f.Record) {
					touched = append(touched, f.Record)
				}
			}
			for _, ref := range touched {
				p.Queue(s.q.refreshSummary, ref.Kind, ref.ID)
			}
		})
		b.Processed = len(fresh)
		return err
	})
	if err != nil {
		return storage.Batch{}, err
	}
	return b, nil
}

// recordCrossings inserts each group of crossings (those of one timer) in
// sla_crossings, all groups in one round trip, and appends with
// AppendEvents the audit event of each crossing that was not recorded
// before, in the order of groups. recorded is the recorded_at of the
// rows. It returns how many crossings it recorded.
func (t *txn) recordCrossings(ctx context.Context, groups [][]storage.Crossing, recorded time.Time) (int, error) {
	b := &pgx.Batch{}
	var sent [][]storage.Crossing
	for _, cs := range groups {
		if len(cs) == 0 {
			continue
		}
		cycles, bps, ats := make([]int32, len(cs)), make([]int32, len(cs)), make([]time.Time, len(cs))
		for i, c := range cs {
			cycles[i], bps[i], ats[i] = int32(c.Cycle), c.BasisPoints, c.At
		}
		c := cs[0]
		b.Queue(t.s.q.insertCrossings, c.Record.Kind, c.Record.ID, c.TimerID, c.Policy, string(c.Metric), recorded,
			cycles, bps, ats)
		sent = append(sent, cs)
	}
	if len(sent) == 0 {
		return 0, nil
	}
	type key struct{ cycle, bp int32 }
	var evs []itsm.Event
	err := t.use(ctx, func(db querier) error {
		br := db.SendBatch(ctx, b)
		for _, cs := range sent {
			rows, err := br.Query()
			if err != nil {
				return errors.Join(err, br.Close())
			}
			var k key
			var fresh []key
			if _, err := pgx.ForEachRow(rows, []any{&k.cycle, &k.bp}, func() error { fresh = append(fresh, k); return nil }); err != nil {
				return errors.Join(err, br.Close())
			}
			for _, c := range cs { // in threshold order, whatever order RETURNING used
				if slices.Contains(fresh, key{int32(c.Cycle), c.BasisPoints}) {
					evs = append(evs, c.Event())
				}
			}
		}
		return br.Close()
	})
	if err != nil {
		return 0, fmt.Errorf("record SLA crossings: %w", mapError(err, "", ""))
	}
	if err := t.AppendEvents(ctx, evs...); err != nil {
		return 0, err
	}
	return len(evs), nil
}

// UnknownCalendars implements storage.TimerProcessor with one statement
// that reads the calendar names of the timers that have a wake-up,
// reaching them through the partial index of records by their earliest
// wake-up (records_sla_wake_idx), so its cost grows with the timers
// awaiting a wake-up and never with the finished ones; it returns the
// names the store's calendars (see WithCalendars) do not resolve.
func (s *Store) UnknownCalendars(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT coalesce(t.timer->>'calendar', '')
		FROM `+s.q.schema+`.records r JOIN `+s.q.schema+`.sla_timers t ON t.kind = r.kind AND t.record_id = r.id
		WHERE r.sla_wake_at IS NOT NULL AND t.next_wake_at IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list timer calendars: %w", mapError(err, "", ""))
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: list timer calendars: %w", mapError(err, "", ""))
	}
	var out []string
	for _, name := range names {
		if name == "" {
			continue // a 24×7 timer binds itself
		}
		ok := false
		if s.cals != nil {
			_, ok = s.cals.Calendar(name)
		}
		if !ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}
