package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage"
)

// txn is the incident.Tx handed to InTx's fn: a pgx transaction (or a
// savepoint, under Join). A pgx.Tx is not safe for concurrent use, so the
// methods take mu; they may be called from several goroutines while fn
// runs.
type txn struct {
	s    *Store
	mu   sync.Mutex
	done bool
	db   txBackend
	// pending holds deferred writes (PutTimers, AppendEvents), sent before
	// the next statement or with the commit.
	pending *pgx.Batch
	// stored holds the IDs of the incidents this transaction has created,
	// updated or saved timers of: they are stored until it ends (nothing
	// deletes incidents), so PutTimers may defer timers of theirs.
	stored map[string]bool
	// heads caches the audit heads this transaction has locked: the row
	// lock lasts until the transaction ends and only this transaction's
	// AppendEvents changes them, so the cached values stay true.
	heads map[headKey]storageHead
}

// storedIncident remembers that the incident with id is stored; the
// caller holds mu.
func (t *txn) storedIncident(id string) {
	if t.stored == nil {
		t.stored = make(map[string]bool)
	}
	t.stored[id] = true
}

// headKey identifies an audit trail.
type headKey struct{ kind, id string }

// lockedHead remembers a head the transaction holds locked.
func (t *txn) lockedHead(k headKey, h storageHead) {
	if t.heads == nil {
		t.heads = make(map[headKey]storageHead)
	}
	t.heads[k] = h
}

var _ incident.Tx = (*txn)(nil)

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

// use sends the deferred writes and then runs fn with the transaction,
// while holding its lock.
func (t *txn) use(ctx context.Context, fn func(db querier) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return ErrTxDone
	}
	if t.pending != nil && t.pending.Len() > 0 {
		p := t.pending
		t.pending = nil
		if err := t.db.SendBatch(ctx, p).Close(); err != nil {
			return mapError(err, "", "")
		}
	}
	return fn(t.db)
}

// deferWrites runs fn with the batch of deferred writes, while holding the
// transaction's lock; fn queues statements on it.
func (t *txn) deferWrites(fn func(pending *pgx.Batch)) error {
	_, err := t.deferWritesIf(func() bool { return true }, fn)
	return err
}

