package record

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
)

// Store is the storage port of the record core. Adapters in
// storage/memory, storage/sqlite and storage/postgres implement it once,
// for records of every kind, and storage/storagetest checks that they
// behave alike.
//
// Reads outside a transaction see committed data only. Every write happens
// inside InTx, so a record, its journal, links, timers, audit events and
// outbox messages commit together or not at all.
type Store interface {
	Reader
	// Declare makes kinds known to the store, so that it accepts their
	// records and queries and indexes their filterable attributes.
	// Declaring a kind again replaces its schema (an application adding an
	// attribute); declaring it in several processes is safe. Writes and
	// queries of an undeclared kind fail with an *itsm.ValidationError.
	Declare(ctx context.Context, schemas ...*Schema) error
	// InTx runs fn in one transaction. When fn returns nil the
	// transaction commits; when it returns an error or panics, nothing fn
	// wrote is kept and the error (or panic) is passed on. fn must use tx,
	// not the Store, for every read and write that belongs to the
	// transaction, and must not keep tx after it returns.
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// Claim hands up to limit outbox messages to consumer, oldest first,
	// for lease: messages consumer has not acknowledged and that no other
	// instance of consumer holds a live lease on. Each consumer name sees
	// every message; instances sharing a name share the work, each message
	// going to one of them at a time and again after its lease runs out
	// (or at the time Defer set). Dead letters of consumer (see Bury) are
	// not handed out.
	// Arguments are checked with CheckClaim.
	Claim(ctx context.Context, consumer string, now time.Time, lease time.Duration, limit int) ([]Message, error)
	// Ack acknowledges messages for consumer: Claim never hands them to
	// consumer again. Acknowledging a dead letter settles it: it is no
	// longer one. Acknowledging a message twice is not an error; an
	// ID that is not in the outbox is an *itsm.NotFoundError and then
	// nothing of the call is acknowledged.
	Ack(ctx context.Context, consumer string, ids ...int64) error
	// Defer releases consumer's claim on message id before its lease runs
	// out, to be claimed again at or after until (a backoff): Claim skips
	// the message for consumer while until lies after its now. The claim
	// keeps its attempts, and reason is kept as its last error. A message
	// consumer has not claimed gets a claim with no attempts. A message
	// consumer has acknowledged or buried is left as it is and that is
	// not an error: an instance whose lease ran out may report late, and
	// Ack and Bury win. Arguments are checked with CheckDefer (a reason
	// longer than MaxReasonLen is cut, see TrimReason); an id that is not
	// in the outbox is an *itsm.NotFoundError.
	Defer(ctx context.Context, consumer string, id int64, until time.Time, reason string) error
	// Bury makes message id a dead letter of consumer at now, with reason
	// as its last error: Claim never hands it to consumer again until it
	// is replayed, and DeadLetters lists it with the attempts its claim
	// had. Other consumers are not affected. A message consumer has not
	// claimed is buried with no attempts; one consumer has acknowledged
	// is left as it is, and so is a dead letter (it keeps its first
	// burial), neither being an error. Arguments are checked with
	// CheckBury (a long reason is cut, see TrimReason); an id that is not
	// in the outbox is an *itsm.NotFoundError.
	Bury(ctx context.Context, consumer string, id int64, now time.Time, reason string) error
	// DeadLetters returns up to limit dead letters of consumer whose
	// message ID is greater than after, by message ID: each with its
	// message, the attempts of its claim, when it was buried and its last
	// error. Pass the last ID of a page as after to read the next; an
	// empty, non-nil slice ends the list. Arguments are checked with
	// CheckDeadLetters.
	DeadLetters(ctx context.Context, consumer string, after int64, limit int) ([]DeadLetter, error)
	// Replay makes dead letters of consumer claimable again at once, with
	// their attempts at 0 and no last error. Naming a message twice is
	// not an error; an ID that is not a dead letter of consumer (not in
	// the outbox, never buried, or replayed already) is an
	// *itsm.NotFoundError and then nothing of the call changes. A
	// malformed consumer name is an *itsm.ValidationError (see
	// CheckConsumer).
	Replay(ctx context.Context, consumer string, ids ...int64) error
	// ForgetOutcomes deletes up to limit outcomes (see Tx.Remember) whose
	// Expires is at or before now, oldest first, and returns how many it
	// deleted. A limit of 0 or less deletes nothing; now is checked with
	// CheckForget.
	ForgetOutcomes(ctx context.Context, now time.Time, limit int) (int, error)
}

