package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
)

var numberChecks = []check{
	{"PerKindFromOne", func(e *env) {
		mine, theirs := e.gen.kind(), e.other.Kind()
		var got []int64
		e.tx(func(ctx context.Context, tx record.Tx) {
			for _, kind := range []string{mine, mine, theirs, mine, theirs} {
				n, err := tx.NextNumber(ctx, kind)
				require.NoError(e.t, err)
				got = append(got, n)
			}
		})
		require.Equal(e.t, []int64{1, 2, 1, 3, 2}, got)
		e.tx(func(ctx context.Context, tx record.Tx) {
			n, err := tx.NextNumber(ctx, mine)
			require.NoError(e.t, err)
			require.Equal(e.t, int64(4), n, "sequences continue across transactions")
		})
	}},
	{"GrowsAfterRollback", func(e *env) {
		var seen []int64
		next := func(fail bool) error {
			return e.store.InTx(e.ctx, func(ctx context.Context, tx record.Tx) error {
				n, err := tx.NextNumber(ctx, e.gen.kind())
				require.NoError(e.t, err)
				seen = append(seen, n)
				if fail {
					return errRollback
				}
				return nil
			})
		}
		require.NoError(e.t, next(false))
		require.ErrorIs(e.t, next(true), errRollback)
		require.NoError(e.t, next(false))
		require.Equal(e.t, int64(1), seen[0])
		// A rollback may leave a gap but never hands out a committed
		// number again.
		require.Greater(e.t, seen[2], seen[0], "numbers grow")
	}},
	{"UniqueUnderConcurrency", func(e *env) {
		// Each transaction takes a number and creates a record with it.
		// A store may refuse a transaction with storage.ErrRetryable (a
		// serialization failure), but the numbers of the committed ones
		// all differ.
		const workers, each = 8, 10
		var (
			mu     sync.Mutex
			got    []int64
			failed int
			errs   []error
			wg     sync.WaitGroup
		)
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					var n int64
					err := e.store.InTx(e.ctx, func(ctx context.Context, tx record.Tx) (err error) {
						if n, err = tx.NextNumber(ctx, e.gen.kind()); err != nil {
							return err
						}
						rec := e.gen.record(w*each + i)
						rec.Number = fmt.Sprintf("%s%07d", e.schema.Prefix(), n)
						return tx.Create(ctx, rec)
					})
					mu.Lock()
					switch {
					case err == nil:
						got = append(got, n)
					case storage.IsRetryable(err):
						failed++
					default:
						errs = append(errs, err)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		require.Empty(e.t, errs)
		require.NotEmpty(e.t, got)
		require.Equal(e.t, workers*each, len(got)+failed)
		slices.Sort(got)
		require.Len(e.t, slices.Compact(slices.Clone(got)), len(got), "a number was handed out twice: %v", got)
		require.Len(e.t, e.listAll(e.store, e.gen.kind()), len(got), "every committed transaction kept its record")
	}},
}

var concurrencyChecks = []check{
	{"OneVersionOneWinner", func(e *env) {
		// Updates based on one version race: exactly one wins, the
		// others get an *itsm.ConflictError and leave nothing behind.
		rec := e.fixture(1)
		e.create(rec)
		const workers = 16
		var (
			mu        sync.Mutex
			won       []int
			conflicts int
			errs      []error
			start     = make(chan struct{})
			wg        sync.WaitGroup
		)
		for w := range workers {
			cur := rec.Clone() // every worker starts from version 1
			wg.Go(func() {
				<-start
				cur.Title = fmt.Sprint("worker ", w)
				err := e.store.InTx(e.ctx, func(ctx context.Context, tx record.Tx) error {
					if err := tx.Update(ctx, cur); err != nil {
						return err
					}
					if err := tx.AppendJournal(ctx, cur.Ref(), entry(record.WorkNote, "worker", t0, cur.Title)); err != nil {
						return err
					}
					return tx.AppendEvents(ctx, event(cur.Ref(), fmt.Sprint("note-", w), t0))
				})
				mu.Lock()
				defer mu.Unlock()
				var ce *itsm.ConflictError
				switch {
				case err == nil:
					won = append(won, w)
				case errors.As(err, &ce):
					conflicts++
				default:
					errs = append(errs, err)
				}
			})
		}
		close(start)
		wg.Wait()
		require.Empty(e.t, errs, "every loser gets an *itsm.ConflictError")
		require.Len(e.t, won, 1, "exactly one update wins")
		require.Equal(e.t, workers-1, conflicts)

		final := e.get(rec.Ref())
		require.Equal(e.t, int64(2), final.Version)
		require.Equal(e.t, fmt.Sprint("worker ", won[0]), final.Title)
		e.requireJournal(e.ctx, e.store, rec.Ref(), entry(record.WorkNote, "worker", t0, final.Title))
		e.requireHistory(rec.Ref(), event(rec.Ref(), fmt.Sprint("note-", won[0]), t0))
		msgs, _ := e.readOutbox(e.store, "", 100, 1)
		require.Len(e.t, msgs, 1, "only the winner's event is in the outbox")
	}},
	{"SameIDOneWinner", func(e *env) {
		const workers = 8
		var (
			mu        sync.Mutex
			won       []int
			conflicts int
			errs      []error
			start     = make(chan struct{})
			wg        sync.WaitGroup
		)
		for w := range workers {
			rec := e.fixture(w)
			rec.ID = "st-contested"
			wg.Go(func() {
				<-start
				err := e.store.InTx(e.ctx, func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, rec) })
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won = append(won, w)
				case errors.Is(err, itsm.ErrConflict), storage.IsRetryable(err):
					conflicts++
				default:
					errs = append(errs, err)
				}
			})
		}
		close(start)
		wg.Wait()
		require.Empty(e.t, errs)
		require.Len(e.t, won, 1, "exactly one create wins")
		require.Equal(e.t, e.gen.number(won[0]), e.get(record.Ref{Kind: e.gen.kind(), ID: "st-contested"}).Number)
		require.Len(e.t, e.listAll(e.store, e.gen.kind()), 1)
	}},
	{"DisjointWritesAllCommit", func(e *env) {
		// Transactions on different records do not conflict; a store may
		// ask for a retry, and then the retry commits.
		const workers, each = 6, 5
		recs := make([]*record.Record, workers)
		for w := range recs {
			recs[w] = e.fixture(w)
		}
		e.create(recs...)
		var (
			mu   sync.Mutex
			errs []error
			wg   sync.WaitGroup
		)
		for w, rec := range recs {
			wg.Go(func() {
				cur := rec.Clone()
				for i := 0; i < each; {
					next := cur.Clone()
					next.Title = fmt.Sprint("update ", i)
					err := e.store.InTx(e.ctx, func(ctx context.Context, tx record.Tx) error {
						if err := tx.Update(ctx, next); err != nil {
							return err
						}
						return tx.AppendEvents(ctx, event(next.Ref(), fmt.Sprint("edit-", w, "-", i), t0))
					})
					switch {
					case err == nil:
						cur = next
						i++
					case storage.IsRetryable(err):
					default:
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
						return
					}
				}
			})
		}
		wg.Wait()
		require.Empty(e.t, errs)
		for _, rec := range recs {
			got := e.get(rec.Ref())
			require.Equal(e.t, int64(1+each), got.Version)
			hist, err := e.store.History(e.ctx, rec.Ref())
			require.NoError(e.t, err)
			require.Len(e.t, hist, each)
		}
		msgs, _ := e.readOutbox(e.store, "", 100, workers*each)
		require.Len(e.t, msgs, workers*each)
	}},
	{"ReadsDuringWrites", func(e *env) {
		// Readers running while transactions commit always see a
		// committed record whole: its title names its version.
		rec := e.fixture(1)
		rec.Title = "v1"
		e.create(rec)
		const writes = 20
		done := make(chan struct{})
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			bad []string
		)
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					got, err := e.store.Get(e.ctx, rec.Ref())
					if err == nil && got.Title != fmt.Sprint("v", got.Version) {
						err = fmt.Errorf("version %d with title %q", got.Version, got.Title)
					}
					if err == nil {
						var page record.Page
						page, err = e.store.List(e.ctx, record.Query{Kind: rec.Kind})
						if err == nil && (len(page.Records) != 1 || page.Records[0].Title != fmt.Sprint("v", page.Records[0].Version)) {
							err = fmt.Errorf("a list of %d records, or with a torn one", len(page.Records))
						}
					}
					if err != nil {
						mu.Lock()
						bad = append(bad, err.Error())
						mu.Unlock()
						return
					}
				}
			})
		}
		cur := rec.Clone()
		for range writes {
			cur.Title = fmt.Sprint("v", cur.Version+1)
			cur.UpdatedAt = cur.UpdatedAt.Add(time.Second)
			e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.Update(ctx, cur)) })
		}
		close(done)
		wg.Wait()
		require.Empty(e.t, bad)
		require.Equal(e.t, int64(1+writes), e.get(rec.Ref()).Version)
	}},
}