// deferWritesIf is deferWrites when ok, called while holding the lock,
// returns true, and does nothing otherwise. It reports whether fn ran.
func (t *txn) deferWritesIf(ok func() bool, fn func(pending *pgx.Batch)) (bool, error) {
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

func (t *txn) Get(ctx context.Context, id string) (inc *incident.Incident, err error) {
	err = t.use(ctx, func(db querier) error { inc, err = t.s.get(ctx, db, id); return err })
	return inc, err
}

func (t *txn) GetByNumber(ctx context.Context, number string) (inc *incident.Incident, err error) {
	err = t.use(ctx, func(db querier) error { inc, err = t.s.getByNumber(ctx, db, number); return err })
	return inc, err
}

func (t *txn) List(ctx context.Context, q incident.Query) (p incident.Page, err error) {
	err = t.use(ctx, func(db querier) error { p, err = t.s.list(ctx, db, q); return err })
	return p, err
}

func (t *txn) Children(ctx context.Context, id string) (out []*incident.Incident, err error) {
	err = t.use(ctx, func(db querier) error { out, err = t.s.children(ctx, db, id); return err })
	return out, err
}

func (t *txn) Timers(ctx context.Context, id string) (out []incident.TimerRecord, err error) {
	err = t.use(ctx, func(db querier) error { out, err = t.s.timers(ctx, db, id); return err })
	return out, err
}

func (t *txn) TimersDue(ctx context.Context, before time.Time, limit int) (out []incident.TimerRecord, err error) {
	err = t.use(ctx, func(db querier) error { out, err = t.s.timersDue(ctx, db, before, limit); return err })
	return out, err
}

func (t *txn) History(ctx context.Context, id string) (out []itsm.Event, err error) {
	err = t.use(ctx, func(db querier) error { out, err = t.s.history(ctx, db, id); return err })
	return out, err
}

func (t *txn) ResolvedBefore(ctx context.Context, before time.Time, limit int) (out []*incident.Incident, err error) {
	err = t.use(ctx, func(db querier) error { out, err = t.s.resolvedBefore(ctx, db, before, limit); return err })
	return out, err
}

// NextNumber returns the next value of the sequence named kind, from 1.
// The sequence row stays locked until the transaction ends, so concurrent
// transactions take turns and never get the same value; a rollback gives
// the value back. An empty kind is an *itsm.ValidationError.
func (t *txn) NextNumber(ctx context.Context, kind string) (int64, error) {
	if kind == "" {
		return 0, itsm.NewValidationError("number sequence", "kind", "must not be empty")
	}
	var n int64
	err := t.use(ctx, func(db querier) error {
		if err := db.QueryRow(ctx, t.s.q.nextNumber, kind).Scan(&n); err != nil {
			return mapError(err, "number sequence", kind)
		}
		return nil
	})
	return n, err
}

// incidentArgs returns the 29 scalar arguments of createSQL and updateSQL.
func incidentArgs(inc *incident.Incident) []any {
	return []any{inc.ID, inc.Number, inc.Title, inc.Description, inc.Caller.ID, inc.Caller.Name, fromRoles(inc.Caller.Roles),
		inc.Service, inc.ConfigItem, inc.Category, int16(inc.Impact), int16(inc.Urgency), int16(inc.Priority), inc.PriorityOverridden,
		string(inc.State), string(inc.HoldReason), inc.AssignmentGroup, inc.Assignee, string(inc.ResolutionCode), inc.ResolutionNotes,
		inc.CancelReason, inc.OpenedAt, nullTime(inc.FirstResponseAt), nullTime(inc.ResolvedAt), nullTime(inc.ClosedAt), inc.UpdatedAt,
		int32(inc.ReopenCount), inc.Major, inc.ParentID}
}

// journalArgs returns the journal as four parallel arrays, then the
// problem and change links.
func journalArgs(inc *incident.Incident) []any {
	n := len(inc.Journal)
	kinds, authors, texts, ats := make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
	for k, e := range inc.Journal {
		kinds[k], authors[k], ats[k], texts[k] = string(e.Kind), e.Author, e.At, e.Text
	}
	problems, changes := inc.ProblemIDs, inc.ChangeIDs
	if problems == nil {
		problems = []string{}
	}
	if changes == nil {
		changes = []string{}
	}
	return []any{kinds, authors, ats, texts, problems, changes}
}

// Create stores inc with Version 1, its journal and its links in one
// statement, and sets inc.Version to 1. A nil incident or an empty ID or
// Number is an *itsm.ValidationError; an ID or Number already stored
// (committed, or created earlier in the transaction) is an error matching
// itsm.ErrConflict that leaves the transaction usable.
func (t *txn) Create(ctx context.Context, inc *incident.Incident) error {
	if err := incident.ValidateKeys(inc); err != nil {
		return err
	}
	args := incidentArgs(inc)
	parts := 0
	if len(inc.Journal) > 0 {
		parts |= 1
		args = append(args, journalArgs(inc)[:4]...)
	}
	if len(inc.ProblemIDs) > 0 {
		parts |= 2
		args = append(args, inc.ProblemIDs)
	}
	if len(inc.ChangeIDs) > 0 {
		parts |= 4
		args = append(args, inc.ChangeIDs)
	}
	return t.use(ctx, func(db querier) error {
		var (
			n    int
			seq  *int64
			hash []byte
		)
		if err := db.QueryRow(ctx, t.s.q.create[parts], args...).Scan(&n, &seq, &hash); err != nil {
			return mapError(err, incident.Kind, inc.ID)
		}
		if n == 0 || seq == nil {
			return fmt.Errorf("postgres: incident %s or number %s already exists: %w", inc.ID, inc.Number, itsm.ErrConflict)
		}
		t.lockedHead(headKey{incident.Kind, inc.ID}, storageHead{seq: *seq, hash: hash})
		t.storedIncident(inc.ID)
		inc.Version = 1
		return nil
	})
}

// Update replaces the stored incident (with its journal and links) by inc
// when the stored version equals inc.Version, and sets inc.Version to the
// next version. The row is locked by the UPDATE, so of two transactions
// updating from the same version the second waits for the first and then
// finds the version changed. Otherwise nothing changes and the error is
// an *itsm.ConflictError (with Expected and Actual) or an
// *itsm.NotFoundError. A changed Number that another incident holds is an
// error matching itsm.ErrConflict; the database then aborts the
// transaction, so fn must return it. A nil incident or an empty ID or
// Number is an *itsm.ValidationError.
func (t *txn) Update(ctx context.Context, inc *incident.Incident) error {
	if err := incident.ValidateKeys(inc); err != nil {
		return err
	}
	args := append(incidentArgs(inc), inc.Version)
	args = append(args, journalArgs(inc)...)
	return t.use(ctx, func(db querier) error {
		var h storageHead
		var v int64
		err := db.QueryRow(ctx, t.s.q.update, args...).Scan(&v, &h.seq, &h.hash)
		if err == nil {
			t.lockedHead(headKey{incident.Kind, inc.ID}, h)
			t.storedIncident(inc.ID)
			inc.Version = v
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return mapError(err, incident.Kind, inc.ID)
		}
		var actual int64
		if err := db.QueryRow(ctx, t.s.q.versionOf, inc.ID).Scan(&actual); err != nil {
			return mapError(err, incident.Kind, inc.ID)
		}
		return &itsm.ConflictError{Kind: incident.Kind, ID: inc.ID, Expected: inc.Version, Actual: actual}
	})
}

// PutTimers inserts or replaces timers keyed by IncidentID and ID, storing
// each Timer as JSON (jsonb) beside its derived fields; a replaced timer
// keeps its place in the order of Timers. Every record needs an ID, an
// IncidentID and a Timer, or nothing is stored and the error is an
// *itsm.ValidationError. Every timer's incident must be stored (committed,
// or created earlier in the transaction): otherwise nothing of the call is
// stored, the transaction stays usable and the error is an
// *itsm.NotFoundError for the first such incident.
//
// All timers are saved by one statement. When the transaction has
// created or updated every incident of the call (or saved timers of it
// before), as the Service does, the incidents are known to be stored and
// the statement is deferred like AppendEvents' writes, costing no round
// trip. Otherwise it is sent at once, between a savepoint and its release,
// in one round trip: the foreign key on the incident refuses a timer of an
// incident that is not stored, and any refusal by the database (that one,
// or an *itsm.ValidationError for a value it rejects) rolls back to the
// savepoint, so that the call keeps nothing and the transaction stays
// usable.
func (t *txn) PutTimers(ctx context.Context, timers ...incident.TimerRecord) error {
	if err := incident.ValidateTimerRecords(timers); err != nil {
		return err
	}
	if len(timers) == 0 {
		return nil
	}
	rows, err := newTimerRows(timers)
	if err != nil {
		return err
	}
	deferred, err := t.deferWritesIf(func() bool {
		for _, id := range rows.incidents {
			if !t.stored[id] {
				return false
			}
		}
		return true
	}, func(p *pgx.Batch) { p.Queue(t.s.q.putTimers, rows.args()...) })
	if err != nil || deferred {
		return err
	}
	return t.use(ctx, func(db querier) error {
		if err := t.putTimersNow(ctx, db, rows); err != nil {
			return err
		}
		for _, id := range rows.incidents {
			t.storedIncident(id)
		}
		return nil
	})
}

// timerRows holds the records of a PutTimers call as the parallel arrays
// of the putTimers statement, with the distinct incident IDs in the order
// of the call.
type timerRows struct {
	ids, incs, encs, stages    []string
	atRisks, breaches, wakeAts []pgtype.Timestamptz
	incidents                  []string
}

// timerKey identifies a timer: by its incident and its ID.
type timerKey struct{ incident, id string }

// newTimerRows encodes valid timer records. A record saved twice in one
// call is saved once, with its last value at its first place, as saving
// them one after the other would.
func newTimerRows(timers []incident.TimerRecord) (*timerRows, error) {
	rows := &timerRows{}
	at := make(map[timerKey]int, len(timers))
	incidents := make(map[string]bool)
	for _, r := range timers {
		enc, err := json.Marshal(r.Timer)
		if err != nil {
			return nil, fmt.Errorf("postgres: encode timer %s of incident %s: %w", r.ID, r.IncidentID, err)
		}
		stage, err := r.Stage.MarshalText()
		if err != nil {
			return nil, fmt.Errorf("postgres: timer %s of incident %s: %w", r.ID, r.IncidentID, err)
		}
		k := timerKey{r.IncidentID, r.ID}
		i, seen := at[k]
		if !seen {
			i = len(rows.ids)
			at[k] = i
			if !incidents[r.IncidentID] {
				incidents[r.IncidentID] = true
				rows.incidents = append(rows.incidents, r.IncidentID)
			}
			rows.ids, rows.incs, rows.encs, rows.stages = append(rows.ids, ""), append(rows.incs, ""), append(rows.encs, ""), append(rows.stages, "")
			rows.atRisks, rows.breaches, rows.wakeAts = append(rows.atRisks, pgtype.Timestamptz{}), append(rows.breaches, pgtype.Timestamptz{}), append(rows.wakeAts, pgtype.Timestamptz{})
		}
		rows.ids[i], rows.incs[i], rows.encs[i], rows.stages[i] = r.ID, r.IncidentID, string(enc), string(stage)
		rows.atRisks[i], rows.breaches[i], rows.wakeAts[i] = nullTime(r.AtRiskAt), nullTime(r.BreachAt), wakeTime(r.NextWakeAt)
	}
	return rows, nil
}

// args returns the arguments of the putTimers statement.
func (r *timerRows) args() []any {
	return []any{r.ids, r.incs, r.encs, r.stages, r.atRisks, r.breaches, r.wakeAts}
}

// The savepoint a PutTimers statement sent at once runs under.
const (
	savepointTimers = "SAVEPOINT itsmkit_put_timers"
	releaseTimers   = "RELEASE SAVEPOINT itsmkit_put_timers"
	// undoTimers has no parameters, so pgx sends it as one simple query,
	// whose statements the server runs in turn: the aborted transaction
	// accepts the rollback, and then the release. (In a batch, pgx would
	// prepare the release first, which the aborted transaction refuses.)
	undoTimers = "ROLLBACK TO SAVEPOINT itsmkit_put_timers; RELEASE SAVEPOINT itsmkit_put_timers"
)

// putTimersNow runs the putTimers statement for rows at once, between a
// savepoint and its release, in one round trip. When the database refuses
// the statement, it rolls back to the savepoint (a second round trip), so
// that nothing of the call is kept and the transaction stays usable. A
// timer of an incident that is not stored yields an *itsm.NotFoundError for
// the first such incident of the call, which a third round trip looks up.
func (t *txn) putTimersNow(ctx context.Context, db querier, rows *timerRows) error {
	b := &pgx.Batch{}
	b.Queue(savepointTimers)
	b.Queue(t.s.q.putTimers, rows.args()...)
	b.Queue(releaseTimers)
	err := db.SendBatch(ctx, b).Close()
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		// The connection or the context failed: the transaction cannot
		// commit, so nothing of the call is kept either.
		return fmt.Errorf("postgres: save timers: %w", mapError(err, "", ""))
	}
	if _, uerr := db.Exec(ctx, undoTimers); uerr != nil {
		// The transaction stays aborted and cannot commit, so nothing of
		// the call is kept.
		return fmt.Errorf("postgres: save timers: %w (and rolling back to the savepoint: %v)", mapError(err, "", ""), uerr)
	}
	if pe.Code != codeForeignKeyViolation || pe.TableName != "sla_timers" {
		return fmt.Errorf("postgres: save timers: %w", mapError(err, "", ""))
	}
	var missing string
	switch lerr := db.QueryRow(ctx, t.s.q.missingIncident, rows.incidents).Scan(&missing); {
	case lerr == nil:
		return &itsm.NotFoundError{Kind: incident.Kind, ID: missing}
	case errors.Is(lerr, pgx.ErrNoRows):
		// Every incident is stored by now: another transaction committed
		// the missing one after the statement ran. Trying again succeeds.
		return storage.Retryable(fmt.Errorf("postgres: save timers: an incident was stored meanwhile: %w", mapError(err, "", "")))
	default:
		return fmt.Errorf("postgres: save timers: %w (and looking up the missing incident: %v)", mapError(err, "", ""), mapError(lerr, "", ""))
	}
}

