package memory

import (
	"context"
	"strconv"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
)

// isAcked reports whether consumer c has acknowledged message id.
func (c *consumer) isAcked(id int64) bool { return id <= c.floor || c.acked.Has(id) }

// settle runs fn on the claim of consumer name on of the committed message id, unless
// consumer has acknowledged or buried it; an id that is not in the
// committed outbox is an *itsm.NotFoundError.
func (s *Store) settle(ctx context.Context, name string, id int64, fn func(c *consumer, l lease) lease) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.claimMu.Lock()
	defer s.claimMu.Unlock()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.data.t.outbox.Has(&seqItem[itsm.Event]{n: id}) {
		return &itsm.NotFoundError{Kind: "outbox message", ID: strconv.FormatInt(id, 10)}
	}
	c := s.consumer(name)
	l := c.leases[id]
	if c.isAcked(id) || !l.deadAt.IsZero() {
		return nil
	}
	c.leases[id] = fn(c, l)
	return nil
}

// Defer releases the claim of consumer name on message id, as record.Store
// documents: Claim skips it for consumer while until lies after its now,
// and the claim keeps its attempts with reason (cut by
// record.TrimReason) as its last error. Arguments that fail
// record.CheckDefer are an *itsm.ValidationError; an id that is not in
// the committed outbox is an *itsm.NotFoundError.
func (s *Store) Defer(ctx context.Context, name string, id int64, until time.Time, reason string) error {
	if err := record.CheckDefer(name, until, reason); err != nil {
		return err
	}
	reason = record.TrimReason(reason)
	return s.settle(ctx, name, id, func(_ *consumer, l lease) lease {
		l.until, l.lastError = until, reason
		return l
	})
}

// Bury makes message id a dead letter of consumer name at now, as record.Store
// documents. Arguments that fail record.CheckBury are an
// *itsm.ValidationError; an id that is not in the committed outbox is an
// *itsm.NotFoundError.
func (s *Store) Bury(ctx context.Context, name string, id int64, now time.Time, reason string) error {
	if err := record.CheckBury(name, now, reason); err != nil {
		return err
	}
	reason = record.TrimReason(reason)
	return s.settle(ctx, name, id, func(c *consumer, l lease) lease {
		l.deadAt, l.lastError = now.UTC().Truncate(time.Microsecond), reason
		c.dead.ReplaceOrInsert(id)
		return l
	})
}

// DeadLetters returns up to limit dead letters of consumer with a message
// ID greater than after, by message ID, as record.Store documents.
// Arguments that fail record.CheckDeadLetters are an
// *itsm.ValidationError.
func (s *Store) DeadLetters(ctx context.Context, consumer string, after int64, limit int) ([]record.DeadLetter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := record.CheckDeadLetters(consumer, after, limit); err != nil {
		return nil, err
	}
	s.claimMu.Lock()
	defer s.claimMu.Unlock()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []record.DeadLetter{}
	c := s.consumers[consumer]
	if c == nil {
		return out, nil
	}
	c.dead.AscendGreaterOrEqual(after+1, func(id int64) bool {
		it, _ := s.data.t.outbox.Get(&seqItem[itsm.Event]{n: id})
		l := c.leases[id]
		out = append(out, record.DeadLetter{
			Message:   record.Message{ID: id, Event: copyEvent(it.val), Attempts: l.attempts},
			DeadAt:    l.deadAt,
			LastError: l.lastError,
		})
		return len(out) < limit
	})
	return out, nil
}

// Replay makes dead letters of consumer claimable again with no attempts,
// as record.Store documents: an ID that is not a dead letter of consumer
// is an *itsm.NotFoundError (Kind "dead letter") and then none is
// replayed. A malformed consumer name is an *itsm.ValidationError.
func (s *Store) Replay(ctx context.Context, consumer string, ids ...int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := record.CheckConsumer("outbox replay", consumer); err != nil {
		return err
	}
	s.claimMu.Lock()
	defer s.claimMu.Unlock()
	c := s.consumers[consumer]
	for _, id := range ids {
		if c == nil || !c.dead.Has(id) {
			return &itsm.NotFoundError{Kind: "dead letter", ID: strconv.FormatInt(id, 10)}
		}
	}
	for _, id := range ids {
		c.dead.Delete(id)
		c.leases[id] = lease{}
	}
	return nil
}
