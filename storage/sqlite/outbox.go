package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
)

// checkConsumer checks Ack's consumer name as record.CheckClaim does.
func checkConsumer(consumer string) error {
	if consumer == "" || len(consumer) > record.MaxIDLen {
		return itsm.NewValidationError("outbox ack", "consumer", "must be 1 to %d bytes", record.MaxIDLen)
	}
	return nil
}

// claim runs sqlClaim in a write transaction and reads the claimed
// messages, oldest first, with their attempts.
func claim(ctx context.Context, q querier, consumer string, now time.Time, lease time.Duration, limit int) ([]record.Message, error) {
	rows, err := q.QueryContext(ctx, sqlClaim, consumer, micro(now), micro(now.Add(lease)), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim outbox messages: %w", mapErr(err))
	}
	attempts := map[int64]int{}
	var ids []int64
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: claim outbox messages: %w", mapErr(err))
		}
		attempts[id] = n
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, fmt.Errorf("sqlite: claim outbox messages: %w", mapErr(err))
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: claim outbox messages: %w", mapErr(err))
	}
	if len(ids) == 0 {
		return []record.Message{}, nil
	}
	slices.Sort(ids)
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	msgs, err := reader{q: q}.messages(ctx, sqlClaimedEvents, string(list))
	if err != nil {
		return nil, err
	}
	for i := range msgs {
		msgs[i].Attempts = attempts[msgs[i].ID]
	}
	return msgs, nil
}

