package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
)

// txn is the record.Tx handed to InTx's fn: a transaction of its own (a
// lazyTx) or a savepoint of the application's transaction (under Join). A
// pgx connection is not safe for concurrent use, so the methods take mu;
// they may be called from several goroutines while fn runs.
type txn struct {
	s    *Store
	mu   sync.Mutex
	done bool
	db   txBackend
	// pending holds deferred writes (PutTimers, AppendJournal,
	// AppendEvents), sent before the next statement or with the commit.
	pending *pgx.Batch
	// held holds the records whose row this transaction has locked (by
	// creating, updating or locking it, or by refreshing its SLA summary):
	// they are stored and stay locked until it ends (nothing deletes
	// records), so writes for them may be deferred.
	held map[record.Ref]bool
	// heads caches the audit heads this transaction has locked: the row
	// lock lasts until the transaction ends and only this transaction's
	// AppendEvents changes them, so the cached values stay true.
	heads map[record.Ref]storageHead
	// newHeads holds the heads in heads that have no row yet: those of
	// records this transaction creates, whose first AppendEvents inserts
	// the row instead of updating it.
	newHeads map[record.Ref]bool
	// unsent holds the records Create has queued in pending and not sent
	// yet, so that PutTimers can write their SLA summary with them.
	unsent map[record.Ref]*unsentRecord
	// journalLen holds the length of the journal of records in held
	// whose length the transaction knows (it created them, or read the
	// length under the row lock, as Update and AppendJournal do), with the
	// entries it has appended since: while it holds the row no other
	// transaction appends.
	journalLen map[record.Ref]int
	// log holds the events appended, for the transparency log append
	// sent with the commit (queueLog).
	log logEntries
}

// unsentRecord is a record whose INSERT waits in pending, with the SLA
// summaries of the timers the transaction has saved for it, by timer ID.
type unsentRecord struct {
	insert *pgx.QueuedQuery
	// withCI tells that insert stores configuration items too; withTimers
	// that it stores the timers of a PutTimers call as well.
	withCI, withTimers bool
	timers             map[string]timerSummary
}

// timerSummary is what sqlrec.RefreshSummary reads of one stored timer.
type timerSummary struct {
	wake, breach, atRisk pgtype.Timestamptz
	active               bool
}

// setSummary sets the summary columns of the queued INSERT to what
// sqlrec.RefreshSummary computes from the timers: the earliest wake-up,
// the earliest breach and the earliest at-risk instant of an active timer.
func (u *unsentRecord) setSummary() {
	var wake, breach, atRisk pgtype.Timestamptz
	earliest := func(cur *pgtype.Timestamptz, t pgtype.Timestamptz) {
		if t.Valid && (!cur.Valid || t.Time.Before(cur.Time)) {
			*cur = t
		}
	}
	for _, ts := range u.timers {
		earliest(&wake, ts.wake)
		earliest(&breach, ts.breach)
		if ts.active {
			earliest(&atRisk, ts.atRisk)
		}
	}
	u.insert.Arguments[24], u.insert.Arguments[25], u.insert.Arguments[26] = wake, breach, atRisk
}

// storageHead is a record's last sequence and hash while events are
// appended.
type storageHead struct {
	seq  int64
	hash []byte
}

var _ record.Tx = (*txn)(nil)

// hold remembers that the transaction holds the row of ref; the caller
// holds mu.
func (t *txn) hold(ref record.Ref) {
	if t.held == nil {
		t.held = make(map[record.Ref]bool)
	}
	t.held[ref] = true
}

// lockedHead remembers a head the transaction holds locked, whose row
// exists or is queued in pending; the caller holds mu.
func (t *txn) lockedHead(ref record.Ref, h storageHead) {
	if t.heads == nil {
		t.heads = make(map[record.Ref]storageHead)
	}
	t.heads[ref] = h
	delete(t.newHeads, ref)
}

// newHead remembers the empty head of a record the transaction creates,
// which has no row yet; the caller holds mu.
func (t *txn) newHead(ref record.Ref) {
	t.lockedHead(ref, storageHead{})
	if t.newHeads == nil {
		t.newHeads = make(map[record.Ref]bool)
	}
	t.newHeads[ref] = true
}

// end closes the transaction to further use and returns the deferred
// writes not sent yet. It may be called more than once.
func (t *txn) end() *pgx.Batch {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done = true
	p := t.pending
	t.pending = nil
	if p == nil {
		p = &pgx.Batch{}
	}
	return p
}

// use runs fn with the transaction while holding its lock. The deferred
// writes go to the server with fn's first statement, in the same round
// trip; when fn sends none, they stay deferred.
func (t *txn) use(ctx context.Context, fn func(db querier) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return ErrTxDone
	}
	var pre *pgx.Batch
	if t.pending != nil && t.pending.Len() > 0 {
		pre, t.pending = t.pending, nil
	}
	p := &prefixed{db: t.db, pre: pre}
	err := fn(p)
	switch rest := p.take(); {
	case rest != nil:
		// fn sent nothing: the writes stay deferred, before any fn queued.
		if t.pending != nil {
			rest = withPrefix(rest, t.pending)
		}
		t.pending = rest
	case pre != nil:
		t.unsent = nil // the records Create deferred are written now
	}
	return err
}

// deferIf queues the statements fn adds to the deferred writes when ok,
// called while holding the transaction's lock, returns true, and does
// nothing otherwise. It reports whether fn ran.
func (t *txn) deferIf(ok func() bool, fn func(pending *pgx.Batch)) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return false, ErrTxDone
	}
	if !ok() {
		return false, nil
	}
	if t.pending == nil {
		t.pending = &pgx.Batch{}
	}
	fn(t.pending)
	return true, nil
}