// Reader holds the read operations, available both on a Store and inside
// a transaction. A ref or kind that is not well formed is an
// *itsm.ValidationError; a well-formed ref of a record that is not stored
// yields an empty, non-nil slice from Journal, Links, Timers and History.
type Reader interface {
	// Get returns the record ref names with its SLA summary, or an
	// *itsm.NotFoundError.
	Get(ctx context.Context, ref Ref) (*Record, error)
	// GetByNumber returns the record of kind with number, or an
	// *itsm.NotFoundError.
	GetByNumber(ctx context.Context, kind, number string) (*Record, error)
	// List returns one page of the records that match q (see Query.Match),
	// each with its SLA summary, in q's order from just after q.After. A
	// query that does not pass Schema.CheckQuery for its declared kind is
	// an *itsm.ValidationError.
	List(ctx context.Context, q Query) (Page, error)
	// Journal returns the journal of the record, oldest first.
	Journal(ctx context.Context, ref Ref) ([]Entry, error)
	// Links returns the stored links of which the record is either end,
	// in the order they were added.
	Links(ctx context.Context, ref Ref) ([]Link, error)
	// Timers returns the SLA timers of the record in the order they were
	// first saved.
	Timers(ctx context.Context, ref Ref) ([]TimerRecord, error)
	// TimersDue returns up to limit timers of any record whose NextWakeAt
	// is set and not after before, earliest first (ties by timer ID, then
	// record kind and ID). A limit of 0 or less yields an empty slice.
	TimersDue(ctx context.Context, before time.Time, limit int) ([]TimerRecord, error)
	// History returns the audit events of the record in sequence order.
	History(ctx context.Context, ref Ref) ([]itsm.Event, error)
	// ReadOutbox returns up to limit outbox messages after the cursor
	// (empty: from the first), in the order they were committed, and the
	// cursor to read on from. A message committed later never lands
	// before a cursor already handed out. A malformed cursor is an
	// *itsm.ValidationError; a limit of 0 or less yields an empty page.
	ReadOutbox(ctx context.Context, after string, limit int) (OutboxPage, error)
}

// Tx is a transaction opened by Store.InTx. Every write validates its
// whole input first (CheckKeys, Schema.Check, CheckEntries, CheckLinks,
// CheckTimerRecords, itsm.ValidateEvents) and, when anything is wrong,
// writes nothing of the call and leaves the transaction usable.
type Tx interface {
	Reader
	// NextNumber returns the next value, from 1, of the number sequence
	// of kind. Values are unique and grow; they may have gaps (a
	// rolled-back transaction may use one up).
	NextNumber(ctx context.Context, kind string) (int64, error)
	// Create stores a new record with Version 1 (it sets rec.Version). An
	// existing ID or Number of the same kind yields an error matching
	// itsm.ErrConflict.
	Create(ctx context.Context, rec *Record) error
	// Update replaces the stored record with rec when the stored version
	// equals rec.Version, and then sets rec.Version to the next version.
	// Otherwise it changes nothing and returns an *itsm.ConflictError, or
	// an *itsm.NotFoundError when there is no such record. A Number taken
	// by another record of the kind is an error matching itsm.ErrConflict.
	Update(ctx context.Context, rec *Record) error
	// AppendJournal appends entries to the journal of the stored record
	// ref names (an *itsm.NotFoundError otherwise).
	AppendJournal(ctx context.Context, ref Ref, entries ...Entry) error
	// AddLinks stores links. Both ends must be stored records (an
	// *itsm.NotFoundError otherwise); a link of the same type between the
	// same ends in the same direction is an error matching
	// itsm.ErrConflict. Nothing of a refused call is stored.
	AddLinks(ctx context.Context, links ...Link) error
	// RemoveLinks removes links, known by type, From and To; a link that
	// is not stored is an *itsm.NotFoundError and then none is removed.
	RemoveLinks(ctx context.Context, links ...Link) error
	// LockLinkTypes takes, for the rest of the transaction, a lock on
	// each link type of types that one transaction at a time may hold,
	// waiting while another holds one. CheckCycle takes it before it
	// reads the links of an acyclic type, so that transactions linking
	// records at the same time see each other's links and cannot close a
	// cycle between them. A malformed type name is an
	// *itsm.ValidationError (see CheckLinkTypeNames). A store whose write
	// transactions run one at a time holds the lock already.
	LockLinkTypes(ctx context.Context, types ...string) error
	// PutTimers inserts or replaces timers, keyed by Record and ID; a
	// replaced timer keeps its place in the order of Timers. Each timer's
	// record must be stored already (Create earlier in this transaction
	// will do): otherwise nothing is stored and the error is an
	// *itsm.NotFoundError for that record.
	PutTimers(ctx context.Context, timers ...TimerRecord) error
	// AppendEvents appends audit events, assigning each its Sequence: one
	// more than the last event of the same record. Events are never
	// changed or removed. Each event is appended to the outbox as well.
	AppendEvents(ctx context.Context, events ...itsm.Event) error
	// Recall returns the outcome stored with key whose Expires is after
	// now, and true; or false when there is none (never stored, or
	// expired). Arguments are checked with CheckOutcomeKey. A store whose
	// transactions run concurrently may not see an outcome another
	// transaction has not committed yet: Remember then refuses the second.
	Recall(ctx context.Context, key string, now time.Time) (Outcome, bool, error)
	// Remember stores o, checked with CheckOutcome, with the
	// transaction: it is kept if and only if the transaction commits. A
	// live outcome with the same key (Expires after o.At) is an
	// *itsm.ConflictError of kind OutcomeConflictKind (see KeyConflict),
	// and then nothing is stored; an expired one is replaced. On a store
	// whose transactions run concurrently, a transaction remembering a
	// key another one holds uncommitted waits for it to end.
	Remember(ctx context.Context, o Outcome) error
}

