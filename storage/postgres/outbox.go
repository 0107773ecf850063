package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
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