func (t *txn) Get(ctx context.Context, ref record.Ref) (rec *record.Record, err error) {
	err = t.use(ctx, func(db querier) error { rec, err = t.s.get(ctx, db, ref); return err })
	return rec, err
}

func (t *txn) GetByNumber(ctx context.Context, kind, number string) (rec *record.Record, err error) {
	err = t.use(ctx, func(db querier) error { rec, err = t.s.getByNumber(ctx, db, kind, number); return err })
	return rec, err
}

func (t *txn) List(ctx context.Context, q record.Query) (p record.Page, err error) {
	err = t.use(ctx, func(db querier) error { p, err = t.s.list(ctx, db, q, nil); return err })
	return p, err
}

func (t *txn) Journal(ctx context.Context, ref record.Ref) (out []record.Entry, err error) {
	err = t.use(ctx, func(db querier) error { out, err = t.s.journal(ctx, db, ref); return err })
	return out, err
}

func (t *txn) Links(ctx context.Context, ref record.Ref) (out []record.Link, err error) {
	err = t.use(ctx, func(db querier) error { out, err = t.s.links(ctx, db, ref); return err })
	return out, err
}

func (t *txn) Timers(ctx context.Context, ref record.Ref) (out []record.TimerRecord, err error) {
	err = t.use(ctx, func(db querier) error { out, err = t.s.timers(ctx, db, ref); return err })
	return out, err
}

func (t *txn) TimersDue(ctx context.Context, before time.Time, limit int) (out []record.TimerRecord, err error) {
	err = t.use(ctx, func(db querier) error { out, err = t.s.timersDue(ctx, db, before, limit); return err })
	return out, err
}

func (t *txn) History(ctx context.Context, ref record.Ref) (out []itsm.Event, err error) {
	err = t.use(ctx, func(db querier) error { out, err = t.s.history(ctx, db, ref); return err })
	return out, err
}

// ReadOutbox reads as Store.ReadOutbox does. Inside a transaction that has
// appended events it sees none of them, nor messages of transactions that
// began writing after it, until it has committed.
func (t *txn) ReadOutbox(ctx context.Context, after string, limit int) (p record.OutboxPage, err error) {
	err = t.use(ctx, func(db querier) error { p, err = t.s.readOutbox(ctx, db, after, limit); return err })
	return p, err
}

// NextNumber returns the next value, from 1, of the number sequence of
// kind: nextval of the PostgreSQL sequence records_number_<kind>, which
// holds no lock, so concurrent transactions do not wait for each other.
// Values are unique and grow; a rolled-back transaction leaves a gap. The
// kind must be declared (an *itsm.ValidationError otherwise). Declare
// creates the sequence; should it be missing all the same (the schema was
// migrated or restored since), NextNumber creates it in the transaction,
// under a savepoint.
func (t *txn) NextNumber(ctx context.Context, kind string) (int64, error) {
	if _, err := t.s.reg.Schema(kind); err != nil {
		return 0, err
	}
	seq := t.s.q.schema + "." + quoteIdent(sequenceName(kind))
	var n *int64
	err := t.use(ctx, func(db querier) error {
		next := func() error {
			if err := db.QueryRow(ctx, t.s.q.nextNumber, seq).Scan(&n); err != nil {
				return mapError(err, "number sequence", kind)
			}
			return nil
		}
		if err := next(); err != nil || n != nil {
			return err
		}
		err := t.guarded(ctx, db, func(b *pgx.Batch) { b.Queue(t.s.sequenceDDL(kind)) }, func(br pgx.BatchResults) error {
			_, err := br.Exec()
			return err
		})
		var pe *pgconn.PgError
		if err != nil && !(errors.As(err, &pe) && pe.Code == codeUniqueViolation) {
			// (A unique violation says another transaction created the
			// sequence meanwhile.)
			return fmt.Errorf("postgres: create the number sequence of %s: %w", kind, mapError(err, "", ""))
		}
		if err := next(); err != nil || n != nil {
			return err
		}
		return storage.Retryable(fmt.Errorf("postgres: the number sequence of %s is being created by another transaction", kind))
	})
	if err != nil {
		return 0, err
	}
	return *n, nil
}

// row is a record as Create and Update write it: its 24 column values and
// its configuration items, without duplicates.
type row struct {
	args []any
	cis  []string
}

// newRow checks rec against its declared schema and encodes it with
// version for the records table. Instants are kept in UTC to the
// microsecond.
func (t *txn) newRow(rec *record.Record, version int64) (*row, error) {
	if err := t.s.reg.CheckRecord(rec); err != nil {
		return nil, err
	}
	c := rec.Clone()
	c.SLA = nil
	c.Version = version
	c.OpenedAt, c.UpdatedAt = micro(c.OpenedAt), micro(c.UpdatedAt)
	c.ResolvedAt, c.ClosedAt = micro(c.ResolvedAt), micro(c.ClosedAt)
	doc, err := c.Document()
	if err != nil {
		return nil, fmt.Errorf("postgres: encode %s: %w", rec.Ref(), err)
	}
	if msg := docProblem(doc); msg != "" {
		return nil, itsm.NewValidationError(rec.Kind, "document", "%s", msg)
	}
	cis := make([]string, 0, len(c.ConfigItems))
	for _, ci := range c.ConfigItems {
		if !slices.Contains(cis, ci) {
			cis = append(cis, ci)
		}
	}
	return &row{cis: cis, args: []any{c.Kind, c.ID, c.Number, c.Title, c.Description, c.State, c.StateCategory.String(),
		int32(c.Impact), int32(c.Urgency), int32(c.Priority), c.Requester.ID, c.AssignmentGroup, c.Assignee,
		c.Service, c.Category, c.Parent.Kind, c.Parent.ID, c.Major, c.OpenedAt, c.UpdatedAt,
		nullTime(c.ResolvedAt), nullTime(c.ClosedAt), version, doc}}, nil
}