// Registry holds the schemas declared to a store; adapters embed one. It
// is safe for concurrent use; the zero Registry is empty and ready. It
// must not be copied after first use.
type Registry struct {
	mu      sync.RWMutex
	schemas map[string]*Schema
}

// Declare adds schemas, replacing any declared schema of the same kind
// (the last wins within one call). A nil schema is an
// *itsm.ValidationError naming its index, and then none is added.
func (r *Registry) Declare(schemas ...*Schema) error {
	for i, s := range schemas {
		if s == nil {
			return itsm.NewValidationError("record schemas", "["+strconv.Itoa(i)+"]", "must not be nil")
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.schemas == nil {
		r.schemas = map[string]*Schema{}
	}
	for _, s := range schemas {
		r.schemas[s.Kind()] = s
	}
	return nil
}

// Schema returns the schema of kind, or an *itsm.ValidationError when the
// kind is not declared.
func (r *Registry) Schema(kind string) (*Schema, error) {
	r.mu.RLock()
	s := r.schemas[kind]
	r.mu.RUnlock()
	if s == nil {
		return nil, itsm.NewValidationError("record", "kind", "%q is not a declared kind", kind)
	}
	return s, nil
}

// Schemas returns the declared schemas sorted by kind name, in a new
// slice.
func (r *Registry) Schemas() []*Schema {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Schema, 0, len(r.schemas))
	for _, k := range sortedKeys(r.schemas) {
		out = append(out, r.schemas[k])
	}
	return out
}

// CheckRecord checks rec against the limits of its declared kind
// (Limits.CheckRecord, an *itsm.LimitError), then runs CheckKeys and the
// Check of the kind's schema; an undeclared kind is an
// *itsm.ValidationError for field "kind". The limits come first, so that
// an oversize record is refused before its text is scanned.
func (r *Registry) CheckRecord(rec *Record) error {
	if rec != nil {
		if err := r.Limits(rec.Kind).CheckRecord(rec); err != nil {
			return err
		}
	}
	if err := CheckKeys(rec); err != nil {
		return err
	}
	s, err := r.Schema(rec.Kind)
	if err != nil {
		return err
	}
	return s.Check(rec)
}

// Limits returns the limits of kind (Schema.Limits), or DefaultLimits
// when kind is not declared.
func (r *Registry) Limits(kind string) Limits {
	r.mu.RLock()
	s := r.schemas[kind]
	r.mu.RUnlock()
	if s == nil {
		return DefaultLimits()
	}
	return s.Limits()
}

// CheckEntries runs Limits.CheckEntries with the limits of kind (see
// Limits): entries about to be appended to a journal of a record of kind
// that holds stored entries already.
func (r *Registry) CheckEntries(kind string, stored int, entries []Entry) error {
	return r.Limits(kind).CheckEntries(stored, entries)
}

// CheckTimerRecords checks each timer's cycles against the limits of its
// record's kind (Limits.CheckTimerRecords: an *itsm.LimitError for the
// first timer over, field "[i].timer.events") and then runs
// CheckTimerRecords on them all.
func (r *Registry) CheckTimerRecords(timers []TimerRecord) error {
	for i, t := range timers {
		if err := r.Limits(t.Record.Kind).checkCycles(i, t); err != nil {
			return err
		}
	}
	return CheckTimerRecords(timers)
}

// CheckQuery runs the CheckQuery of q's declared kind; an undeclared kind
// is an *itsm.ValidationError for field "kind".
func (r *Registry) CheckQuery(q Query) error {
	s, err := r.Schema(q.Kind)
	if err != nil {
		return err
	}
	return s.CheckQuery(q)
}

// CheckRef checks that ref has a well-formed kind and an ID of 1 to
// MaxIDLen bytes of valid UTF-8 without NUL bytes; it returns an
// *itsm.ValidationError (fields "kind", "id") otherwise.
func CheckRef(ref Ref) error {
	v := &itsm.ValidationError{Subject: "record"}
	if !validName(ref.Kind) {
		v.Add("kind", "%q is not a kind name", ref.Kind)
	}
	if msg := idProblem(ref.ID); msg != "" {
		v.Add("id", "%s", msg)
	}
	return v.Err()
}
