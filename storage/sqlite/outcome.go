package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/itsmkit/itsmkit/record"
)

const (
	sqlRecall = `SELECT operation, request, result, created_at, expires_at FROM idempotency_keys
WHERE key = ? AND expires_at > ?`
	// An expired outcome of the key is replaced; a live one stays, and
	// the statement then changes no row.
	sqlRemember = `INSERT INTO idempotency_keys (key, operation, request, result, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE SET operation = excluded.operation, request = excluded.request,
    result = excluded.result, created_at = excluded.created_at, expires_at = excluded.expires_at
WHERE idempotency_keys.expires_at <= excluded.created_at`
	sqlForgetOutcomes = `DELETE FROM idempotency_keys WHERE key IN (
    SELECT key FROM idempotency_keys WHERE expires_at <= ? ORDER BY expires_at, key LIMIT ?)`
)

// Recall implements record.Tx.
func (t *tx) Recall(ctx context.Context, key string, now time.Time) (record.Outcome, bool, error) {
	if err := record.CheckOutcomeKey(key, now); err != nil {
		return record.Outcome{}, false, err
	}
	if err := t.check(ctx); err != nil {
		return record.Outcome{}, false, err
	}
	o := record.Outcome{Key: key}
	var result string
	var at, expires int64
	err := t.q.QueryRowContext(ctx, sqlRecall, key, micro(now)).Scan(&o.Operation, &o.Request, &result, &at, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return record.Outcome{}, false, nil
	}
	if err != nil {
		return record.Outcome{}, false, fmt.Errorf("sqlite: recall idempotency key: %w", mapErr(err))
	}
	o.Result = []byte(result)
	o.At, o.Expires = fromMicro(at), fromMicro(expires)
	return o, true, nil
}

// Remember implements record.Tx. Writers run one at a time, so a key
// remembered by a committed transaction is always seen.
func (t *tx) Remember(ctx context.Context, o record.Outcome) error {
	if err := record.CheckOutcome(o); err != nil {
		return err
	}
	if err := t.check(ctx); err != nil {
		return err
	}
	res, err := t.q.ExecContext(ctx, sqlRemember, o.Key, o.Operation, o.Request, string(o.Result), micro(o.At), micro(o.Expires))
	if err != nil {
		return fmt.Errorf("sqlite: remember idempotency key: %w", mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return mapErr(err)
	}
	if n == 0 {
		return record.KeyConflict(o.Key)
	}
	return nil
}

// ForgetOutcomes implements record.Store in a write transaction of its
// own.
func (s *Store) ForgetOutcomes(ctx context.Context, now time.Time, limit int) (int, error) {
	if err := record.CheckForget(now); err != nil || limit <= 0 {
		return 0, err
	}
	var n int
	err := s.write(ctx, func(c txConn) (err error) { n, err = forgetOutcomes(ctx, c, now, limit); return err })
	return n, err
}

// ForgetOutcomes deletes expired outcomes inside the joined transaction.
func (j *joined) ForgetOutcomes(ctx context.Context, now time.Time, limit int) (int, error) {
	if err := record.CheckForget(now); err != nil || limit <= 0 {
		return 0, err
	}
	var n int
	err := j.savepoint(ctx, func() (err error) { n, err = forgetOutcomes(ctx, j.reader.q, now, limit); return err })
	return n, err
}

// forgetOutcomes runs sqlForgetOutcomes.
func forgetOutcomes(ctx context.Context, q querier, now time.Time, limit int) (int, error) {
	res, err := q.ExecContext(ctx, sqlForgetOutcomes, micro(now), limit)
	if err != nil {
		return 0, fmt.Errorf("sqlite: forget idempotency keys: %w", mapErr(err))
	}
	n, err := res.RowsAffected()
	return int(n), mapErr(err)
}
