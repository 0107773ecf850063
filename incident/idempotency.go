package incident

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
)

// keyAttempts bounds the transactions write runs for one call whose key
// another transaction committed meanwhile: the next one recalls it.
const keyAttempts = 3

// request is what the digest of a call's outcome covers besides its
// operation: who asked, about which incident, based on which version, with
// which input.
type request struct {
	Actor   string `json:"actor"`
	ID      string `json:"id,omitempty"`
	Version int64  `json:"version,omitempty"`
	Input   any    `json:"input,omitempty"`
}

// write runs fn in one transaction and returns what it returns. When ctx
// carries an idempotency key (itsm.WithIdempotencyKey), the transaction
// first recalls the key: a call with the same key and request made
// before returns its result and writes nothing, and a key made for
// another request is a *itsm.KeyReusedError; otherwise fn runs and the
// key is remembered with its result in the same transaction, for
// Config.KeepKeys. A transaction that loses the key to a concurrent one
// (record.KeyConflict) is run again, and then recalls the winner's
// result.
func (s *Service) write(ctx context.Context, op string, req request, fn func(ctx context.Context, tx record.Tx) (*Incident, error)) (*Incident, error) {
	key, ok := itsm.IdempotencyKey(ctx)
	if !ok {
		var out *Incident
		err := s.store.InTx(ctx, func(ctx context.Context, tx record.Tx) (err error) { out, err = fn(ctx, tx); return err })
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	digest, err := record.RequestDigest(op, req)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		out, err := s.writeOnce(ctx, key, op, digest, fn)
		var ce *itsm.ConflictError
		if attempt < keyAttempts && errors.As(err, &ce) && ce.Kind == record.OutcomeConflictKind && ce.ID == key {
			continue
		}
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// writeOnce is one transaction of write with a key.
func (s *Service) writeOnce(ctx context.Context, key, op, digest string, fn func(ctx context.Context, tx record.Tx) (*Incident, error)) (*Incident, error) {
	var out *Incident
	err := s.store.InTx(ctx, func(ctx context.Context, tx record.Tx) error {
		now := s.now()
		o, found, err := tx.Recall(ctx, key, now)
		if err != nil {
			return keyProblem(err)
		}
		if found {
			if o.Operation != op || o.Request != digest {
				return &itsm.KeyReusedError{Key: key, Operation: op, First: o.Operation}
			}
			out = new(Incident)
			return json.Unmarshal(o.Result, out)
		}
		if out, err = fn(ctx, tx); err != nil {
			return err
		}
		result, err := json.Marshal(out)
		if err != nil {
			return err
		}
		return keyProblem(tx.Remember(ctx, record.Outcome{
			Key: key, Operation: op, Request: digest, Result: result, At: now, Expires: now.Add(s.cfg.KeepKeys),
		}))
	})
	return out, err
}

// keyProblem names a malformed key as the call's own problem: an
// *itsm.ValidationError of the incident for field "idempotency_key".
func keyProblem(err error) error {
	var ve *itsm.ValidationError
	if errors.As(err, &ve) && ve.Has("key") {
		return itsm.NewValidationError(Kind, "idempotency_key", "must be 1 to %d bytes of valid UTF-8 without NUL bytes", record.MaxIDLen)
	}
	return err
}
