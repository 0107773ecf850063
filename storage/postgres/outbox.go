package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
)

func (s *Store) claim(ctx context.Context, db querier, consumer string, now time.Time, lease time.Duration, limit int) ([]record.Message, error) {
	if err := record.CheckClaim(consumer, now, lease, limit); err != nil {
		return nil, err
	}
	now = micro(now)
	rows, err := db.Query(ctx, s.q.claim, consumer, now, now.Add(lease), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim: %w", mapError(err, "", ""))
	}
	out := []record.Message{}
	var (
		m   record.Message
		raw []byte
		n   int32
	)
	_, err = pgx.ForEachRow(rows, []any{&m.ID, &raw, &n}, func() error {
		var ev itsm.Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return fmt.Errorf("postgres: decode outbox message %d: %w", m.ID, err)
		}
		ev.At = ev.At.UTC()
		out = append(out, record.Message{ID: m.ID, Event: ev, Attempts: int(n)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: claim: %w", mapError(err, "", ""))
	}
	return out, nil
}

func (s *Store) ack(ctx context.Context, db querier, consumer string, ids []int64) error {
	if consumer == "" || len(consumer) > record.MaxIDLen {
		return itsm.NewValidationError("outbox ack", "consumer", "must be 1 to %d bytes", record.MaxIDLen)
	}
	if len(ids) == 0 {
		return nil
	}
	var missing *int64
	if err := db.QueryRow(ctx, s.q.ack, consumer, ids).Scan(&missing); err != nil {
		return fmt.Errorf("postgres: ack: %w", mapError(err, "", ""))
	}
	if missing != nil {
		return &itsm.NotFoundError{Kind: "outbox message", ID: strconv.FormatInt(*missing, 10)}
	}
	return nil
}

// The statements of dead letters, with {s} for the schema (see
// Store.deadSQL). They are kept apart from queries: they run once per
// failed delivery, not on every write.
const (
	// sqlDefer moves consumer $1's claim on message $2 to end at $3 with
	// last error $4, creating a claim with no attempts for a message not
	// claimed yet; an acknowledged or dead claim is left as it is. It
	// returns whether the message is in the outbox.
	sqlDefer = `WITH m AS (SELECT id FROM {s}.outbox WHERE id = $2), up AS (
			INSERT INTO {s}.outbox_claims AS c (consumer, message_id, lease_until, attempts, acked, last_error)
			SELECT $1, id, $3, 0, false, $4 FROM m
			ON CONFLICT (consumer, message_id) DO UPDATE SET lease_until = excluded.lease_until, last_error = excluded.last_error
			 WHERE NOT c.acked AND c.dead_at IS NULL
		)
		SELECT EXISTS (SELECT 1 FROM m)`
	// sqlBury marks the claim dead at $3 with last error $4, as sqlDefer
	// goes.
	sqlBury = `WITH m AS (SELECT id FROM {s}.outbox WHERE id = $2), up AS (
			INSERT INTO {s}.outbox_claims AS c (consumer, message_id, lease_until, attempts, acked, dead_at, last_error)
			SELECT $1, id, '-infinity', 0, false, $3, $4 FROM m
			ON CONFLICT (consumer, message_id) DO UPDATE SET dead_at = excluded.dead_at, last_error = excluded.last_error
			 WHERE NOT c.acked AND c.dead_at IS NULL
		)
		SELECT EXISTS (SELECT 1 FROM m)`
	sqlDeadLetters = `SELECT c.message_id, o.event, c.attempts, c.dead_at, c.last_error
		FROM {s}.outbox_claims c JOIN {s}.outbox o ON o.id = c.message_id
		WHERE c.consumer = $1 AND c.dead_at IS NOT NULL AND c.message_id > $2
		ORDER BY c.message_id LIMIT $3`
	// sqlReplay replays the dead letters $2 of consumer $1 unless one is
	// not a dead letter: it returns the first such. The claims are locked
	// before they are looked at, so that a claim acknowledged or replayed
	// meanwhile counts as missing.
	sqlReplay = `WITH ids AS (
			SELECT DISTINCT ON (id) id, n FROM unnest($2::bigint[]) WITH ORDINALITY AS i(id, n) ORDER BY id, n
		), dead AS (
			SELECT c.message_id FROM {s}.outbox_claims c JOIN ids ON ids.id = c.message_id
			 WHERE c.consumer = $1 AND c.dead_at IS NOT NULL ORDER BY c.message_id FOR UPDATE OF c
		), missing AS (
			SELECT ids.id FROM ids WHERE ids.id NOT IN (SELECT message_id FROM dead) ORDER BY ids.n LIMIT 1
		), up AS (
			UPDATE {s}.outbox_claims c SET dead_at = NULL, attempts = 0, last_error = '', lease_until = '-infinity'
			  FROM dead WHERE c.consumer = $1 AND c.message_id = dead.message_id AND NOT EXISTS (SELECT 1 FROM missing)
		)
		SELECT (SELECT id FROM missing)`
)

// deadSQL returns one of the statements of dead letters for the Store's
// schema.
func (s *Store) deadSQL(query string) string { return strings.ReplaceAll(query, "{s}", s.q.schema) }

func (s *Store) settle(ctx context.Context, db querier, query, what, consumer string, id int64, at time.Time, reason string) error {
	var found bool
	if err := db.QueryRow(ctx, s.deadSQL(query), consumer, id, micro(at), record.TrimReason(reason)).Scan(&found); err != nil {
		return fmt.Errorf("postgres: %s: %w", what, mapError(err, "", ""))
	}
	if !found {
		return &itsm.NotFoundError{Kind: "outbox message", ID: strconv.FormatInt(id, 10)}
	}
	return nil
}

func (s *Store) deferMessage(ctx context.Context, db querier, consumer string, id int64, until time.Time, reason string) error {
	if err := record.CheckDefer(consumer, until, reason); err != nil {
		return err
	}
	return s.settle(ctx, db, sqlDefer, "defer", consumer, id, until, reason)
}

func (s *Store) bury(ctx context.Context, db querier, consumer string, id int64, now time.Time, reason string) error {
	if err := record.CheckBury(consumer, now, reason); err != nil {
		return err
	}
	return s.settle(ctx, db, sqlBury, "bury", consumer, id, now, reason)
}

func (s *Store) deadLetters(ctx context.Context, db querier, consumer string, after int64, limit int) ([]record.DeadLetter, error) {
	if err := record.CheckDeadLetters(consumer, after, limit); err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, s.deadSQL(sqlDeadLetters), consumer, after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: dead letters: %w", mapError(err, "", ""))
	}
	out := []record.DeadLetter{}
	var (
		d      record.DeadLetter
		raw    []byte
		n      int32
		deadAt time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&d.ID, &raw, &n, &deadAt, &d.LastError}, func() error {
		var ev itsm.Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return fmt.Errorf("postgres: decode outbox message %d: %w", d.ID, err)
		}
		ev.At = ev.At.UTC()
		out = append(out, record.DeadLetter{
			Message:   record.Message{ID: d.ID, Event: ev, Attempts: int(n)},
			DeadAt:    deadAt.UTC(),
			LastError: d.LastError,
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: dead letters: %w", mapError(err, "", ""))
	}
	return out, nil
}

func (s *Store) replay(ctx context.Context, db querier, consumer string, ids []int64) error {
	if err := record.CheckConsumer("outbox replay", consumer); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	var missing *int64
	if err := db.QueryRow(ctx, s.deadSQL(sqlReplay), consumer, ids).Scan(&missing); err != nil {
		return fmt.Errorf("postgres: replay: %w", mapError(err, "", ""))
	}
	if missing != nil {
		return &itsm.NotFoundError{Kind: "dead letter", ID: strconv.FormatInt(*missing, 10)}
	}
	return nil
}

// Defer releases consumer's claim on message id to be claimed again at
// or after until, as record.Store documents, in one statement. Arguments
// that fail record.CheckDefer are an *itsm.ValidationError; an id that
// is not in the outbox is an *itsm.NotFoundError.
func (s *Store) Defer(ctx context.Context, consumer string, id int64, until time.Time, reason string) error {
	return s.deferMessage(ctx, s.pool, consumer, id, until, reason)
}

// Bury makes message id a dead letter of consumer at now, as record.Store
// documents, in one statement. Arguments that fail record.CheckBury are
// an *itsm.ValidationError; an id that is not in the outbox is an
// *itsm.NotFoundError.
func (s *Store) Bury(ctx context.Context, consumer string, id int64, now time.Time, reason string) error {
	return s.bury(ctx, s.pool, consumer, id, now, reason)
}

// DeadLetters returns up to limit committed dead letters of consumer with
// a message ID greater than after, by message ID, as record.Store
// documents. Arguments that fail record.CheckDeadLetters are an
// *itsm.ValidationError.
func (s *Store) DeadLetters(ctx context.Context, consumer string, after int64, limit int) ([]record.DeadLetter, error) {
	return s.deadLetters(ctx, s.pool, consumer, after, limit)
}

// Replay makes dead letters of consumer claimable again, as record.Store
// documents, in one statement: an ID that is not a dead letter of
// consumer is an *itsm.NotFoundError (Kind "dead letter") and then none
// is replayed. A malformed consumer name is an *itsm.ValidationError.
func (s *Store) Replay(ctx context.Context, consumer string, ids ...int64) error {
	return s.replay(ctx, s.pool, consumer, ids)
}

func (j *joined) Defer(ctx context.Context, consumer string, id int64, until time.Time, reason string) error {
	return j.read(func(db querier) error { return j.s.deferMessage(ctx, db, consumer, id, until, reason) })
}

func (j *joined) Bury(ctx context.Context, consumer string, id int64, now time.Time, reason string) error {
	return j.read(func(db querier) error { return j.s.bury(ctx, db, consumer, id, now, reason) })
}

func (j *joined) DeadLetters(ctx context.Context, consumer string, after int64, limit int) (out []record.DeadLetter, err error) {
	err = j.read(func(db querier) error { out, err = j.s.deadLetters(ctx, db, consumer, after, limit); return err })
	return out, err
}

func (j *joined) Replay(ctx context.Context, consumer string, ids ...int64) error {
	return j.read(func(db querier) error { return j.s.replay(ctx, db, consumer, ids) })
}
