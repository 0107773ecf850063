package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
)

// outcome returns a valid outcome of key, committed at at and kept for a
// day.
func outcome(key string, at time.Time) record.Outcome {
	return record.Outcome{
		Key: key, Operation: "ticket.open", Request: "digest-of-" + key,
		Result: json.RawMessage(`{"id":"` + key + `","n":1}`),
		At:     at, Expires: at.Add(24 * time.Hour),
	}
}

// recall reads key at now in a transaction of its own.
func (e *env) recall(key string, now time.Time) (record.Outcome, bool) {
	e.t.Helper()
	var o record.Outcome
	var ok bool
	e.tx(func(ctx context.Context, tx record.Tx) {
		var err error
		o, ok, err = tx.Recall(ctx, key, now)
		require.NoError(e.t, err)
	})
	return o, ok
}

// requireKeyConflict fails unless err is Remember's refusal of key.
func (e *env) requireKeyConflict(err error, key string) {
	e.t.Helper()
	var ce *itsm.ConflictError
	require.ErrorAs(e.t, err, &ce)
	require.Equal(e.t, record.OutcomeConflictKind, ce.Kind)
	require.Equal(e.t, key, ce.ID)
	require.ErrorIs(e.t, err, itsm.ErrConflict)
}

var outcomeChecks = []check{
	{"RememberedIsRecalled", func(e *env) {
		// In the transaction that remembers it and after its commit, an
		// outcome reads back whole, with its instants in UTC to the
		// microsecond.
		at := time.Date(2026, 11, 2, 9, 0, 0, 123456789, time.FixedZone("CET", 3600))
		o := outcome("k-1", at)
		want := o
		want.At = at.UTC().Truncate(time.Microsecond)
		want.Expires = want.At.Add(24 * time.Hour)
		e.tx(func(ctx context.Context, tx record.Tx) {
			require.NoError(e.t, tx.Remember(ctx, o))
			got, ok, err := tx.Recall(ctx, "k-1", at)
			require.NoError(e.t, err)
			require.True(e.t, ok, "the transaction sees its own outcome")
			requireOutcome(e, want, got)
		})
		got, ok := e.recall("k-1", at.Add(time.Hour))
		require.True(e.t, ok)
		requireOutcome(e, want, got)
		_, ok = e.recall("k-2", at)
		require.False(e.t, ok, "a key never remembered")
	}},
	{"RolledBackIsForgotten", func(e *env) {
		errAbort := errors.New("abort")
		err := e.store.InTx(e.ctx, func(ctx context.Context, tx record.Tx) error {
			require.NoError(e.t, tx.Remember(ctx, outcome("k-1", t0)))
			return errAbort
		})
		require.ErrorIs(e.t, err, errAbort)
		_, ok := e.recall("k-1", t0)
		require.False(e.t, ok, "an outcome is kept only with its transaction")
	}},
	{"LiveKeyRefused", func(e *env) {
		// A live key is refused, in a later transaction and in the same
		// one, and the transaction stays usable.
		e.tx(func(ctx context.Context, tx record.Tx) {
			require.NoError(e.t, tx.Remember(ctx, outcome("k-1", t0)))
			e.requireKeyConflict(tx.Remember(ctx, outcome("k-1", t0.Add(time.Minute))), "k-1")
		})
		other := outcome("k-1", t0.Add(time.Hour))
		other.Result = json.RawMessage(`{"second":true}`)
		e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.Remember(ctx, other) },
			func(err error) { e.requireKeyConflict(err, "k-1") })
		got, ok := e.recall("k-1", t0)
		require.True(e.t, ok)
		require.JSONEq(e.t, `{"id":"k-1","n":1}`, string(got.Result), "the first outcome stays")
		e.requireOnly(e.gen.kind())
	}},
	{"ExpiredKeyReplaced", func(e *env) {
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.Remember(ctx, outcome("k-1", t0))) })
		expires := t0.Add(24 * time.Hour)
		_, ok := e.recall("k-1", expires.Add(-time.Microsecond))
		require.True(e.t, ok, "live until just before it expires")
		_, ok = e.recall("k-1", expires)
		require.False(e.t, ok, "expired at its Expires")
		again := outcome("k-1", expires)
		again.Operation = "ticket.comment"
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.Remember(ctx, again)) })
		got, ok := e.recall("k-1", expires)
		require.True(e.t, ok)
		require.Equal(e.t, "ticket.comment", got.Operation)
	}},
	{"ForgetOutcomes", func(e *env) {
		e.tx(func(ctx context.Context, tx record.Tx) {
			for i, key := range []string{"k-3", "k-1", "k-2", "k-4"} {
				o := outcome(key, t0)
				o.Expires = t0.Add(time.Duration(i+1) * time.Hour)
				require.NoError(e.t, tx.Remember(ctx, o))
			}
		})
		n, err := e.store.ForgetOutcomes(e.ctx, t0.Add(3*time.Hour), 0)
		require.NoError(e.t, err)
		require.Zero(e.t, n, "a limit of 0 forgets nothing")
		n, err = e.store.ForgetOutcomes(e.ctx, t0.Add(3*time.Hour), 2)
		require.NoError(e.t, err)
		require.Equal(e.t, 2, n, "the limit holds")
		n, err = e.store.ForgetOutcomes(e.ctx, t0.Add(3*time.Hour), 10)
		require.NoError(e.t, err)
		require.Equal(e.t, 1, n, "only the expired ones: k-3, k-1 and k-2 expire at or before the third hour")
		_, ok := e.recall("k-4", t0)
		require.True(e.t, ok, "a live outcome stays")
		for _, key := range []string{"k-1", "k-2", "k-3"} {
			_, ok := e.recall(key, t0)
			require.False(e.t, ok, "%s was forgotten", key)
		}
		_, err = e.store.ForgetOutcomes(e.ctx, time.Time{}, 1)
		requireInvalidField(e, err, "now")
	}},
	{"BadOutcomesRefused", func(e *env) {
		long := strings.Repeat("k", record.MaxIDLen+1)
		cases := []struct {
			field string
			edit  func(o *record.Outcome)
		}{
			{"key", func(o *record.Outcome) { o.Key = "" }},
			{"key", func(o *record.Outcome) { o.Key = long }},
			{"key", func(o *record.Outcome) { o.Key = "bad\xff" }},
			{"key", func(o *record.Outcome) { o.Key = "nul\x00" }},
			{"operation", func(o *record.Outcome) { o.Operation = "" }},
			{"request", func(o *record.Outcome) { o.Request = "" }},
			{"result", func(o *record.Outcome) { o.Result = json.RawMessage(`{"broken"`) }},
			{"result", func(o *record.Outcome) { o.Result = json.RawMessage(`"\u0000"`) }},
			{"at", func(o *record.Outcome) { o.At = time.Time{} }},
			{"expires", func(o *record.Outcome) { o.Expires = o.At }},
			{"expires", func(o *record.Outcome) { o.Expires = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		}
		for _, c := range cases {
			o := outcome("k-1", t0)
			c.edit(&o)
			e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.Remember(ctx, o) },
				func(err error) { requireInvalidField(e, err, c.field) })
		}
		for _, key := range []string{"", long, "bad\xff"} {
			e.refusedInTx(func(ctx context.Context, tx record.Tx) error { _, _, err := tx.Recall(ctx, key, t0); return err },
				func(err error) { requireInvalidField(e, err, "key") })
		}
		e.refusedInTx(func(ctx context.Context, tx record.Tx) error {
			_, _, err := tx.Recall(ctx, "k-1", time.Time{})
			return err
		},
			func(err error) { requireInvalidField(e, err, "now") })
		_, ok := e.recall("k-1", t0)
		require.False(e.t, ok, "nothing of a refused outcome is stored")
	}},
	{"OneKeyOneWrite", func(e *env) {
		// Writers racing with one key: each looks the key up, and if it is
		// not there creates a record and remembers the key. Exactly one
		// record is created; every other writer either recalls the
		// outcome or is refused (a key conflict, or a retryable
		// failure), and keeps nothing.
		const workers = 8
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			created  []record.Ref
			recalled int
			errs     []error
			start    = make(chan struct{})
		)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				rec := e.fixture(100 + w)
				var saw bool
				err := e.store.InTx(e.ctx, func(ctx context.Context, tx record.Tx) error {
					saw = false
					if _, ok, err := tx.Recall(ctx, "k-race", t0); err != nil || ok {
						saw = ok
						return err
					}
					if err := tx.Create(ctx, rec.Clone()); err != nil {
						return err
					}
					return tx.Remember(ctx, outcome("k-race", t0))
				})
				mu.Lock()
				defer mu.Unlock()
				var ce *itsm.ConflictError
				switch {
				case err == nil && saw:
					recalled++
				case err == nil:
					created = append(created, rec.Ref())
				case storage.IsRetryable(err), errors.As(err, &ce) && ce.Kind == record.OutcomeConflictKind:
				default:
					errs = append(errs, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		require.Empty(e.t, errs)
		require.Len(e.t, created, 1, "one writer creates")
		e.requireOnly(e.gen.kind(), created...)
		e.t.Logf("%d writers: 1 created, %d recalled, %d refused", workers, recalled, workers-1-recalled)
	}},
}

// requireOutcome compares outcomes, the result as JSON.
func requireOutcome(e *env, want, got record.Outcome) {
	e.t.Helper()
	require.JSONEq(e.t, string(want.Result), string(got.Result))
	want.Result, got.Result = nil, nil
	require.Equal(e.t, want, got)
}

// requireInvalidField fails unless err is an *itsm.ValidationError that
// names field.
func requireInvalidField(e *env, err error, field string) {
	e.t.Helper()
	requireValidation(e.t, err)
	var ve *itsm.ValidationError
	require.ErrorAs(e.t, err, &ve)
	require.True(e.t, ve.Has(field), "%v names %s", err, field)
}
