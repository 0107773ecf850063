package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/itsmkit/itsmkit/record"
)

const (
	sqlRecall = `SELECT operation, request, result, created_at, expires_at FROM {s}.idempotency_keys
WHERE key = $1 AND expires_at > $2`
	// An expired outcome of the key is replaced; a live one stays, and
	// the statement then returns no row. A transaction inserting a key
	// another holds uncommitted waits for it; once that one commits, the
	// condition is checked on its row.
	sqlRemember = `INSERT INTO {s}.idempotency_keys AS k (key, operation, request, result, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (key) DO UPDATE SET operation = excluded.operation, request = excluded.request,
    result = excluded.result, created_at = excluded.created_at, expires_at = excluded.expires_at
WHERE k.expires_at <= excluded.created_at
RETURNING 1`
	sqlForgetOutcomes = `DELETE FROM {s}.idempotency_keys WHERE key IN (
    SELECT key FROM {s}.idempotency_keys WHERE expires_at <= $1 ORDER BY expires_at, key LIMIT $2
    FOR UPDATE SKIP LOCKED)`
)

// Recall implements record.Tx. It sees the outcomes committed before the
// statement ran, and those the transaction remembered.
func (t *txn) Recall(ctx context.Context, key string, now time.Time) (record.Outcome, bool, error) {
	if err := record.CheckOutcomeKey(key, now); err != nil {
		return record.Outcome{}, false, err
	}
	o := record.Outcome{Key: key}
	var result string
	found := false
	err := t.use(ctx, func(db querier) error {
		err := db.QueryRow(ctx, t.s.q.sql(sqlRecall), key, now).Scan(&o.Operation, &o.Request, &result, &o.At, &o.Expires)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("postgres: recall idempotency key: %w", mapError(err, "", ""))
		}
		found = true
		return nil
	})
	if err != nil || !found {
		return record.Outcome{}, false, err
	}
	o.Result = []byte(result)
	o.At, o.Expires = o.At.UTC(), o.Expires.UTC()
	return o, true, nil
}

// Remember implements record.Tx. The outcome is written at once (not
// deferred to the commit), so that a key another transaction committed
// first is refused here, with the transaction still usable.
func (t *txn) Remember(ctx context.Context, o record.Outcome) error {
	if err := record.CheckOutcome(o); err != nil {
		return err
	}
	return t.use(ctx, func(db querier) error {
		var one int
		err := db.QueryRow(ctx, t.s.q.sql(sqlRemember), o.Key, o.Operation, o.Request, string(o.Result),
			micro(o.At), micro(o.Expires)).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return record.KeyConflict(o.Key)
		}
		if err != nil {
			return fmt.Errorf("postgres: remember idempotency key: %w", mapError(err, "", ""))
		}
		return nil
	})
}

// ForgetOutcomes implements record.Store in one statement; outcomes
// another transaction holds are left for a later call.
func (s *Store) ForgetOutcomes(ctx context.Context, now time.Time, limit int) (int, error) {
	return s.forgetOutcomes(ctx, s.pool, now, limit)
}

// ForgetOutcomes deletes expired outcomes inside the joined transaction.
func (j *joined) ForgetOutcomes(ctx context.Context, now time.Time, limit int) (n int, err error) {
	err = j.read(func(db querier) error { n, err = j.s.forgetOutcomes(ctx, db, now, limit); return err })
	return n, err
}

func (s *Store) forgetOutcomes(ctx context.Context, db querier, now time.Time, limit int) (int, error) {
	if err := record.CheckForget(now); err != nil || limit <= 0 {
		return 0, err
	}
	tag, err := db.Exec(ctx, s.q.sql(sqlForgetOutcomes), now, limit)
	if err != nil {
		return 0, fmt.Errorf("postgres: forget idempotency keys: %w", mapError(err, "", ""))
	}
	return int(tag.RowsAffected()), nil
}