// micro returns t in UTC truncated to the microsecond, as the store keeps
// it; the zero time stays zero.
func micro(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// docProblem says what PostgreSQL cannot keep of a JSON document (a
// record's, a timer's) that the checks of package record let pass, or
// returns "": text that is not valid UTF-8, and the NUL character
// (\u0000). Refusing it before writing keeps the transaction usable.
func docProblem(doc []byte) string {
	if !utf8.Valid(doc) {
		return "is not valid UTF-8"
	}
	for i := 0; i+6 <= len(doc); i++ {
		if doc[i] != '\\' {
			continue
		}
		if string(doc[i:i+6]) == `\u0000` {
			return "holds the NUL character (\\u0000), which PostgreSQL cannot store"
		}
		i++ // skip the escaped character
	}
	return ""
}

// Create stores rec with Version 1 and sets rec.Version to 1. A record
// that fails the declared schema's checks is an *itsm.ValidationError; an
// ID or Number of the kind already stored (committed, or created earlier
// in the transaction) is an error matching itsm.ErrConflict. Either
// leaves the transaction usable. rec.SLA is ignored.
//
// Create looks for the ID and number (and for an audit head of the ID) in
// one statement, and defers the INSERT of the record and its configuration
// items to the next statement or COMMIT, so that the SLA summary of timers
// the transaction saves meanwhile is written with the record rather than
// by a second write of its row. Should another transaction store the same
// ID or number between the two, the deferred INSERT fails, the
// transaction does not commit, and the error matches itsm.ErrConflict.
//
// A new record has no audit head: the first AppendEvents for it inserts
// the head's row with its events, so that neither needs a round trip.
// (Should another transaction append events under the record's ID
// meanwhile, which only events for records not stored do, the INSERT of
// the head fails and so does the transaction.)
func (t *txn) Create(ctx context.Context, rec *record.Record) error {
	r, err := t.newRow(rec, 1)
	if err != nil {
		return err
	}
	text, args := t.s.q.create, append(r.args, pgtype.Timestamptz{}, pgtype.Timestamptz{}, pgtype.Timestamptz{})
	if len(r.cis) > 0 {
		text, args = t.s.q.createCI, append(args, r.cis)
	}
	ref := rec.Ref()
	return t.use(ctx, func(db querier) error {
		var taken, headed bool
		if err := db.QueryRow(ctx, t.s.q.createCheck, ref.Kind, ref.ID, rec.Number).Scan(&taken, &headed); err != nil {
			return mapError(err, ref.Kind, ref.ID)
		}
		if taken {
			return fmt.Errorf("postgres: %s or number %s already exists: %w", ref, rec.Number, itsm.ErrConflict)
		}
		if _, ok := t.heads[ref]; headed && !ok {
			// Events were appended for the ID before the record existed.
			if err := t.lockHeads(ctx, db, []record.Ref{ref}); err != nil {
				return err
			}
		} else if !ok {
			t.newHead(ref)
		}
		t.hold(ref)
		if t.journalLen == nil {
			t.journalLen = make(map[record.Ref]int)
		}
		t.journalLen[ref] = 0 // a new record has no journal
		if t.pending == nil {
			t.pending = &pgx.Batch{}
		}
		if t.unsent == nil {
			t.unsent = make(map[record.Ref]*unsentRecord)
		}
		t.unsent[ref] = &unsentRecord{insert: t.pending.Queue(text, args...), withCI: len(r.cis) > 0, timers: map[string]timerSummary{}}
		rec.Version = 1
		return nil
	})
}

// Update replaces the stored record by rec when the stored version equals
// rec.Version, in one statement with its configuration items and the lock
// of its audit head, and sets rec.Version to the next version. The row is
// locked by the UPDATE, so of two transactions updating from the same
// version the second waits for the first and then finds the version
// changed. Otherwise nothing changes and the error is an
// *itsm.ConflictError (with Expected and Actual), an *itsm.NotFoundError,
// or, for a Number another record of the kind holds, an error matching
// itsm.ErrConflict; these leave the transaction usable. (Should another
// transaction take the number between the check and the write, the
// database aborts the transaction, and fn must return the error, which
// matches itsm.ErrConflict.) A record that fails the declared schema's
// checks is an *itsm.ValidationError. rec.SLA is ignored: the record keeps
// the summary of its timers.
func (t *txn) Update(ctx context.Context, rec *record.Record) error {
	r, err := t.newRow(rec, rec.Version+1)
	if err != nil {
		return err
	}
	args := append(r.args, rec.Version, r.cis)
	ref := rec.Ref()
	return t.use(ctx, func(db querier) error {
		var (
			v    int64
			h    storageHead
			seq  *int64
			hash []byte
		)
		err := t.updateRow(ctx, db, ref, args, &v, &seq, &hash)
		if err == nil {
			if seq != nil {
				h = storageHead{seq: *seq, hash: hash}
			}
			t.lockedHead(ref, h)
			t.hold(ref)
			rec.Version = v
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return mapError(err, ref.Kind, ref.ID)
		}
		var (
			actual int64
			taken  bool
		)
		if err := db.QueryRow(ctx, t.s.q.conflictOf, ref.Kind, ref.ID, rec.Number).Scan(&actual, &taken); err != nil {
			return mapError(err, ref.Kind, ref.ID)
		}
		switch {
		case actual != rec.Version:
			return &itsm.ConflictError{Kind: ref.Kind, ID: ref.ID, Expected: rec.Version, Actual: actual}
		case taken:
			return fmt.Errorf("postgres: %s number %s is taken by another record: %w", rec.Kind, rec.Number, itsm.ErrConflict)
		}
		// The version and number were right when looked at again: another
		// transaction changed the record or the number in between.
		return storage.Retryable(fmt.Errorf("postgres: update of %s raced with another transaction: %w", ref,
			&itsm.ConflictError{Kind: ref.Kind, ID: ref.ID, Expected: rec.Version, Actual: actual}))
	})
}

// updateRow runs the update statement with args, scanning its row into
// dest, and in the same round trip reads the length of ref's journal,
// which the transaction then knows while it holds the row (see
// AppendJournal): a statement of its own after the UPDATE, so that its
// snapshot sees every append committed before the UPDATE got the row's
// lock. The caller holds mu.
func (t *txn) updateRow(ctx context.Context, db querier, ref record.Ref, args []any, dest ...any) error {
	b := &pgx.Batch{}
	b.Queue(t.s.q.update, args...)
	b.Queue(t.s.q.journalLen, ref.Kind, ref.ID)
	br := db.SendBatch(ctx, b)
	err := br.QueryRow().Scan(dest...)
	var n int
	lenErr := br.QueryRow().Scan(&n)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && lenErr == nil {
		if t.journalLen == nil {
			t.journalLen = make(map[record.Ref]int)
		}
		t.journalLen[ref] = n
	}
	return err
}

// AppendJournal appends entries to the journal of the record ref names,
// after its last entry. A malformed ref or entry is an
// *itsm.ValidationError, a record that is not stored an
// *itsm.NotFoundError; then nothing is appended and the transaction stays
// usable. Entries beyond the limits of the kind
// (record.Limits.CheckEntries) are an *itsm.LimitError, and then too.
//
// The record's row is locked first (FOR NO KEY UPDATE, which the foreign
// keys of timers do not wait for), so that concurrent appenders take
// turns, and the journal's length, which the limit on entries per record
// needs, is read under the lock, in the same round trip. The transaction
// then knows the length until it ends, as it does for a record it
// created or updated (Update reads the length with the UPDATE): appends
// to such a record are sent with the next statement or with COMMIT,
// costing no round trip.
func (t *txn) AppendJournal(ctx context.Context, ref record.Ref, entries ...record.Entry) error {
	if err := record.CheckRef(ref); err != nil {
		return err
	}
	limits := t.s.reg.Limits(ref.Kind)
	if err := limits.CheckEntries(0, entries); err != nil {
		return err
	}
	if len(entries) == 0 {
		return t.use(ctx, func(db querier) error { return t.lockRecord(ctx, db, ref) })
	}
	n := len(entries)
	kinds, authors, texts, ats := make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
	for i, e := range entries {
		kinds[i], authors[i], ats[i], texts[i] = string(e.Kind), e.Author, micro(e.At), e.Text
	}
	// fits, called with mu held, reports whether the journal's length is
	// known, and refused whether the entries would make it too long.
	var refused error
	fits := func() bool {
		stored, known := t.journalLen[ref]
		if !t.held[ref] || !known {
			return false
		}
		refused = limits.CheckJournalLen(stored, n)
		return refused == nil
	}
	queue := func(p *pgx.Batch) {
		p.Queue(t.s.q.appendJournal, ref.Kind, ref.ID, kinds, authors, ats, texts)
		t.journalLen[ref] += n
	}
	deferred, err := t.deferIf(fits, queue)
	switch {
	case err != nil:
		return err
	case refused != nil:
		return refused
	case deferred:
		return nil
	}
	if err := t.use(ctx, func(db querier) error { return t.lockJournal(ctx, db, ref) }); err != nil {
		return err
	}
	if _, err := t.deferIf(fits, queue); err != nil {
		return err
	}
	return refused
}

// lockJournal locks the row of ref for the transaction, unless it holds
// it, and reads the length of its journal, unless it knows it, in one
// round trip; a record that is not stored is an *itsm.NotFoundError. The
// caller holds mu.
func (t *txn) lockJournal(ctx context.Context, db querier, ref record.Ref) error {
	if _, known := t.journalLen[ref]; known && t.held[ref] {
		return nil
	}
	b := &pgx.Batch{}
	held := t.held[ref]
	if !held {
		b.Queue(t.s.q.lockRecord, ref.Kind, ref.ID)
	}
	b.Queue(t.s.q.journalLen, ref.Kind, ref.ID)
	br := db.SendBatch(ctx, b)
	var one, stored int
	var err error
	if !held {
		err = br.QueryRow().Scan(&one)
	}
	if err == nil {
		err = br.QueryRow().Scan(&stored)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return mapError(err, ref.Kind, ref.ID)
	}
	t.hold(ref)
	if t.journalLen == nil {
		t.journalLen = make(map[record.Ref]int)
	}
	t.journalLen[ref] = stored
	return nil
}

// lockRecord locks the row of ref for the transaction, or returns an
// *itsm.NotFoundError; the caller holds mu.
func (t *txn) lockRecord(ctx context.Context, db querier, ref record.Ref) error {
	if t.held[ref] {
		return nil
	}
	var one int
	if err := db.QueryRow(ctx, t.s.q.lockRecord, ref.Kind, ref.ID).Scan(&one); err != nil {
		return mapError(err, ref.Kind, ref.ID)
	}
	t.hold(ref)
	return nil
}

// The savepoint a statement that may be refused runs under, so that a
// refusal keeps nothing of the call and leaves the transaction usable.
const (
	savepointWrite = "SAVEPOINT itsmkit_write"
	releaseWrite   = "RELEASE SAVEPOINT itsmkit_write"
	// undoWrite has no parameters, so pgx sends it as one simple query,
	// whose statements the server runs in turn: the aborted transaction
	// accepts the rollback, and then the release. (In a batch, pgx would
	// prepare the release first, which an aborted transaction refuses.)
	undoWrite = "ROLLBACK TO SAVEPOINT itsmkit_write; RELEASE SAVEPOINT itsmkit_write"
)

// guarded runs one statement under a savepoint in one round trip: send
// queues it on a batch after SAVEPOINT, and read reads its results and
// reports whether the call is kept. When read returns nil the release is
// deferred to the next statement; otherwise, and when the database refuses
// the statement, the transaction rolls back to the savepoint (a second
// round trip), so that nothing of the call is kept, and the error is
// returned: read's, or the database's as the driver reported it. A lost
// connection is returned translated (retryable), without the rollback.
// The caller holds mu.
func (t *txn) guarded(ctx context.Context, db querier, send func(*pgx.Batch), read func(pgx.BatchResults) error) error {
	b := &pgx.Batch{}
	b.Queue(savepointWrite)
	send(b)
	br := db.SendBatch(ctx, b)
	_, err := br.Exec()
	if err == nil {
		err = read(br)
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = mapError(cerr, "", "")
	}
	if err == nil {
		if t.pending == nil {
			t.pending = &pgx.Batch{}
		}
		t.pending.Queue(releaseWrite)
		return nil
	}
	var (
		pe *pgconn.PgError
		re *refusedError
	)
	switch {
	case errors.As(err, &re):
		err = re.err
	case !errors.As(err, &pe) || lostConnection(pe):
		// The connection or the context failed: the transaction cannot
		// commit, so nothing of the call is kept either.
		return mapError(err, "", "")
	}
	if _, uerr := db.Exec(ctx, undoWrite); uerr != nil {
		// The transaction stays aborted and cannot commit, so nothing of
		// the call is kept.
		return fmt.Errorf("%w (and rolling back to the savepoint: %v)", err, mapError(uerr, "", ""))
	}
	return err
}

// errRefused marks an error guarded's read reports for a statement that
// ran but must not be kept.
var errRefused = errors.New("postgres: refused")

// refused wraps err as a refusal of the statement guarded ran.
func refused(err error) error { return &refusedError{err} }

type refusedError struct{ err error }

func (e *refusedError) Error() string   { return e.err.Error() }
func (e *refusedError) Unwrap() []error { return []error{e.err, errRefused} }

// AddLinks stores links in one statement, as record.Tx documents:
// malformed links are an *itsm.ValidationError (record.CheckLinks), an end
// that is not stored (committed or created in this transaction) an
// *itsm.NotFoundError for the first such end, and a link of the same type
// and ends that is stored, or given twice in the call, an error matching
// itsm.ErrConflict. Then nothing of the call is stored and the
// transaction stays usable. Instants are kept in UTC to the microsecond.
func (t *txn) AddLinks(ctx context.Context, links ...record.Link) error {
	if err := record.CheckLinks(links); err != nil {
		return err
	}
	if len(links) == 0 {
		return nil
	}
	a := newLinkArrays(links)
	args := append(a.keys(), a.ats, a.bys)
	return t.use(ctx, func(db querier) error {
		return mapError(t.guarded(ctx, db, func(b *pgx.Batch) { b.Queue(t.s.q.addLinks, args...) }, func(br pgx.BatchResults) error {
			var (
				mKind, mID *string
				dup        *int64
				n          int
			)
			if err := br.QueryRow().Scan(&mKind, &mID, &dup, &n); err != nil {
				return mapError(err, "", "")
			}
			switch {
			case mKind != nil:
				return refused(&itsm.NotFoundError{Kind: *mKind, ID: *mID})
			case dup != nil:
				l := links[*dup-1]
				return refused(fmt.Errorf("postgres: link %s %s → %s already exists: %w", l.Type, l.From, l.To, itsm.ErrConflict))
			case n != len(links):
				// Another transaction stored one of the links meanwhile.
				return refused(fmt.Errorf("postgres: a link was added by another transaction meanwhile: %w", itsm.ErrConflict))
			}
			return nil
		}), "", "")
	})
}

// LockLinkTypes takes a transaction-level advisory lock
// (pg_advisory_xact_lock) per link type of types, keyed by the store's
// schema and the type and taken in key order (so that two transactions
// locking several types cannot deadlock), waiting while another
// transaction holds one; the locks last until the transaction ends (under
// Join, until the application's transaction does). The statements that
// follow see what the transactions that held a lock before committed. A
// malformed type name is an *itsm.ValidationError.
func (t *txn) LockLinkTypes(ctx context.Context, types ...string) error {
	if err := record.CheckLinkTypeNames(types); err != nil {
		return err
	}
	if len(types) == 0 {
		return nil
	}
	keys := make([]string, len(types))
	for i, typ := range types {
		keys[i] = t.s.q.schema + " link type " + typ
	}
	return t.use(ctx, func(db querier) error {
		_, err := db.Exec(ctx, t.s.q.lockLinkTypes, keys)
		return mapError(err, "", "")
	})
}

// linkArrays holds links as the parallel arrays of the link statements.
type linkArrays struct {
	types, fromKinds, fromIDs, toKinds, toIDs, bys []string
	ats                                            []time.Time
}

func newLinkArrays(links []record.Link) *linkArrays {
	n := len(links)
	a := &linkArrays{types: make([]string, n), fromKinds: make([]string, n), fromIDs: make([]string, n),
		toKinds: make([]string, n), toIDs: make([]string, n), bys: make([]string, n), ats: make([]time.Time, n)}
	for i, l := range links {
		a.types[i], a.fromKinds[i], a.fromIDs[i], a.toKinds[i], a.toIDs[i] = l.Type, l.From.Kind, l.From.ID, l.To.Kind, l.To.ID
		a.ats[i], a.bys[i] = micro(l.CreatedAt), l.CreatedBy
	}
	return a
}

// keys returns the arrays that identify the links: type, from and to.
func (a *linkArrays) keys() []any {
	return []any{a.types, a.fromKinds, a.fromIDs, a.toKinds, a.toIDs}
}

// RemoveLinks removes links, known by Type, From and To (their CreatedAt
// and CreatedBy are not looked at), in one statement. A malformed type or
// end is an *itsm.ValidationError; a link that is not stored, or that the
// call names twice, is an *itsm.NotFoundError (Kind "link"); then none is
// removed and the transaction stays usable.
func (t *txn) RemoveLinks(ctx context.Context, links ...record.Link) error {
	if err := record.CheckLinkKeys(links); err != nil {
		return err
	}
	if len(links) == 0 {
		return nil
	}
	notFound := func(l record.Link) error {
		return &itsm.NotFoundError{Kind: "link", ID: l.Type + " " + l.From.String() + " → " + l.To.String()}
	}
	type key struct {
		typ      string
		from, to record.Ref
	}
	seen := make(map[key]bool, len(links))
	for _, l := range links {
		k := key{l.Type, l.From, l.To}
		if seen[k] {
			return t.use(ctx, func(querier) error { return notFound(l) })
		}
		seen[k] = true
	}
	args := newLinkArrays(links).keys()
	return t.use(ctx, func(db querier) error {
		return mapError(t.guarded(ctx, db, func(b *pgx.Batch) { b.Queue(t.s.q.removeLinks, args...) }, func(br pgx.BatchResults) error {
			var (
				missing       *int64
				removed, want int
			)
			if err := br.QueryRow().Scan(&missing, &removed, &want); err != nil {
				return mapError(err, "", "")
			}
			switch {
			case missing != nil:
				return refused(notFound(links[*missing-1]))
			case removed != want:
				// Another transaction removed one of the links meanwhile.
				return refused(fmt.Errorf("postgres: a link was removed by another transaction meanwhile: %w", itsm.ErrNotFound))
			}
			return nil
		}), "", "")
	})
}

// PutTimers inserts or replaces timers keyed by Record and ID, storing
// each Timer as JSON beside its derived fields, and then brings
// the SLA summary of each record of the call up to date
// (sqlrec.RefreshSummary); a replaced timer keeps its place in the order
// of Timers. Derived instants are kept to the microsecond, NextWakeAt
// rounded up so that a timer is never due early. Records that fail
// record.CheckTimerRecords are an *itsm.ValidationError, a timer with a
// cycle longer than its kind allows an *itsm.LimitError
// (record.Registry.CheckTimerRecords), and then nothing is stored. Every
// timer's record must be stored (committed, or created earlier in the
// transaction): otherwise nothing of the call is stored,
// the transaction stays usable and the error is an *itsm.NotFoundError
// for the first such record.
//
// When the transaction holds every record of the call (it created or
// updated them, or saved timers of them before), as a practice's service
// does, the records are known to be stored and the writes are deferred
// like AppendEvents', costing no round trip. Otherwise they are sent at
// once under a savepoint, in one round trip, after a statement that
// locks the records (FOR NO KEY UPDATE, in key order, as the wake-up
// worker does before it changes timers, so that the two cannot deadlock)
// and finds those that are not stored; a refusal rolls back to the
// savepoint.
//
// Then each timer's crossings that storage.WrittenCrossings reports (those
// reached when its latest event happened, in every cycle) are recorded in
// sla_crossings unless they are there already, each with its audit event
// (storage.Crossing.Event) appended with AppendEvents, in one more round
// trip when there are any: a timer stopped after its breach and before any
// wake-up has its breach recorded. A timer whose calendar the store does
// not know records none (the wake-up worker reports it). These statements
// refuse no valid row, so only a failure that ends the transaction (a lost
// connection) stops them after the timers were saved.
func (t *txn) PutTimers(ctx context.Context, timers ...record.TimerRecord) error {
	if err := t.putTimers(ctx, timers); err != nil {
		return err
	}
	var groups [][]storage.Crossing
	for _, r := range timers {
		if cs, err := storage.WrittenCrossings(r, t.s.cals); err == nil && len(cs) > 0 {
			groups = append(groups, cs)
		}
	}
	if _, err := t.recordCrossings(ctx, groups, time.Now()); err != nil {
		return fmt.Errorf("postgres: save timers: %w", err)
	}
	return nil
}

// putTimers saves timers as PutTimers documents, without their crossings.
func (t *txn) putTimers(ctx context.Context, timers []record.TimerRecord) error {
	if err := t.s.reg.CheckTimerRecords(timers); err != nil {
		return err
	}
	if len(timers) == 0 {
		return nil
	}
	rows, err := newTimerRows(timers)
	if err != nil {
		return err
	}
	queue := func(p *pgx.Batch) {
		p.Queue(t.s.q.putTimers, rows.args()...)
		for _, ref := range rows.records {
			p.Queue(t.s.q.refreshSummary, ref.Kind, ref.ID)
		}
	}
	deferred, err := t.deferIf(func() bool {
		for _, ref := range rows.records {
			if !t.held[ref] {
				return false
			}
		}
		return true
	}, func(p *pgx.Batch) {
		// The summary of a record whose INSERT is still queued goes into
		// that INSERT, and so do the timers of a first call for that
		// record alone; the others are saved by a statement of their own
		// and their records' summaries refreshed after it.
		if u := t.unsent[rows.records[0]]; len(rows.records) == 1 && u != nil && !u.withTimers {
			u.insert.SQL, u.withTimers = t.s.q.createTimers, true
			if u.withCI {
				u.insert.SQL = t.s.q.createCITimers
			}
			u.insert.Arguments = append(u.insert.Arguments, rows.args()...)
		} else {
			p.Queue(t.s.q.putTimers, rows.args()...)
		}
		for i := range rows.ids {
			if u := t.unsent[record.Ref{Kind: rows.kinds[i], ID: rows.recordIDs[i]}]; u != nil {
				u.timers[rows.ids[i]] = timerSummary{wake: rows.wakeAts[i], breach: rows.breaches[i], atRisk: rows.atRisks[i],
					active: rows.stages[i] == "running" || rows.stages[i] == "paused"}
			}
		}
		for _, ref := range rows.records {
			if u := t.unsent[ref]; u != nil {
				u.setSummary()
			} else {
				p.Queue(t.s.q.refreshSummary, ref.Kind, ref.ID)
			}
		}
	})
	if err != nil || deferred {
		return err
	}
	kinds, ids := make([]string, len(rows.records)), make([]string, len(rows.records))
	for i, ref := range rows.records {
		kinds[i], ids[i] = ref.Kind, ref.ID
	}
	return t.use(ctx, func(db querier) error {
		send := func(b *pgx.Batch) {
			b.Queue(t.s.q.lockRecords, kinds, ids)
			queue(b)
		}
		err := t.guarded(ctx, db, send, func(br pgx.BatchResults) error {
			rs, err := br.Query()
			if err != nil {
				return err
			}
			locked, err := pgx.CollectRows(rs, pgx.RowToStructByPos[record.Ref])
			if err != nil {
				return err
			}
			for _, ref := range rows.records {
				if !slices.Contains(locked, ref) {
					return refused(&itsm.NotFoundError{Kind: ref.Kind, ID: ref.ID})
				}
			}
			for range 1 + len(rows.records) {
				if _, err := br.Exec(); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			var nf *itsm.NotFoundError
			if errors.As(err, &nf) {
				return err
			}
			return fmt.Errorf("postgres: save timers: %w", mapError(err, "", ""))
		}
		for _, ref := range rows.records {
			t.hold(ref)
		}
		return nil
	})
}

// timerRows holds the records of a PutTimers call as the parallel arrays
// of the putTimers statement, with the distinct records in the order of
// the call.
type timerRows struct {
	kinds, recordIDs, ids, policies, metrics, encs, stages []string
	policyKinds                                            []int32
	atRisks, breaches, wakeAts                             []pgtype.Timestamptz
	records                                                []record.Ref
}

// timerKey identifies a timer: by its record and its ID.
type timerKey struct {
	rec record.Ref
	id  string
}

// newTimerRows encodes valid timer records. A timer saved twice in one
// call is saved once, with its last value at its first place, as saving
// them one after the other would.
func newTimerRows(timers []record.TimerRecord) (*timerRows, error) {
	rows := &timerRows{}
	at := make(map[timerKey]int, len(timers))
	seen := make(map[record.Ref]bool)
	for n, r := range timers {
		enc, err := json.Marshal(r.Timer)
		if err != nil {
			return nil, fmt.Errorf("postgres: encode timer %s of %s: %w", r.ID, r.Record, err)
		}
		if msg := docProblem(enc); msg != "" {
			return nil, itsm.NewValidationError("timer records", "["+strconv.Itoa(n)+"].timer", "%s", msg)
		}
		stage, err := r.Stage.MarshalText()
		if err != nil {
			return nil, fmt.Errorf("postgres: timer %s of %s: %w", r.ID, r.Record, err)
		}
		k := timerKey{r.Record, r.ID}
		i, dup := at[k]
		if !dup {
			i = len(rows.ids)
			at[k] = i
			if !seen[r.Record] {
				seen[r.Record] = true
				rows.records = append(rows.records, r.Record)
			}
			rows.kinds, rows.recordIDs, rows.ids = append(rows.kinds, ""), append(rows.recordIDs, ""), append(rows.ids, "")
			rows.policies, rows.metrics, rows.encs = append(rows.policies, ""), append(rows.metrics, ""), append(rows.encs, "")
			rows.stages, rows.policyKinds = append(rows.stages, ""), append(rows.policyKinds, 0)
			rows.atRisks, rows.breaches = append(rows.atRisks, pgtype.Timestamptz{}), append(rows.breaches, pgtype.Timestamptz{})
			rows.wakeAts = append(rows.wakeAts, pgtype.Timestamptz{})
		}
		rows.kinds[i], rows.recordIDs[i], rows.ids[i] = r.Record.Kind, r.Record.ID, r.ID
		rows.policies[i], rows.metrics[i] = r.Timer.Policy(), string(r.Timer.Metric())
		rows.encs[i], rows.stages[i], rows.policyKinds[i] = string(enc), string(stage), int32(r.PolicyKind)
		rows.atRisks[i], rows.breaches[i] = nullTime(micro(r.AtRiskAt)), nullTime(micro(r.BreachAt))
		rows.wakeAts[i] = wakeTime(r.NextWakeAt)
	}
	return rows, nil
}

// args returns the arguments of the putTimers statement.
func (r *timerRows) args() []any {
	return []any{r.kinds, r.recordIDs, r.ids, r.policies, r.policyKinds, r.metrics, r.encs, r.stages,
		r.atRisks, r.breaches, r.wakeAts}
}

// AppendEvents appends events, numbering each one more than the last event
// of the same record (Kind and RecordID) and chaining its hash to the
// previous one (storage.EventHash, with the time as storage.AuditTime
// keeps it), and appends each to the outbox. The heads of the records are
// locked first, so concurrent appenders to one record take turns (and
// appenders to different records never wait for each other); once the
// transaction holds them (Create and Update lock their record's), the
// writes (one statement for the events and their messages, one per head)
// are sent with the next statement or with COMMIT.
// If any event fails itsm.ValidateEvents nothing is appended and the error
// is an *itsm.ValidationError naming each problem as "[i].field".
func (t *txn) AppendEvents(ctx context.Context, events ...itsm.Event) error {
	if err := itsm.ValidateEvents(events); err != nil {
		return err
	}
	if len(events) == 0 {
		return nil
	}
	var keys []record.Ref
	for _, e := range events {
		if k := (record.Ref{Kind: e.Kind, ID: e.RecordID}); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	n := len(events)
	a := eventArrays{kinds: make([]string, n), recordIDs: make([]string, n), seqs: make([]int64, n),
		actorIDs: make([]string, n), actorNames: make([]string, n), roles: make([]string, n), ats: make([]time.Time, n),
		actions: make([]string, n), froms: make([]string, n), tos: make([]string, n), changes: make([]string, n),
		reasons: make([]string, n), prevs: make([][]byte, n), hashes: make([][]byte, n), messages: make([]string, n)}
	for i, e := range events {
		roles, err := json.Marshal(fromRoles(e.Actor.Roles))
		if err != nil {
			return fmt.Errorf("postgres: encode roles of event %d: %w", i, err)
		}
		c := e.Changes
		if c == nil {
			c = []itsm.Change{}
		}
		changes, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("postgres: encode changes of event %d: %w", i, err)
		}
		a.kinds[i], a.recordIDs[i], a.actorIDs[i], a.actorNames[i] = e.Kind, e.RecordID, e.Actor.ID, e.Actor.Name
		a.roles[i], a.ats[i], a.actions[i], a.froms[i], a.tos[i] = string(roles), storage.AuditTime(e.At), e.Action, e.From, e.To
		a.changes[i], a.reasons[i] = string(changes), e.Reason
	}
	// Lock the heads not locked yet by this transaction (Create and
	// Update lock their record's); then the writes can wait.
	if t.missingHeads(keys) {
		if err := t.use(ctx, func(db querier) error { return t.lockHeads(ctx, db, keys) }); err != nil {
			return err
		}
	}
	var encErr error
	_, err := t.deferIf(func() bool { return true }, func(p *pgx.Batch) {
		stored := make([]itsm.Event, 0, len(events))
		heads := make(map[record.Ref]storageHead, len(keys))
		for _, k := range keys {
			heads[k] = t.heads[k]
		}
		for i, e := range events {
			k := record.Ref{Kind: e.Kind, ID: e.RecordID}
			h := heads[k]
			e.Sequence, e.At = h.seq+1, a.ats[i]
			hash := storage.EventHash(h.hash, e)
			msg, err := json.Marshal(e)
			if err != nil && encErr == nil {
				encErr = fmt.Errorf("postgres: encode event %d: %w", i, err)
			}
			a.seqs[i], a.prevs[i], a.hashes[i], a.messages[i] = e.Sequence, h.hash, hash, string(msg)
			heads[k] = storageHead{seq: e.Sequence, hash: hash}
			stored = append(stored, e)
		}
		if encErr != nil {
			return
		}
		t.logEvents(stored)
		args := []any{a.kinds, a.recordIDs, a.seqs, a.actorIDs, a.actorNames, a.roles, a.ats, a.actions,
			a.froms, a.tos, a.changes, a.reasons, a.prevs, a.hashes, a.messages}
		if len(keys) == 1 {
			h, text := heads[keys[0]], t.s.q.appendEvents1
			if t.newHeads[keys[0]] {
				text = t.s.q.appendEvents1New
			}
			p.Queue(text, append(args, keys[0].Kind, keys[0].ID, h.seq, h.hash)...)
			t.lockedHead(keys[0], h)
			return
		}
		p.Queue(t.s.q.appendEvents, args...)
		for _, k := range keys {
			h, text := heads[k], t.s.q.updateHead
			if t.newHeads[k] {
				text = t.s.q.insertHead
			}
			p.Queue(text, k.Kind, k.ID, h.seq, h.hash)
			t.lockedHead(k, h)
		}
	})
	if err != nil {
		return err
	}
	return encErr
}

// eventArrays holds the events of an AppendEvents call as the parallel
// arrays of the appendEvents statement.
type eventArrays struct {
	kinds, recordIDs, actorIDs, actorNames, roles []string
	actions, froms, tos, changes, reasons         []string
	messages                                      []string
	seqs                                          []int64
	ats                                           []time.Time
	prevs, hashes                                 [][]byte
}

func fromRoles(rs []itsm.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

// missingHeads reports whether the transaction has yet to lock one of the
// heads of keys.
func (t *txn) missingHeads(keys []record.Ref) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if _, ok := t.heads[k]; !ok {
			return true
		}
	}
	return false
}

// lockHeads locks (creating when missing) the audit heads of keys that the
// transaction does not hold yet, in key order so that concurrent
// appenders cannot deadlock, and caches their last sequence and hash.
func (t *txn) lockHeads(ctx context.Context, db querier, keys []record.Ref) error {
	var kinds, ids []string
	for _, k := range keys {
		if _, ok := t.heads[k]; !ok {
			kinds, ids = append(kinds, k.Kind), append(ids, k.ID)
		}
	}
	if len(kinds) == 0 {
		return nil
	}
	rows, err := db.Query(ctx, t.s.q.lockHeads, kinds, ids)
	if err != nil {
		return mapError(err, "", "")
	}
	defer rows.Close()
	for rows.Next() {
		var k record.Ref
		var h storageHead
		if err := rows.Scan(&k.Kind, &k.ID, &h.seq, &h.hash); err != nil {
			return mapError(err, "", "")
		}
		t.lockedHead(k, h)
	}
	if err := rows.Err(); err != nil {
		return mapError(err, "", "")
	}
	for _, k := range keys {
		if _, ok := t.heads[k]; !ok {
			return fmt.Errorf("postgres: audit head of %s was not locked", k)
		}
	}
	return nil
}
