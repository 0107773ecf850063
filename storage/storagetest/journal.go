package storagetest

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
)

// requireJournal fails unless the journal of ref read through r equals
// want, instants in UTC.
func (e *env) requireJournal(ctx context.Context, r record.Reader, ref record.Ref, want ...record.Entry) {
	e.t.Helper()
	got, err := r.Journal(ctx, ref)
	require.NoError(e.t, err)
	require.NotNil(e.t, got, "Journal returns a non-nil slice")
	require.Len(e.t, got, len(want), "journal of %s", ref)
	if len(want) == 0 {
		return
	}
	for i := range want {
		require.Truef(e.t, want[i].At.Equal(got[i].At), "journal of %s, entry %d: at %s, want %s", ref, i, got[i].At, want[i].At)
		requireUTC(e.t, "journal entry", got[i].At)
		got[i].At = want[i].At
	}
	require.Equal(e.t, want, got, "journal of %s", ref)
}

var journalChecks = []check{
	{"Append", func(e *env) {
		a, b := e.fixture(1), e.fixture(2)
		theirs := e.og.record(1)
		theirs.ID = a.ID // another record, with its own journal
		e.create(a, b, theirs)
		a1 := entry(record.Comment, "carol", t0, "It is down.")
		b1 := entry(record.WorkNote, "dave", t0.Add(time.Second), "Looking.")
		a2 := entry(record.WorkNote, "dave", t0.Add(time.Minute+time.Microsecond), "Relay hung.\nRestarting it: 50% done_")
		a3 := entry(record.Comment, "dave", t0.Add(2*time.Minute), strings.Repeat("Überweisung ", 1000))
		e.tx(func(ctx context.Context, tx record.Tx) {
			require.NoError(e.t, tx.AppendJournal(ctx, a.Ref(), a1))
			require.NoError(e.t, tx.AppendJournal(ctx, b.Ref(), b1))
			require.NoError(e.t, tx.AppendJournal(ctx, a.Ref(), a2))
			e.requireJournal(ctx, tx, a.Ref(), a1, a2)
		})
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.AppendJournal(ctx, a.Ref(), a3)) })
		e.requireJournal(e.ctx, e.store, a.Ref(), a1, a2, a3)
		e.requireJournal(e.ctx, e.store, b.Ref(), b1)
		e.requireJournal(e.ctx, e.store, theirs.Ref())
		e.tx(func(ctx context.Context, tx record.Tx) { e.requireJournal(ctx, tx, a.Ref(), a1, a2, a3) })
	}},
	{"Validation", func(e *env) {
		rec := e.fixture(1)
		e.create(rec)
		valid := entry(record.Comment, "carol", t0, "valid")
		for _, tc := range []struct {
			name string
			en   record.Entry
		}{
			{"no kind", entry("", "carol", t0, "x")},
			{"unknown kind", entry("email", "carol", t0, "x")},
			{"no author", entry(record.Comment, "", t0, "x")},
			{"no time", entry(record.Comment, "carol", time.Time{}, "x")},
			{"no text", entry(record.Comment, "carol", t0, "")},
			{"blank text", entry(record.Comment, "carol", t0, " \n\t")},
			{"text not UTF-8", entry(record.Comment, "carol", t0, "bad \xff")},
			{"text with NUL", entry(record.Comment, "carol", t0, "a\x00b")},
		} {
			require.Error(e.t, record.CheckEntries([]record.Entry{tc.en}), "storagetest: fixture %s passes CheckEntries", tc.name)
			e.refusedInTx(func(ctx context.Context, tx record.Tx) error {
				err := tx.AppendJournal(ctx, rec.Ref(), valid, tc.en)
				e.requireJournal(ctx, tx, rec.Ref())
				return err
			}, func(err error) { requireValidation(e.t, err, tc.name) })
		}
		e.requireJournal(e.ctx, e.store, rec.Ref())
		e.tx(func(ctx context.Context, tx record.Tx) {
			requireValidation(e.t, tx.AppendJournal(ctx, record.Ref{Kind: "Not A Kind", ID: rec.ID}, valid), "malformed ref")
		})
	}},
	{"MissingRecord", func(e *env) {
		rec := e.fixture(1)
		theirs := e.og.record(2)
		theirs.ID = e.gen.id(2)
		e.create(rec, theirs)
		missing := e.gen.ref(2) // its ID exists in the other kind only
		valid := entry(record.Comment, "carol", t0, "valid")
		e.refusedInTx(func(ctx context.Context, tx record.Tx) error {
			return tx.AppendJournal(ctx, missing, valid)
		}, func(err error) { requireNotFound(e.t, err, missing.Kind, missing.ID) })
		e.requireJournal(e.ctx, e.store, missing)
		e.requireJournal(e.ctx, e.store, theirs.Ref())
		e.requireJournal(e.ctx, e.store, rec.Ref())
		_, err := e.store.Get(e.ctx, missing)
		require.ErrorIs(e.t, err, itsm.ErrNotFound)
	}},
}

