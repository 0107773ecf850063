package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/stretchr/testify/require"
)

var childrenTests = []test{
	{"OldestFirst", func(e env) {
		parent, other := fixture(1), fixture(2)
		kids := []*incident.Incident{fixture(3), fixture(4), fixture(5), fixture(6)}
		kids[0].OpenedAt = t0.Add(time.Hour) // opened last
		kids[1].OpenedAt = t0.Add(-time.Hour)
		kids[2].OpenedAt, kids[3].OpenedAt = t0, t0 // tie: ID decides
		for _, k := range kids {
			k.ParentID = parent.ID
		}
		stranger := fixture(7)
		stranger.ParentID = other.ID
		e.create(parent, other, kids[0], stranger, kids[3], kids[1], kids[2])
		got, err := e.store.Children(e.ctx, parent.ID)
		require.NoError(e.t, err)
		require.Equal(e.t, []string{kids[1].ID, kids[2].ID, kids[3].ID, kids[0].ID}, ids(got))
		requireIncident(e.t, kids[1], got[0])
	}},
	{"None", func(e env) {
		e.create(fixture(1))
		got, err := e.store.Children(e.ctx, fixture(1).ID)
		require.NoError(e.t, err)
		require.Empty(e.t, got)
		got, err = e.store.Children(e.ctx, "inc-missing")
		require.NoError(e.t, err)
		require.Empty(e.t, got)
	}},
}

var resolvedTests = []test{
	{"OldestResolutionFirst", func(e env) {
		resolved := func(n int, at time.Time) *incident.Incident {
			inc := fixture(n)
			inc.State, inc.ResolvedAt = incident.Resolved, at
			return inc
		}
		cutoff := t0.Add(10 * time.Hour)
		a := resolved(1, t0.Add(3*time.Hour))
		b := resolved(2, t0.Add(time.Hour)) // oldest resolution
		c := resolved(3, t0.Add(3*time.Hour))
		e.create(c, a, b)
		get := func(limit int) []string {
			got, err := e.store.ResolvedBefore(e.ctx, cutoff, limit)
			require.NoError(e.t, err)
			return ids(got)
		}
		require.Equal(e.t, []string{b.ID, a.ID, c.ID}, get(10))
		require.Equal(e.t, []string{b.ID, a.ID}, get(2))
		got, err := e.store.ResolvedBefore(e.ctx, cutoff, 1)
		require.NoError(e.t, err)
		require.Len(e.t, got, 1)
		requireIncident(e.t, b, got[0])
		got, err = e.store.ResolvedBefore(e.ctx, t0, 10)
		require.NoError(e.t, err)
		require.Empty(e.t, got)
	}},
	{"Selection", func(e env) {
		// Selection goes by ResolvedAt, ClosedAt and Major, never by the
		// state's name, so custom lifecycles work.
		cutoff := t0.Add(10 * time.Hour)
		inc := func(n int, resolvedAt time.Time, edit func(*incident.Incident)) *incident.Incident {
			i := fixture(n)
			i.State, i.ResolvedAt = incident.Resolved, resolvedAt
			if edit != nil {
				edit(i)
			}
			return i
		}
		keep := []*incident.Incident{
			inc(1, t0, nil),
			inc(2, t0.Add(time.Hour), func(i *incident.Incident) { i.State = "fixed" }), // a custom state
		}
		skip := []*incident.Incident{
			inc(3, cutoff, nil),                // not before the cutoff
			inc(4, cutoff.Add(time.Hour), nil), // after it
			inc(5, t0, func(i *incident.Incident) { i.State, i.ClosedAt = incident.Closed, t0.Add(time.Hour) }),
			inc(6, t0, func(i *incident.Incident) { i.ClosedAt = t0.Add(time.Hour) }), // closed, whatever the state says
			inc(7, t0, func(i *incident.Incident) { i.Major = true }),
			inc(8, time.Time{}, nil), // state resolved but no resolution time
			fixture(9),               // open
		}
		e.create(append(slices.Clone(skip), keep...)...)
		got, err := e.store.ResolvedBefore(e.ctx, cutoff, 100)
		require.NoError(e.t, err)
		require.Equal(e.t, ids(keep), ids(got))
		e.tx(func(ctx context.Context, tx incident.Tx) {
			got, err := tx.ResolvedBefore(ctx, cutoff, 100)
			require.NoError(e.t, err)
			require.Equal(e.t, ids(keep), ids(got))
		})
	}},
}

