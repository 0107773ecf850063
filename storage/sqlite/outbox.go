package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
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