var linkChecks = []check{
	{"BothEnds", func(e *env) {
		// Links read the same from both ends, in the order they were
		// added, across kinds.
		a, b := e.fixture(1), e.fixture(2)
		c := e.og.record(3)
		e.create(a, b, c)
		ab := link(record.CausedBy.Name, a.Ref(), b.Ref())
		ca := link(record.RelatedTo.Name, c.Ref(), a.Ref())
		ac := link(record.FixedBy.Name, a.Ref(), c.Ref())
		bc := link(record.DuplicateOf.Name, b.Ref(), c.Ref())
		ba := link("storagetest_custom", b.Ref(), a.Ref()) // any well-formed type
		ab.CreatedAt = t0.Add(time.Microsecond)
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.AddLinks(ctx, ab, ca, ac)) })
		e.tx(func(ctx context.Context, tx record.Tx) {
			require.NoError(e.t, tx.AddLinks(ctx, bc))
			require.NoError(e.t, tx.AddLinks(ctx, ba))
			e.requireLinksOf(ctx, tx, b.Ref(), ab, bc, ba)
		})
		check := func(ctx context.Context, r record.Reader) {
			e.requireLinksOf(ctx, r, a.Ref(), ab, ca, ac, ba)
			e.requireLinksOf(ctx, r, b.Ref(), ab, bc, ba)
			e.requireLinksOf(ctx, r, c.Ref(), ca, ac, bc)
			e.requireLinksOf(ctx, r, record.Ref{Kind: c.Kind, ID: a.ID})
		}
		check(e.ctx, e.store)
		e.tx(func(ctx context.Context, tx record.Tx) { check(ctx, tx) })
	}},
	{"Duplicate", func(e *env) {
		a, b, c := e.fixture(1), e.fixture(2), e.fixture(3)
		e.create(a, b, c)
		ab := link(record.CausedBy.Name, a.Ref(), b.Ref())
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.AddLinks(ctx, ab)) })
		again := ab
		again.CreatedAt, again.CreatedBy = t0.Add(time.Hour), "erin" // the same link, made again
		ac := link(record.RelatedTo.Name, a.Ref(), c.Ref())
		for _, call := range [][]record.Link{{ac, again}, {ac, ac}} {
			e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.AddLinks(ctx, call...) },
				func(err error) { require.ErrorIs(e.t, err, itsm.ErrConflict) })
			e.requireLinksOf(e.ctx, e.store, a.Ref(), ab)
			e.requireLinksOf(e.ctx, e.store, c.Ref())
		}
		// Another type between the same ends, and the same type the other
		// way round, are other links.
		ab2 := link(record.RelatedTo.Name, a.Ref(), b.Ref())
		ba := link(record.CausedBy.Name, b.Ref(), a.Ref())
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.AddLinks(ctx, ab2, ba)) })
		e.requireLinksOf(e.ctx, e.store, a.Ref(), ab, ab2, ba)
	}},
	{"MissingEnd", func(e *env) {
		a, b := e.fixture(1), e.fixture(2)
		theirs := e.og.record(3)
		theirs.ID = e.gen.id(3)
		e.create(a, b, theirs)
		missing := e.gen.ref(3) // its ID exists in the other kind only
		ab := link(record.CausedBy.Name, a.Ref(), b.Ref())
		for _, bad := range []record.Link{link(record.CausedBy.Name, a.Ref(), missing), link(record.RelatedTo.Name, missing, b.Ref())} {
			e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.AddLinks(ctx, ab, bad) },
				func(err error) { requireNotFound(e.t, err, missing.Kind, missing.ID) })
			for _, ref := range []record.Ref{a.Ref(), b.Ref(), missing, theirs.Ref()} {
				e.requireLinksOf(e.ctx, e.store, ref)
			}
		}
	}},
	{"AcyclicConcurrently", func(e *env) {
		// Eight transactions each add one link of a ring r0 → r1 → ... →
		// r7 → r0 at once, each after record.CheckCycle: the link type
		// lock lets the last to check see the other seven links, so it
		// is refused and the ring stays open.
		const n = 8
		recs := make([]*record.Record, n)
		for i := range recs {
			recs[i] = e.fixture(i + 1)
		}
		e.create(recs...)
		var (
			start = make(chan struct{})
			wg    sync.WaitGroup
			errs  = make([]error, n)
		)
		for i := range n {
			l := link(record.DuplicateOf.Name, recs[i].Ref(), recs[(i+1)%n].Ref())
			wg.Go(func() {
				<-start
				errs[i] = e.store.InTx(e.ctx, func(ctx context.Context, tx record.Tx) error {
					if err := record.CheckCycle(ctx, tx, l); err != nil {
						return err
					}
					return tx.AddLinks(ctx, l)
				})
			})
		}
		close(start)
		wg.Wait()
		var refused int
		for _, err := range errs {
			if err != nil {
				require.ErrorIs(e.t, err, itsm.ErrValidation)
				require.Contains(e.t, err.Error(), "would close a cycle")
				refused++
			}
		}
		require.Equal(e.t, 1, refused, "exactly the last link of the ring is refused")
		var stored int
		for _, r := range recs {
			ls, err := e.store.Links(e.ctx, r.Ref())
			require.NoError(e.t, err)
			for _, l := range ls {
				if l.From == r.Ref() {
					stored++
				}
			}
		}
		require.Equal(e.t, n-1, stored)
	}},
	{"LockLinkTypes", func(e *env) {
		e.tx(func(ctx context.Context, tx record.Tx) {
			require.NoError(e.t, tx.LockLinkTypes(ctx))
			require.NoError(e.t, tx.LockLinkTypes(ctx, record.DuplicateOf.Name, record.CausedBy.Name, record.DuplicateOf.Name))
			require.NoError(e.t, tx.LockLinkTypes(ctx, record.CausedBy.Name), "a lock the transaction holds is taken again at once")
			err := tx.LockLinkTypes(ctx, record.CausedBy.Name, "Not a type")
			requireValidation(e.t, err)
			var ve *itsm.ValidationError
			require.ErrorAs(e.t, err, &ve)
			require.Len(e.t, ve.Fields, 1)
			require.Equal(e.t, "[1]", ve.Fields[0].Field)
			require.NoError(e.t, tx.LockLinkTypes(ctx, record.FixedBy.Name), "a refused call leaves the transaction usable")
		})
	}},
	{"Remove", func(e *env) {
		a, b, c := e.fixture(1), e.fixture(2), e.fixture(3)
		e.create(a, b, c)
		ab := link(record.CausedBy.Name, a.Ref(), b.Ref())
		ac := link(record.RelatedTo.Name, a.Ref(), c.Ref())
		cb := link(record.FixedBy.Name, c.Ref(), b.Ref())
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.AddLinks(ctx, ab, ac, cb)) })
		// A link is known by its type and ends; when and by whom it was
		// made does not matter to RemoveLinks.
		rm := ab
		rm.CreatedAt, rm.CreatedBy = t0.Add(time.Hour), "erin"
		e.tx(func(ctx context.Context, tx record.Tx) {
			require.NoError(e.t, tx.RemoveLinks(ctx, rm))
			e.requireLinksOf(ctx, tx, a.Ref(), ac)
		})
		e.requireLinksOf(e.ctx, e.store, a.Ref(), ac)
		e.requireLinksOf(e.ctx, e.store, b.Ref(), cb)
		e.requireLinksOf(e.ctx, e.store, c.Ref(), ac, cb)
		// Added again, it is the newest link.
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.AddLinks(ctx, ab)) })
		e.requireLinksOf(e.ctx, e.store, a.Ref(), ac, ab)
		e.requireLinksOf(e.ctx, e.store, b.Ref(), cb, ab)
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.RemoveLinks(ctx, ac, cb)) })
		e.requireLinksOf(e.ctx, e.store, c.Ref())
		e.requireLinksOf(e.ctx, e.store, a.Ref(), ab)
	}},
	{"RemoveMissing", func(e *env) {
		a, b := e.fixture(1), e.fixture(2)
		e.create(a, b)
		ab := link(record.CausedBy.Name, a.Ref(), b.Ref())
		e.tx(func(ctx context.Context, tx record.Tx) { require.NoError(e.t, tx.AddLinks(ctx, ab)) })
		for _, bad := range []record.Link{
			link(record.CausedBy.Name, b.Ref(), a.Ref()),  // the other way round
			link(record.RelatedTo.Name, a.Ref(), b.Ref()), // another type
			link(record.CausedBy.Name, a.Ref(), e.gen.ref(9)),
		} {
			e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.RemoveLinks(ctx, ab, bad) }, func(err error) {
				require.ErrorIs(e.t, err, itsm.ErrNotFound)
				var nf *itsm.NotFoundError
				require.ErrorAs(e.t, err, &nf)
			})
			e.requireLinksOf(e.ctx, e.store, a.Ref(), ab)
		}
	}},
	{"Validation", func(e *env) {
		a, b := e.fixture(1), e.fixture(2)
		e.create(a, b)
		valid := link(record.RelatedTo.Name, a.Ref(), b.Ref())
		for _, tc := range []struct {
			name string
			edit func(l *record.Link)
		}{
			{"child of", func(l *record.Link) { l.Type = record.ChildOf.Name }},
			{"no type", func(l *record.Link) { l.Type = "" }},
			{"malformed type", func(l *record.Link) { l.Type = "Related To" }},
			{"malformed from kind", func(l *record.Link) { l.From.Kind = "Not A Kind" }},
			{"no to ID", func(l *record.Link) { l.To.ID = "" }},
			{"to itself", func(l *record.Link) { l.To = l.From }},
			{"no time", func(l *record.Link) { l.CreatedAt = time.Time{} }},
			{"no creator", func(l *record.Link) { l.CreatedBy = "" }},
		} {
			bad := link(record.CausedBy.Name, b.Ref(), a.Ref())
			tc.edit(&bad)
			require.Error(e.t, record.CheckLinks([]record.Link{bad}), "storagetest: fixture %s passes CheckLinks", tc.name)
			e.refusedInTx(func(ctx context.Context, tx record.Tx) error { return tx.AddLinks(ctx, valid, bad) },
				func(err error) { requireValidation(e.t, err, tc.name) })
			e.requireLinksOf(e.ctx, e.store, a.Ref())
			e.requireLinksOf(e.ctx, e.store, b.Ref())
		}
	}},
}

// requireLinksOf fails unless the links of ref read through r equal want.
func (e *env) requireLinksOf(ctx context.Context, r record.Reader, ref record.Ref, want ...record.Link) {
	e.t.Helper()
	got, err := r.Links(ctx, ref)
	require.NoError(e.t, err)
	require.NotNil(e.t, got, "Links returns a non-nil slice")
	requireLinks(e.t, want, got, ref.String())
}