var numberTests = []test{
	{"PerKindFromOne", func(e env) {
		var got []int64
		e.tx(func(ctx context.Context, tx incident.Tx) {
			for _, kind := range []string{incident.Kind, incident.Kind, "problem", incident.Kind, "problem"} {
				n, err := tx.NextNumber(ctx, kind)
				require.NoError(e.t, err)
				got = append(got, n)
			}
		})
		require.Equal(e.t, []int64{1, 2, 1, 3, 2}, got)
		e.tx(func(ctx context.Context, tx incident.Tx) {
			n, err := tx.NextNumber(ctx, incident.Kind)
			require.NoError(e.t, err)
			require.Equal(e.t, int64(4), n, "sequences continue across transactions")
		})
	}},
	{"UniqueAfterRollback", func(e env) {
		var seen []int64
		next := func(fail bool) error {
			return e.store.InTx(e.ctx, func(ctx context.Context, tx incident.Tx) error {
				n, err := tx.NextNumber(ctx, incident.Kind)
				require.NoError(e.t, err)
				seen = append(seen, n)
				if fail {
					return errors.New("storagetest: roll back")
				}
				return nil
			})
		}
		require.NoError(e.t, next(false))
		require.Error(e.t, next(true))
		require.NoError(e.t, next(false))
		require.Equal(e.t, int64(1), seen[0])
		require.Greater(e.t, seen[2], seen[0], "numbers grow")
		// A rollback may leave a gap but must never hand out a committed
		// number again.
		require.NotEqual(e.t, seen[0], seen[2])
	}},
	{"UniqueUnderConcurrency", func(e env) {
		// Each transaction takes a number and creates an incident with
		// it. A store may refuse a transaction with itsm.ErrConflict or
		// storage.ErrRetryable (a serialization failure), but the numbers
		// of the committed ones must all differ.
		const workers, each = 8, 10
		var (
			mu        sync.Mutex
			got       []int64
			conflicts int
			others    []error
			wg        sync.WaitGroup
		)
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					var n int64
					err := e.store.InTx(e.ctx, func(ctx context.Context, tx incident.Tx) (err error) {
						if n, err = tx.NextNumber(ctx, incident.Kind); err != nil {
							return err
						}
						inc := fixture(1)
						inc.ID, inc.Number = fmt.Sprintf("inc-w%d-%d", w, i), fmt.Sprintf("INC-W%d-%d", w, i)
						return tx.Create(ctx, inc)
					})
					mu.Lock()
					switch {
					case err == nil:
						got = append(got, n)
					case errors.Is(err, itsm.ErrConflict), storage.IsRetryable(err):
						conflicts++
					default:
						others = append(others, err)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		require.Empty(e.t, others)
		require.NotEmpty(e.t, got)
		require.Equal(e.t, workers*each, len(got)+conflicts)
		slices.Sort(got)
		require.Len(e.t, slices.Compact(slices.Clone(got)), len(got), "a number was handed out twice: %v", got)
		page, err := e.store.List(e.ctx, incident.Query{Limit: incident.MaxPageSize})
		require.NoError(e.t, err)
		require.Len(e.t, page.Incidents, len(got), "every committed transaction kept its incident")
	}},
}

var concurrencyTests = []test{
	{"NoLostUpdates", func(e env) {
		inc := fixture(1)
		e.create(inc)
		const workers = 16
		var (
			mu        sync.Mutex
			won       []int
			conflicts int
			others    []error
			start     = make(chan struct{})
			wg        sync.WaitGroup
		)
		for w := range workers {
			wg.Go(func() {
				<-start
				// Read outside the transaction, then update based on that
				// read: the optimistic check must catch every stale write.
				cur, err := e.store.Get(e.ctx, inc.ID)
				if err == nil {
					cur.Journal = append(cur.Journal, incident.Entry{Kind: incident.WorkNote, Author: "worker", At: t0, Text: fmt.Sprint("worker ", w)})
					cur.UpdatedAt = t0.Add(time.Duration(w) * time.Second)
					err = e.store.InTx(e.ctx, func(ctx context.Context, tx incident.Tx) error {
						if err := tx.Update(ctx, cur); err != nil {
							return err
						}
						return tx.AppendEvents(ctx, event(inc.ID, fmt.Sprint("note-", w), t0))
					})
				}
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won = append(won, w)
				case errors.Is(err, itsm.ErrConflict):
					var ce *itsm.ConflictError
					if !errors.As(err, &ce) {
						others = append(others, fmt.Errorf("conflict is not an *itsm.ConflictError: %w", err))
					}
					conflicts++
				default:
					others = append(others, err)
				}
			})
		}
		close(start)
		wg.Wait()
		require.Empty(e.t, others)
		require.NotEmpty(e.t, won, "at least one update must succeed")
		require.Equal(e.t, workers, len(won)+conflicts)

		final := e.get(inc.ID)
		require.Equal(e.t, int64(1+len(won)), final.Version, "one version per successful update")
		require.Len(e.t, final.Journal, 1+len(won), "no successful update may be lost")
		for _, w := range won {
			require.True(e.t, slices.ContainsFunc(final.Journal, func(en incident.Entry) bool { return en.Text == fmt.Sprint("worker ", w) }),
				"the journal entry of worker %d was lost", w)
		}
		hist, err := e.store.History(e.ctx, inc.ID)
		require.NoError(e.t, err)
		require.Len(e.t, hist, len(won), "only successful transactions leave events")
		for i, ev := range hist {
			require.Equal(e.t, int64(i+1), ev.Sequence)
		}
	}},
	{"ReadsDuringWrites", func(e env) {
		// Readers running while transactions commit must always see a
		// committed incident whole: its journal length matches its version.
		inc := fixture(1)
		e.create(inc)
		const writes = 20
		done := make(chan struct{})
		var wg sync.WaitGroup
		var bad []string
		var mu sync.Mutex
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					got, err := e.store.Get(e.ctx, inc.ID)
					if err == nil && int64(len(got.Journal)) != got.Version {
						err = fmt.Errorf("version %d with %d journal entries", got.Version, len(got.Journal))
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
		cur := inc.Clone()
		for i := range writes {
			cur.Journal = append(cur.Journal, incident.Entry{Kind: incident.Comment, Author: "dave", At: t0, Text: fmt.Sprint(i)})
			e.tx(func(ctx context.Context, tx incident.Tx) { require.NoError(e.t, tx.Update(ctx, cur)) })
		}
		close(done)
		wg.Wait()
		require.Empty(e.t, bad)
		require.Equal(e.t, int64(1+writes), e.get(inc.ID).Version)
	}},
}