// AppendEvents appends events, numbering each one more than the last event
// of the same record (Kind and RecordID) and chaining its hash to the
// previous one (storage.EventHash, with the time as storage.AuditTime
// keeps it). The heads of the records are locked first, so concurrent
// appenders to one record take turns. If any event fails Event.Validate
// nothing is appended and the error is an *itsm.ValidationError naming
// each problem as "[i].field".
func (t *txn) AppendEvents(ctx context.Context, events ...itsm.Event) error {
	if err := itsm.ValidateEvents(events); err != nil {
		return err
	}
	if len(events) == 0 {
		return nil
	}
	var keys []headKey
	for _, e := range events {
		if k := (headKey{e.Kind, e.RecordID}); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	changes := make([][]byte, len(events))
	for i, e := range events {
		c := e.Changes
		if c == nil {
			c = []itsm.Change{}
		}
		enc, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("postgres: encode changes of event %d: %w", i, err)
		}
		changes[i] = enc
	}
	// Lock the heads not locked yet by this transaction (Create and
	// Update lock their incident's); then the writes can wait.
	if t.missingHeads(keys) {
		err := t.use(ctx, func(db querier) error { return t.lockHeads(ctx, db, keys) })
		if err != nil {
			return err
		}
	}
	return t.deferWrites(func(p *pgx.Batch) {
		heads := make(map[headKey]storageHead, len(keys))
		for _, k := range keys {
			heads[k] = t.heads[k]
		}
		for i, e := range events {
			k := headKey{e.Kind, e.RecordID}
			h := heads[k]
			e.Sequence = h.seq + 1
			e.At = storage.AuditTime(e.At)
			hash := storage.EventHash(h.hash, e)
			p.Queue(t.s.q.insertEvent, e.Kind, e.RecordID, e.Sequence, e.Actor.ID, e.Actor.Name, fromRoles(e.Actor.Roles),
				e.At, e.Action, e.From, e.To, string(changes[i]), e.Reason, h.hash, hash)
			heads[k] = storageHead{seq: e.Sequence, hash: hash}
		}
		for _, k := range keys {
			h := heads[k]
			p.Queue(t.s.q.updateHead, k.kind, k.id, h.seq, h.hash)
			t.lockedHead(k, h)
		}
	})
}

// missingHeads reports whether the transaction has yet to lock one of the
// heads of keys.
func (t *txn) missingHeads(keys []headKey) bool {
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
func (t *txn) lockHeads(ctx context.Context, db querier, keys []headKey) error {
	var kinds, ids []string
	for _, k := range keys {
		if _, ok := t.heads[k]; !ok {
			kinds, ids = append(kinds, k.kind), append(ids, k.id)
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
		var k headKey
		var h storageHead
		if err := rows.Scan(&k.kind, &k.id, &h.seq, &h.hash); err != nil {
			return mapError(err, "", "")
		}
		t.lockedHead(k, h)
	}
	if err := rows.Err(); err != nil {
		return mapError(err, "", "")
	}
	for _, k := range keys {
		if _, ok := t.heads[k]; !ok {
			return fmt.Errorf("postgres: audit head of %s %s was not locked", k.kind, k.id)
		}
	}
	return nil
}

// storageHead is a record's last sequence and hash while events are
// appended.
type storageHead struct {
	seq  int64
	hash []byte
}
