package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

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
// For each timer it decodes and binds the timer (see WithCalendars),
// records every crossing storage.Crossings reports at now in
// sla_crossings unless it is recorded already for the timer's record,
// timer ID, cycle and basis points (INSERT ... ON CONFLICT DO NOTHING),
// calls hook for each crossing it recorded, in threshold order, and
// stores the timer's refreshed Stage, AtRiskAt, BreachAt and NextWakeAt
// (record.NewTimerRecord at now); then it brings the SLA summary of each
// record up to date. It returns how many timers it processed.
//
// When hook returns an error, or a timer cannot be decoded or bound, the
// transaction rolls back, nothing of the pass is kept, and the error is
// returned; the crossings are offered again on a later pass, so delivery
// is at least once and recording exactly once. A limit of 0 or less
// processes nothing; a nil hook records crossings without telling anyone.
func (s *Store) ProcessDueTimers(ctx context.Context, now time.Time, limit int, hook storage.CrossingHook) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	tx, err := s.pool.BeginTx(ctx, txOptions)
	if err != nil {
		return 0, fmt.Errorf("postgres: process timers: begin: %w", mapError(err, "", ""))
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		_ = tx.Rollback(rctx) // a no-op after Commit
	}()
	due, err := s.queryTimers(ctx, tx, s.q.claimDue, now.Truncate(time.Microsecond), limit)
	if err != nil {
		return 0, fmt.Errorf("postgres: process timers: %w", err)
	}
	refresh := &pgx.Batch{}
	var touched []record.Ref
	for _, rec := range due {
		if err := rec.Timer.Bind(s.cals); err != nil {
			return 0, fmt.Errorf("postgres: process timer %s of %s: %w", rec.ID, rec.Record, err)
		}
		if err := s.recordCrossings(ctx, tx, rec, now, hook); err != nil {
			return 0, err
		}
		fresh := record.NewTimerRecord(rec.Record, rec.ID, rec.PolicyKind, rec.Timer, now)
		stage, err := fresh.Stage.MarshalText()
		if err != nil {
			return 0, fmt.Errorf("postgres: process timer %s of %s: %w", rec.ID, rec.Record, err)
		}
		refresh.Queue(s.q.refreshTimer, rec.Record.Kind, rec.Record.ID, rec.ID, string(stage),
			nullTime(micro(fresh.AtRiskAt)), nullTime(micro(fresh.BreachAt)), wakeTime(fresh.NextWakeAt))
		if !slices.Contains(touched, rec.Record) {
			touched = append(touched, rec.Record)
		}
	}
	for _, ref := range touched {
		refresh.Queue(s.q.refreshSummary, ref.Kind, ref.ID)
	}
	if refresh.Len() > 0 {
		if err := tx.SendBatch(ctx, refresh).Close(); err != nil {
			return 0, fmt.Errorf("postgres: process timers: refresh: %w", mapError(err, "", ""))
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("postgres: process timers: commit: %w", mapError(err, "", ""))
	}
	return len(due), nil
}

// recordCrossings inserts the crossings of rec at now in one statement and
// calls hook for those that were not recorded before.
func (s *Store) recordCrossings(ctx context.Context, tx pgx.Tx, rec record.TimerRecord, now time.Time, hook storage.CrossingHook) error {
	cs := storage.Crossings(rec, now)
	if len(cs) == 0 {
		return nil
	}
	cycles, bps, ats := make([]int32, len(cs)), make([]int32, len(cs)), make([]time.Time, len(cs))
	for i, c := range cs {
		cycles[i], bps[i], ats[i] = int32(c.Cycle), c.BasisPoints, c.At
	}
	fail := func(err error) error {
		return fmt.Errorf("postgres: record crossings of timer %s of %s: %w", rec.ID, rec.Record, mapError(err, "", ""))
	}
	rows, err := tx.Query(ctx, s.q.insertCrossings, rec.Record.Kind, rec.Record.ID, rec.ID, rec.Timer.Policy(),
		string(rec.Timer.Metric()), now, cycles, bps, ats)
	if err != nil {
		return fail(err)
	}
	type key struct{ cycle, bp int32 }
	var k key
	var fresh []key
	if _, err := pgx.ForEachRow(rows, []any{&k.cycle, &k.bp}, func() error { fresh = append(fresh, k); return nil }); err != nil {
		return fail(err)
	}
	if hook == nil {
		return nil
	}
	for _, c := range cs { // in threshold order, whatever order RETURNING used
		if slices.Contains(fresh, key{int32(c.Cycle), c.BasisPoints}) {
			if err := hook(ctx, c); err != nil {
				return err
			}
		}
	}
	return nil
}
