package storagetest

import (
	"context"
	"slices"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// txWorld is what the transaction checks start from and what writeAll
// writes: a committed record with a timer, a journal entry, a link and
// an event, and a record of the second kind it links to; writeAll then
// makes one write of every kind.
type txWorld struct {
	e        *env
	existing *record.Record // committed
	partner  *record.Record // committed, of the other kind
	timer    record.TimerRecord
	entry    record.Entry
	link     record.Link
	event    itsm.Event

	// What writeAll writes.
	created       *record.Record
	updated       *record.Record
	newTimer      record.TimerRecord
	replacedTimer record.TimerRecord
	newEntry      record.Entry
	childLink     record.Link
	causeLink     record.Link
	updateEvent   itsm.Event
	createdEvent  itsm.Event
}

// newTxWorld commits the starting state.
func (e *env) newTxWorld() *txWorld {
	e.t.Helper()
	w := &txWorld{e: e, existing: e.fixture(1), partner: e.og.record(2)}
	w.timer = wakeAt(w.existing.Ref(), "tmr-1", t0.Add(time.Hour))
	w.entry = entry(record.Comment, "carol", t0, "It is down.")
	w.link = link(record.RelatedTo.Name, w.existing.Ref(), w.partner.Ref())
	w.event = event(w.existing.Ref(), "open", t0)
	e.tx(func(ctx context.Context, tx record.Tx) {
		require.NoError(e.t, tx.Create(ctx, w.existing))
		require.NoError(e.t, tx.Create(ctx, w.partner))
		require.NoError(e.t, tx.PutTimers(ctx, w.timer))
		require.NoError(e.t, tx.AppendJournal(ctx, w.existing.Ref(), w.entry))
		require.NoError(e.t, tx.AddLinks(ctx, w.link))
		require.NoError(e.t, tx.AppendEvents(ctx, w.event))
	})
	w.created = e.fixture(2)
	w.created.Parent = w.existing.Ref()
	w.updated = w.existing.Clone()
	w.updated.Title = "changed in the transaction"
	w.updated.UpdatedAt = t0.Add(time.Hour)
	w.newTimer = wakeAt(w.created.Ref(), "tmr-2", t0.Add(2*time.Hour))
	breached := newTimer("gold", sla.MetricResolution, time.Hour, t0)
	w.replacedTimer = timerRecord(w.existing.Ref(), "tmr-1", sla.KindOLA, breached, t0.Add(3*time.Hour))
	w.replacedTimer.NextWakeAt = t0.Add(30 * time.Minute)
	w.newEntry = entry(record.WorkNote, "dave", t0.Add(time.Hour), "Relay hung.")
	w.childLink = link(record.DuplicateOf.Name, w.created.Ref(), w.existing.Ref())
	w.causeLink = link(record.CausedBy.Name, w.existing.Ref(), w.partner.Ref())
	w.updateEvent = event(w.existing.Ref(), "edit", t0.Add(time.Hour))
	w.createdEvent = event(w.created.Ref(), "open", t0.Add(time.Hour))
	return w
}

// writeAll makes one write of every kind in tx: it updates the existing
// record, creates a child of it, appends to its journal, replaces its
// link by two others, saves a timer for each record, appends an event to
// each and takes a number.
func (w *txWorld) writeAll(ctx context.Context, tx record.Tx) {
	e := w.e
	e.t.Helper()
	require.NoError(e.t, tx.Update(ctx, w.updated.Clone()))
	require.NoError(e.t, tx.Create(ctx, w.created.Clone()))
	require.NoError(e.t, tx.AppendJournal(ctx, w.existing.Ref(), w.newEntry))
	require.NoError(e.t, tx.RemoveLinks(ctx, w.link))
	require.NoError(e.t, tx.AddLinks(ctx, w.childLink, w.causeLink))
	require.NoError(e.t, tx.PutTimers(ctx, w.newTimer, w.replacedTimer))
	require.NoError(e.t, tx.AppendEvents(ctx, w.updateEvent, w.createdEvent))
	_, err := tx.NextNumber(ctx, w.existing.Kind)
	require.NoError(e.t, err)
}

// requireBefore fails unless r shows the starting state: nothing
// writeAll wrote.
func (w *txWorld) requireBefore(ctx context.Context, r record.Reader) {
	e := w.e
	e.t.Helper()
	got, err := r.Get(ctx, w.existing.Ref())
	require.NoError(e.t, err)
	requireRecord(e.t, fixture{rec: w.existing, timers: []record.TimerRecord{w.timer}}.want(), got)
	_, err = r.Get(ctx, w.created.Ref())
	requireNotFound(e.t, err, w.created.Kind, w.created.ID)
	_, err = r.GetByNumber(ctx, w.created.Kind, w.created.Number)
	requireNotFound(e.t, err, w.created.Kind, w.created.Number)
	page, err := r.List(ctx, record.Query{Kind: w.existing.Kind})
	require.NoError(e.t, err)
	require.Equal(e.t, []record.Ref{w.existing.Ref()}, refs(page.Records))
	page, err = r.List(ctx, record.Query{Kind: w.existing.Kind, Parent: w.existing.Ref()})
	require.NoError(e.t, err)
	require.Empty(e.t, page.Records)
	page, err = r.List(ctx, record.Query{Kind: w.existing.Kind, SLA: record.SLAFilter{PolicyKinds: []sla.PolicyKind{sla.KindOLA}}})
	require.NoError(e.t, err)
	require.Empty(e.t, page.Records)
	e.requireJournal(ctx, r, w.existing.Ref(), w.entry)
	e.requireLinksOf(ctx, r, w.existing.Ref(), w.link)
	e.requireLinksOf(ctx, r, w.partner.Ref(), w.link)
	e.requireLinksOf(ctx, r, w.created.Ref())
	e.requireTimersOf(ctx, r, w.existing.Ref(), w.timer)
	e.requireTimersOf(ctx, r, w.created.Ref())
	requireTimers(e.t, []record.TimerRecord{w.timer}, e.due(ctx, r, t0.Add(100*time.Hour), 10))
	hist, err := r.History(ctx, w.existing.Ref())
	require.NoError(e.t, err)
	requireEvents(e.t, numbered(1, w.event), hist, "history")
	hist, err = r.History(ctx, w.created.Ref())
	require.NoError(e.t, err)
	require.Empty(e.t, hist)
	msgs, _ := e.readOutbox(r, "", 10, 1)
	requireEvents(e.t, numbered(1, w.event), outboxEvents(msgs), "outbox")
}

// requireAfter fails unless r shows everything writeAll wrote.
func (w *txWorld) requireAfter(ctx context.Context, r record.Reader, outbox bool) {
	e := w.e
	e.t.Helper()
	got, err := r.Get(ctx, w.existing.Ref())
	require.NoError(e.t, err)
	want := fixture{rec: w.updated, timers: []record.TimerRecord{w.replacedTimer}}.want()
	want.Version = 2
	requireRecord(e.t, want, got)
	created := fixture{rec: w.created, timers: []record.TimerRecord{w.newTimer}}.want()
	got, err = r.GetByNumber(ctx, w.created.Kind, w.created.Number)
	require.NoError(e.t, err)
	requireRecord(e.t, created, got)
	page, err := r.List(ctx, record.Query{Kind: w.existing.Kind, Parent: w.existing.Ref()})
	require.NoError(e.t, err)
	requireRecords(e.t, []*record.Record{created}, page.Records)
	page, err = r.List(ctx, record.Query{Kind: w.existing.Kind, Text: "changed in the"})
	require.NoError(e.t, err)
	requireRecords(e.t, []*record.Record{want}, page.Records)
	page, err = r.List(ctx, record.Query{Kind: w.existing.Kind, SLA: record.SLAFilter{Breached: true, PolicyKinds: []sla.PolicyKind{sla.KindOLA}}, Now: tNow})
	require.NoError(e.t, err)
	requireRecords(e.t, []*record.Record{want}, page.Records)
	e.requireJournal(ctx, r, w.existing.Ref(), w.entry, w.newEntry)
	e.requireLinksOf(ctx, r, w.existing.Ref(), w.childLink, w.causeLink)
	e.requireLinksOf(ctx, r, w.partner.Ref(), w.causeLink)
	e.requireLinksOf(ctx, r, w.created.Ref(), w.childLink)
	e.requireTimersOf(ctx, r, w.existing.Ref(), w.replacedTimer)
	e.requireTimersOf(ctx, r, w.created.Ref(), w.newTimer)
	due := []record.TimerRecord{w.newTimer, w.replacedTimer}
	slices.SortFunc(due, dueOrder)
	requireTimers(e.t, due, e.due(ctx, r, t0.Add(100*time.Hour), 10))
	hist, err := r.History(ctx, w.existing.Ref())
	require.NoError(e.t, err)
	requireEvents(e.t, numbered(1, w.event, w.updateEvent), hist, "history")
	hist, err = r.History(ctx, w.created.Ref())
	require.NoError(e.t, err)
	requireEvents(e.t, numbered(1, w.createdEvent), hist, "history")
	if outbox {
		msgs, _ := e.readOutbox(r, "", 10, 3)
		requireEvents(e.t, []itsm.Event{numbered(1, w.event)[0], numbered(2, w.updateEvent)[0], numbered(1, w.createdEvent)[0]},
			outboxEvents(msgs), "outbox")
	}
}

var txChecks = []check{
	{"ErrorPassedThrough", func(e *env) {
		// InTx passes fn's error on (wrapped or not), so errors.Is and
		// errors.As see it and its detail.
		sentinel := &itsm.ValidationError{Subject: "storagetest"}
		sentinel.Add("field", "made up")
		err := e.store.InTx(e.ctx, func(context.Context, record.Tx) error { return sentinel })
		require.ErrorIs(e.t, err, itsm.ErrValidation)
		var got *itsm.ValidationError
		require.ErrorAs(e.t, err, &got)
		require.Same(e.t, sentinel, got)
	}},
	{"RollbackOnError", func(e *env) {
		w := e.newTxWorld()
		err := e.store.InTx(e.ctx, func(ctx context.Context, tx record.Tx) error {
			w.writeAll(ctx, tx)
			return errRollback
		})
		require.ErrorIs(e.t, err, errRollback)
		w.requireBefore(e.ctx, e.store)
		e.tx(func(ctx context.Context, tx record.Tx) { w.requireBefore(ctx, tx) })
	}},
	{"RollbackOnPanic", func(e *env) {
		w := e.newTxWorld()
		type boom struct{ msg string }
		var recovered any
		func() {
			defer func() { recovered = recover() }()
			_ = e.store.InTx(e.ctx, func(ctx context.Context, tx record.Tx) error {
				w.writeAll(ctx, tx)
				panic(boom{"storagetest: fn panicked"})
			})
		}()
		require.Equal(e.t, boom{"storagetest: fn panicked"}, recovered, "InTx passes fn's panic on")
		w.requireBefore(e.ctx, e.store)
		// The store still works after the panic.
		e.tx(func(ctx context.Context, tx record.Tx) { w.writeAll(ctx, tx) })
		w.requireAfter(e.ctx, e.store, true)
	}},
	{"ReadYourWrites", func(e *env) {
		w := e.newTxWorld()
		e.tx(func(ctx context.Context, tx record.Tx) {
			w.writeAll(ctx, tx)
			w.requireAfter(ctx, tx, false)
		})
		w.requireAfter(e.ctx, e.store, true)
	}},
	{"IsolatedUntilCommit", func(e *env) {
		// Reads through the Store while a transaction is open see the
		// committed state only; they run on the transaction's goroutine,
		// so a store whose outside reads waited for the writer would hang
		// here.
		w := e.newTxWorld()
		e.tx(func(ctx context.Context, tx record.Tx) {
			w.writeAll(ctx, tx)
			w.requireBefore(e.ctx, e.store)
		})
		w.requireAfter(e.ctx, e.store, true)
	}},
	{"UseAfterCommit", func(e *env) { useAfterReturn(e, true) }},
	{"UseAfterRollback", func(e *env) { useAfterReturn(e, false) }},
}

// useAfterReturn keeps the tx of a transaction that commits (or rolls
// back) and uses it after InTx returned: fn must not keep tx, and a store
// refuses its use then, writing nothing.
func useAfterReturn(e *env, commit bool) {
	w := e.newTxWorld()
	var kept record.Tx
	err := e.store.InTx(e.ctx, func(_ context.Context, tx record.Tx) error {
		kept = tx
		if !commit {
			return errRollback
		}
		return nil
	})
	if commit {
		require.NoError(e.t, err)
	} else {
		require.ErrorIs(e.t, err, errRollback)
	}
	ctx := e.ctx
	upd := w.updated.Clone()
	calls := []struct {
		name string
		call func() error
	}{
		{"Create", func() error { return kept.Create(ctx, w.created.Clone()) }},
		{"Update", func() error { return kept.Update(ctx, upd) }},
		{"AppendJournal", func() error { return kept.AppendJournal(ctx, w.existing.Ref(), w.newEntry) }},
		{"AddLinks", func() error { return kept.AddLinks(ctx, w.causeLink) }},
		{"RemoveLinks", func() error { return kept.RemoveLinks(ctx, w.link) }},
		{"PutTimers", func() error { return kept.PutTimers(ctx, w.replacedTimer) }},
		{"AppendEvents", func() error { return kept.AppendEvents(ctx, w.updateEvent) }},
		{"NextNumber", func() error { _, err := kept.NextNumber(ctx, w.existing.Kind); return err }},
		{"Get", func() error { _, err := kept.Get(ctx, w.existing.Ref()); return err }},
		{"List", func() error { _, err := kept.List(ctx, record.Query{Kind: w.existing.Kind}); return err }},
	}
	for _, c := range calls {
		err := c.call()
		require.Error(e.t, err, "%s on a transaction after InTx returned", c.name)
		require.NotErrorIs(e.t, err, errRollback)
	}
	w.requireBefore(e.ctx, e.store)
}