// ack acknowledges ids for consumer; the caller's transaction (or
// savepoint) undoes the call when an ID is not in the outbox.
func ack(ctx context.Context, q querier, consumer string, ids []int64) error {
	for _, id := range ids {
		res, err := q.ExecContext(ctx, sqlAck, consumer, id)
		if err != nil {
			return fmt.Errorf("sqlite: acknowledge outbox message %d: %w", id, mapErr(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return mapErr(err)
		}
		if n == 0 {
			return &itsm.NotFoundError{Kind: "outbox message", ID: strconv.FormatInt(id, 10)}
		}
	}
	return nil
}

// The statements of dead letters. They are not prepared: they run once
// per failed delivery, not on every write.
const (
	sqlMessageExists = "SELECT 1 FROM outbox WHERE id = ?"
	// sqlDefer moves the claim's lease end to ?3 and keeps ?4 as its last
	// error, creating a claim with no attempts for a message not claimed
	// yet; an acknowledged or dead claim is left as it is.
	sqlDefer = `INSERT INTO outbox_claims (consumer, message_id, lease_until, attempts, acked, last_error)
		SELECT ?1, id, ?3, 0, 0, ?4 FROM outbox WHERE id = ?2
		ON CONFLICT (consumer, message_id) DO UPDATE SET lease_until = excluded.lease_until, last_error = excluded.last_error
		WHERE NOT acked AND dead_at IS NULL`
	// sqlBury marks the claim dead at ?3 with last error ?4, as sqlDefer
	// goes.
	sqlBury = `INSERT INTO outbox_claims (consumer, message_id, lease_until, attempts, acked, dead_at, last_error)
		SELECT ?1, id, 0, 0, 0, ?3, ?4 FROM outbox WHERE id = ?2
		ON CONFLICT (consumer, message_id) DO UPDATE SET dead_at = excluded.dead_at, last_error = excluded.last_error
		WHERE NOT acked AND dead_at IS NULL`
	sqlDeadLetters = `SELECT c.message_id, o.event, c.attempts, c.dead_at, c.last_error
		FROM outbox_claims c JOIN outbox o ON o.id = c.message_id
		WHERE c.consumer = ? AND c.dead_at IS NOT NULL AND c.message_id > ?
		ORDER BY c.message_id LIMIT ?`
	// sqlReplay makes a dead claim claimable at any instant, with no
	// attempts; it changes no row unless the claim is dead.
	sqlReplay = `UPDATE outbox_claims SET dead_at = NULL, attempts = 0, last_error = '', lease_until = ?
		WHERE consumer = ? AND message_id = ? AND dead_at IS NOT NULL`
)

// settle runs sqlDefer or sqlBury for message id; a message that is not
// in the outbox is an *itsm.NotFoundError.
func settle(ctx context.Context, q querier, query, what string, consumer string, id int64, at time.Time, reason string) error {
	var one int
	switch err := q.QueryRowContext(ctx, sqlMessageExists, id).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return &itsm.NotFoundError{Kind: "outbox message", ID: strconv.FormatInt(id, 10)}
	case err != nil:
		return fmt.Errorf("sqlite: %s outbox message %d: %w", what, id, mapErr(err))
	}
	if _, err := q.ExecContext(ctx, query, consumer, id, micro(at), record.TrimReason(reason)); err != nil {
		return fmt.Errorf("sqlite: %s outbox message %d: %w", what, id, mapErr(err))
	}
	return nil
}

// deadLetters reads up to limit dead letters of consumer after message
// ID after.
func deadLetters(ctx context.Context, r reader, consumer string, after int64, limit int) ([]record.DeadLetter, error) {
	out := []record.DeadLetter{}
	err := r.each(ctx, "dead letters", sqlDeadLetters, []any{consumer, after, limit}, func(sc scanner) error {
		var d record.DeadLetter
		var ev string
		var deadAt int64
		if err := sc.Scan(&d.ID, &ev, &d.Attempts, &deadAt, &d.LastError); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(ev), &d.Event); err != nil {
			return fmt.Errorf("decode outbox message %d: %w", d.ID, err)
		}
		d.DeadAt = fromMicro(deadAt)
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// replay replays the dead letters ids of consumer; the caller's
// transaction (or savepoint) undoes the call when one is not a dead
// letter.
func replay(ctx context.Context, q querier, consumer string, ids []int64) error {
	seen := make(map[int64]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		res, err := q.ExecContext(ctx, sqlReplay, int64(math.MinInt64), consumer, id)
		if err != nil {
			return fmt.Errorf("sqlite: replay dead letter %d: %w", id, mapErr(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return mapErr(err)
		}
		if n == 0 {
			return &itsm.NotFoundError{Kind: "dead letter", ID: strconv.FormatInt(id, 10)}
		}
	}
	return nil
}

// Defer releases consumer's claim on message id to be claimed again at
// or after until, as record.Store documents, in one write transaction.
// Arguments that fail record.CheckDefer are an *itsm.ValidationError; an
// id that is not in the outbox is an *itsm.NotFoundError.
func (s *Store) Defer(ctx context.Context, consumer string, id int64, until time.Time, reason string) error {
	if err := record.CheckDefer(consumer, until, reason); err != nil {
		return err
	}
	return s.write(ctx, func(c txConn) error { return settle(ctx, c, sqlDefer, "defer", consumer, id, until, reason) })
}

// Bury makes message id a dead letter of consumer at now, as record.Store
// documents, in one write transaction. Arguments that fail
// record.CheckBury are an *itsm.ValidationError; an id that is not in the
// outbox is an *itsm.NotFoundError.
func (s *Store) Bury(ctx context.Context, consumer string, id int64, now time.Time, reason string) error {
	if err := record.CheckBury(consumer, now, reason); err != nil {
		return err
	}
	return s.write(ctx, func(c txConn) error { return settle(ctx, c, sqlBury, "bury", consumer, id, now, reason) })
}

// DeadLetters returns up to limit committed dead letters of consumer with
// a message ID greater than after, by message ID, as record.Store
// documents. Arguments that fail record.CheckDeadLetters are an
// *itsm.ValidationError.
func (s *Store) DeadLetters(ctx context.Context, consumer string, after int64, limit int) ([]record.DeadLetter, error) {
	if err := record.CheckDeadLetters(consumer, after, limit); err != nil {
		return nil, err
	}
	return readValue(ctx, s, func(r reader) ([]record.DeadLetter, error) { return deadLetters(ctx, r, consumer, after, limit) })
}

// Replay makes dead letters of consumer claimable again, as record.Store
// documents, in one write transaction: an ID that is not a dead letter of
// consumer is an *itsm.NotFoundError (Kind "dead letter") and then none
// is replayed. A malformed consumer name is an *itsm.ValidationError.
func (s *Store) Replay(ctx context.Context, consumer string, ids ...int64) error {
	if err := record.CheckConsumer("outbox replay", consumer); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	return s.write(ctx, func(c txConn) error { return replay(ctx, c, consumer, ids) })
}

// Defer defers a message inside the joined transaction.
func (j *joined) Defer(ctx context.Context, consumer string, id int64, until time.Time, reason string) error {
	if err := record.CheckDefer(consumer, until, reason); err != nil {
		return err
	}
	return j.savepoint(ctx, func() error { return settle(ctx, j.reader.q, sqlDefer, "defer", consumer, id, until, reason) })
}

// Bury buries a message inside the joined transaction.
func (j *joined) Bury(ctx context.Context, consumer string, id int64, now time.Time, reason string) error {
	if err := record.CheckBury(consumer, now, reason); err != nil {
		return err
	}
	return j.savepoint(ctx, func() error { return settle(ctx, j.reader.q, sqlBury, "bury", consumer, id, now, reason) })
}

// DeadLetters reads dead letters inside the joined transaction, its own
// changes included.
func (j *joined) DeadLetters(ctx context.Context, consumer string, after int64, limit int) ([]record.DeadLetter, error) {
	if err := record.CheckDeadLetters(consumer, after, limit); err != nil {
		return nil, err
	}
	return deadLetters(ctx, j.reader, consumer, after, limit)
}

// Replay replays dead letters inside the joined transaction.
func (j *joined) Replay(ctx context.Context, consumer string, ids ...int64) error {
	if err := record.CheckConsumer("outbox replay", consumer); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	return j.savepoint(ctx, func() error { return replay(ctx, j.reader.q, consumer, ids) })
}
