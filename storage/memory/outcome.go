package memory

import (
	"context"
	"slices"
	"time"

	"github.com/itsmkit/itsmkit/record"
)

func outcomeLess(a, b *record.Outcome) bool { return a.Key < b.Key }

func expiryLess(a, b *record.Outcome) bool {
	if !a.Expires.Equal(b.Expires) {
		return a.Expires.Before(b.Expires)
	}
	return a.Key < b.Key
}

// storedOutcome returns o as the store keeps it: instants in UTC to the
// microsecond, as the SQL stores keep them, and a result of its own.
func storedOutcome(o record.Outcome) *record.Outcome {
	o.At = o.At.UTC().Truncate(time.Microsecond)
	o.Expires = o.Expires.UTC().Truncate(time.Microsecond)
	o.Result = slices.Clone(o.Result)
	return &o
}

// Recall implements record.Tx: it returns a copy of the outcome stored
// with key, also one remembered earlier in this transaction, when it
// expires after now.
func (t *tx) Recall(ctx context.Context, key string, now time.Time) (record.Outcome, bool, error) {
	if err := record.CheckOutcomeKey(key, now); err != nil {
		return record.Outcome{}, false, err
	}
	var out record.Outcome
	var found bool
	err := t.use(ctx, func(v view) error {
		o, ok := v.t.outcomes.Get(&record.Outcome{Key: key})
		if ok && o.Expires.After(now) {
			out, found = *storedOutcome(*o), true
		}
		return nil
	})
	return out, found, err
}

// Remember implements record.Tx. Transactions run one at a time, so a
// key remembered by a committed transaction is always seen.
func (t *tx) Remember(ctx context.Context, o record.Outcome) error {
	if err := record.CheckOutcome(o); err != nil {
		return err
	}
	return t.use(ctx, func(v view) error {
		old, ok := v.t.outcomes.Get(&record.Outcome{Key: o.Key})
		if ok && old.Expires.After(o.At) {
			return record.KeyConflict(o.Key)
		}
		if ok {
			v.t.expiries.Delete(old)
		}
		so := storedOutcome(o)
		v.t.outcomes.ReplaceOrInsert(so)
		v.t.expiries.ReplaceOrInsert(so)
		return nil
	})
}

// ForgetOutcomes implements record.Store in a transaction of its own.
func (s *Store) ForgetOutcomes(ctx context.Context, now time.Time, limit int) (int, error) {
	if err := record.CheckForget(now); err != nil {
		return 0, err
	}
	if limit <= 0 {
		return 0, nil
	}
	n := 0
	err := s.InTx(ctx, func(ctx context.Context, rt record.Tx) error {
		return rt.(*tx).use(ctx, func(v view) error {
			var gone []*record.Outcome
			v.t.expiries.Ascend(func(o *record.Outcome) bool {
				if o.Expires.After(now) || len(gone) == limit {
					return false
				}
				gone = append(gone, o)
				return true
			})
			for _, o := range gone {
				v.t.expiries.Delete(o)
				v.t.outcomes.Delete(o)
			}
			n = len(gone)
			return nil
		})
	})
	return n, err
}