// declared returns a schema of a kind only the Declare checks use.
func declared(kind string, attrs ...record.Attribute) *record.Schema {
	return record.MustNewSchema(record.SchemaDef{
		Kind:   kind,
		Prefix: "STD",
		States: []record.StateDef{
			{Name: "open", Category: itsm.CategoryNew},
			{Name: "closed", Category: itsm.CategoryClosed},
		},
		Attributes: attrs,
	})
}

var declareChecks = []check{
	{"Nil", func(e *env) {
		fresh := declared("storagetest_fresh")
		requireValidation(e.t, e.store.Declare(e.ctx, nil))
		requireValidation(e.t, e.store.Declare(e.ctx, fresh, nil))
		// Nothing of the refused call is declared.
		rec := newGen(fresh, 3).record(1)
		err := e.store.InTx(e.ctx, func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, rec) })
		requireValidation(e.t, err, "a record of a kind whose declaration was refused")
		_, err = e.store.List(e.ctx, record.Query{Kind: fresh.Kind()})
		requireValidation(e.t, err, "a query of a kind whose declaration was refused")
		require.NoError(e.t, e.store.Declare(e.ctx), "declaring nothing is not an error")
	}},
	{"Redeclare", func(e *env) {
		// Declaring a kind again replaces its schema: an application
		// adds an attribute, and later drops it.
		const kind = "storagetest_redeclared"
		size := record.Attribute{Name: "size", Type: record.AttrInt, Filterable: true}
		colour := record.Attribute{Name: "colour", Type: record.AttrChoice, Choices: []string{"red", "blue"}, Filterable: true}
		v1 := declared(kind, size)
		require.NoError(e.t, e.store.Declare(e.ctx, v1))
		g1 := newGen(v1, 3)
		small := g1.record(1)
		small.Attrs = map[string]record.Value{"size": record.Int(3)}
		e.create(small)
		red := g1.record(2)
		red.Attrs = map[string]record.Value{"size": record.Int(5), "colour": record.Text("red")}
		err := e.store.InTx(e.ctx, func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, red) })
		requireValidation(e.t, err, "an undeclared attribute")
		byColour := record.Query{Kind: kind, Attrs: []record.AttrFilter{{Name: "colour", In: []record.Value{record.Text("red")}}}}
		_, err = e.store.List(e.ctx, byColour)
		requireValidation(e.t, err, "a filter on an undeclared attribute")

		require.NoError(e.t, e.store.Declare(e.ctx, declared(kind, size, colour)))
		e.create(red)
		list := func(q record.Query) []record.Ref {
			page, err := e.store.List(e.ctx, q)
			require.NoError(e.t, err)
			return refs(page.Records)
		}
		require.Equal(e.t, []record.Ref{red.Ref()}, list(byColour))
		bySize := record.Query{Kind: kind, Attrs: []record.AttrFilter{{Name: "size", Min: record.Int(3)}}}
		require.Equal(e.t, []record.Ref{small.Ref(), red.Ref()}, list(bySize))
		requireRecord(e.t, small, e.get(small.Ref()))

		require.NoError(e.t, e.store.Declare(e.ctx, declared(kind, size)))
		_, err = e.store.List(e.ctx, byColour)
		requireValidation(e.t, err, "a filter on an attribute no longer declared")
		require.Equal(e.t, []record.Ref{small.Ref(), red.Ref()}, list(bySize))
		require.Equal(e.t, []record.Ref{small.Ref()}, list(record.Query{Kind: kind, Attrs: []record.AttrFilter{{Name: "size", Max: record.Int(4)}}}))
	}},
	{"Again", func(e *env) {
		// Declaring the same schemas again changes nothing.
		rec := e.fixture(1)
		e.create(rec)
		require.NoError(e.t, e.store.Declare(e.ctx, e.schema, e.other))
		require.NoError(e.t, e.store.Declare(e.ctx, e.schema))
		requireRecord(e.t, rec, e.get(rec.Ref()))
		require.Equal(e.t, []record.Ref{rec.Ref()}, refs(e.listAll(e.store, rec.Kind)))
	}},
	{"Several", func(e *env) {
		a, b := declared("storagetest_a"), declared("storagetest_b")
		require.NoError(e.t, e.store.Declare(e.ctx, a, b))
		ra, rb := newGen(a, 3).record(1), newGen(b, 3).record(1)
		e.create(ra, rb)
		require.Equal(e.t, []record.Ref{ra.Ref()}, refs(e.listAll(e.store, a.Kind())))
		require.Equal(e.t, []record.Ref{rb.Ref()}, refs(e.listAll(e.store, b.Kind())))
	}},
}
