package memory

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/btree"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
)

// ErrTxDone is returned by every method of a transaction's record.Tx
// called after InTx has returned, which the record.Store contract
// forbids; nothing is read or written.
var ErrTxDone = errors.New("memory: transaction has already committed or rolled back")

// Option configures a Store made by New.
type Option func(*Store)

// WithCalendars sets the calendars that ProcessDueTimers binds the SLA
// timers it decodes with, for timers whose policy names a business
// calendar, and that PutTimers binds a copy of an unbound timer with to
// record its crossings. Timers of 24×7 policies bind themselves and need
// none. A due timer naming a calendar the source does not know is skipped
// by ProcessDueTimers (storage.Batch.Skipped) and named by
// UnknownCalendars, so that a storage.Worker refuses to start; PutTimers
// saves such a timer without recording its crossings. Default: none.
func WithCalendars(src sla.CalendarSource) Option {
	return func(s *Store) { s.cals = src }
}

// Store keeps records of every declared kind, with their journals, links,
// SLA timers, audit events, number sequences and outbox, in memory. It
// implements record.Store and storage.TimerProcessor. The zero value is
// not usable; call New. A Store is safe for concurrent use by any number
// of goroutines; see the package documentation for its isolation.
//
// The embedded Registry holds the declared schemas (see Declare); its
// Schema, Schemas, Limits, CheckRecord, CheckEntries, CheckTimerRecords
// and CheckQuery methods are the checks the store applies.
type Store struct {
	record.Registry

	cals sla.CalendarSource
	// writer admits one transaction at a time; a channel rather than a
	// mutex so that waiting for it honours the context.
	writer chan struct{}
	// mu guards data between readers and the commit that changes it.
	mu   sync.RWMutex
	data *state
	// lastMsg is the last outbox message ID handed out; only the holder
	// of writer uses it.
	lastMsg int64
	// claimMu guards consumers, the outbox consumers' progress, which
	// Claim and Ack change outside transactions.
	claimMu   sync.Mutex
	consumers map[string]*consumer
	// visited counts the index entries List and the timers TimersDue have
	// looked at, for the tests that prove they do not scan.
	visited atomic.Int64
}

var (
	_ record.Store           = (*Store)(nil)
	_ storage.TimerProcessor = (*Store)(nil)
)

// New returns an empty Store with no kinds declared.
func New(opts ...Option) *Store {
	s := &Store{writer: make(chan struct{}, 1), data: newState(), consumers: map[string]*consumer{}}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Declare makes kinds known to the store, as record.Store documents: a
// kind declared again gets the new schema, and records stored under the
// old one stay as they are. A nil schema is an *itsm.ValidationError and
// then none is declared.
func (s *Store) Declare(ctx context.Context, schemas ...*record.Schema) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.Registry.Declare(schemas...)
}

// read runs fn on the committed state, after checking ctx.
func (s *Store) read(ctx context.Context, fn func(view) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fn(view{s: s, base: s.data, t: s.data.t})
}

// acquire waits for the writer token, or returns ctx.Err() when ctx is
// done first.
func (s *Store) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case s.writer <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) release() { <-s.writer }

// begin opens a transaction on the committed state; the caller holds the
// writer token, so no commit can change that state under it and it reads
// the state without mu.
func (s *Store) begin() *tx {
	w := newStaged(s.data)
	return &tx{v: view{s: s, base: s.data, w: w, t: w.t}}
}

// commit makes the staged writes w the committed state.
func (s *Store) commit(w *staged) {
	s.mu.Lock()
	s.data.apply(w)
	s.mu.Unlock()
}

// InTx runs fn in a transaction, as record.Store documents: when fn
// returns nil its writes are committed together; when it returns an error
// or panics they are all discarded and the error is returned (or the
// panic goes on). Transactions run one at a time; InTx waits for the
// current one to end, or returns ctx.Err() if ctx is done first. If ctx is
// done when fn returns nil, the writes are discarded and ctx.Err() is
// returned, as a database would refuse the commit. A nil fn is an
// *itsm.ValidationError. fn may read through the Store (it sees the
// committed state), but an InTx or ProcessDueTimers called from inside
// fn waits for the outer transaction and so never starts unless its ctx
// is done.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx record.Tx) error) error {
	if fn == nil {
		return itsm.NewValidationError("transaction", "fn", "must not be nil")
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	t := s.begin()
	// end runs on every way out, panics included, so that a transaction
	// kept by fn cannot be used after InTx returns.
	defer t.end()
	if err := fn(ctx, t); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.commit(t.end())
	return nil
}

// Get returns a copy of the committed record ref names, with its SLA
// summary, or an *itsm.NotFoundError (also for a kind that is not
// declared). A malformed ref is an *itsm.ValidationError.
func (s *Store) Get(ctx context.Context, ref record.Ref) (*record.Record, error) {
	var rec *record.Record
	err := s.read(ctx, func(v view) (err error) { rec, err = v.get(ref); return err })
	return rec, err
}

// GetByNumber returns a copy of the committed record of kind with number,
// or an *itsm.NotFoundError whose ID is the number. A malformed kind, or
// a number that is empty or longer than record.MaxIDLen, is an
// *itsm.ValidationError.
func (s *Store) GetByNumber(ctx context.Context, kind, number string) (*record.Record, error) {
	var rec *record.Record
	err := s.read(ctx, func(v view) (err error) { rec, err = v.getByNumber(kind, number); return err })
	return rec, err
}

// List returns one page of the committed records that match q (see
// record.Query.Match), each with its SLA summary, in q's order from just
// after q.After. It walks the smallest of the indexes that q's filters
// allow from the cursor (see the package documentation), so a page costs
// about the same however many records the store holds. A query that
// fails CheckQuery (an undeclared kind, an unknown state or attribute, a
// malformed cursor, ...) is an *itsm.ValidationError.
func (s *Store) List(ctx context.Context, q record.Query) (record.Page, error) {
	var p record.Page
	err := s.read(ctx, func(v view) (err error) { p, err = v.list(q); return err })
	return p, err
}

// Journal returns copies of the committed journal entries of the record,
// oldest first; an empty slice when there are none. A malformed ref is an
// *itsm.ValidationError.
func (s *Store) Journal(ctx context.Context, ref record.Ref) ([]record.Entry, error) {
	var out []record.Entry
	err := s.read(ctx, func(v view) (err error) { out, err = v.journal(ref); return err })
	return out, err
}

// Links returns the committed links of which the record is either end,
// in the order they were added; an empty slice when there are none. A
// malformed ref is an *itsm.ValidationError.
func (s *Store) Links(ctx context.Context, ref record.Ref) ([]record.Link, error) {
	var out []record.Link
	err := s.read(ctx, func(v view) (err error) { out, err = v.links(ref); return err })
	return out, err
}

// Timers returns the committed SLA timers of the record in the order they
// were first saved, each with a freshly decoded, unbound Timer; an empty
// slice when there are none. A malformed ref is an *itsm.ValidationError.
func (s *Store) Timers(ctx context.Context, ref record.Ref) ([]record.TimerRecord, error) {
	var out []record.TimerRecord
	err := s.read(ctx, func(v view) (err error) { out, err = v.timers(ref); return err })
	return out, err
}

// TimersDue returns up to limit committed timers of any record whose
// NextWakeAt is set and not after before, earliest first, then by timer
// ID, record kind and record ID, each with a freshly decoded, unbound
// Timer. It walks an index in that order and stops at the first timer
// that is not due. A limit of 0 or less yields an empty slice.
func (s *Store) TimersDue(ctx context.Context, before time.Time, limit int) ([]record.TimerRecord, error) {
	var out []record.TimerRecord
	err := s.read(ctx, func(v view) (err error) { out, err = v.timersDue(before, limit); return err })
	return out, err
}

// History returns copies of the committed audit events of the record in
// sequence order; an empty slice when there are none. A malformed ref is
// an *itsm.ValidationError.
func (s *Store) History(ctx context.Context, ref record.Ref) ([]itsm.Event, error) {
	var out []itsm.Event
	err := s.read(ctx, func(v view) (err error) { out, err = v.history(ref); return err })
	return out, err
}

// ReadOutbox returns up to limit committed outbox messages after the
// cursor after (empty: from the first), in commit order, which here is
// also the order of their IDs, and the cursor to read on from: the one
// after the page's last message, or after itself when the page is empty.
// The cursor is opaque; anything but "" or a cursor ReadOutbox handed out
// is an *itsm.ValidationError. A limit of 0 or less yields an empty page.
func (s *Store) ReadOutbox(ctx context.Context, after string, limit int) (record.OutboxPage, error) {
	var p record.OutboxPage
	err := s.read(ctx, func(v view) (err error) { p, err = v.readOutbox(after, limit); return err })
	return p, err
}

// consumer is the progress of one outbox consumer name.
type consumer struct {
	// floor is the highest ID up to which every message is acknowledged.
	floor int64
	// acked holds the acknowledged IDs above floor.
	acked *btree.BTreeG[int64]
	// leases holds the claims of messages not yet acknowledged, dead
	// letters included.
	leases map[int64]lease
	// dead holds the IDs of the dead letters, for DeadLetters.
	dead *btree.BTreeG[int64]
}

// lease is the last claim of a message by a consumer.
type lease struct {
	until    time.Time
	attempts int
	// deadAt is when the message was buried; zero while it is not a
	// dead letter.
	deadAt time.Time
	// lastError is the reason of the last Defer or Bury.
	lastError string
}

func (s *Store) consumer(name string) *consumer {
	c := s.consumers[name]
	if c == nil {
		c = &consumer{acked: btree.NewOrderedG[int64](degree), leases: map[int64]lease{}, dead: btree.NewOrderedG[int64](degree)}
		s.consumers[name] = c
	}
	return c
}

// Claim hands up to limit committed outbox messages to consumer, oldest
// first, as record.Store documents: messages consumer has not
// acknowledged, that are not its dead letters and on which no lease of
// consumer is live at now (a lease lasts until now+lease, exclusive). Each message's Attempts counts the
// claims of it by consumer, this one included. Arguments that fail
// record.CheckClaim are an *itsm.ValidationError. Claims do not wait for
// open transactions.
func (s *Store) Claim(ctx context.Context, consumer string, now time.Time, lease time.Duration, limit int) ([]record.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := record.CheckClaim(consumer, now, lease, limit); err != nil {
		return nil, err
	}
	s.claimMu.Lock()
	defer s.claimMu.Unlock()
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.consumer(consumer)
	out := []record.Message{}
	s.data.t.outbox.AscendGreaterOrEqual(&seqItem[itsm.Event]{n: c.floor + 1}, func(it *seqItem[itsm.Event]) bool {
		if c.acked.Has(it.n) {
			return true
		}
		l := c.leases[it.n]
		if l.until.After(now) || !l.deadAt.IsZero() {
			return true
		}
		l.until, l.attempts = now.Add(lease), l.attempts+1
		c.leases[it.n] = l
		out = append(out, record.Message{ID: it.n, Event: copyEvent(it.val), Attempts: l.attempts})
		return len(out) < limit
	})
	return out, nil
}

// Ack acknowledges the committed outbox messages ids for consumer, as
// record.Store documents: Claim never hands them to consumer again.
// Acknowledging a message twice is not an error; an ID that is not in the
// committed outbox is an *itsm.NotFoundError (Kind "outbox message") and
// then none is acknowledged. A consumer name that is empty or longer than
// record.MaxIDLen is an *itsm.ValidationError.
func (s *Store) Ack(ctx context.Context, consumer string, ids ...int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if consumer == "" || len(consumer) > record.MaxIDLen {
		return itsm.NewValidationError("outbox ack", "consumer", "must be 1 to %d bytes", record.MaxIDLen)
	}
	s.claimMu.Lock()
	defer s.claimMu.Unlock()
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, id := range ids {
		if !s.data.t.outbox.Has(&seqItem[itsm.Event]{n: id}) {
			return &itsm.NotFoundError{Kind: "outbox message", ID: strconv.FormatInt(id, 10)}
		}
	}
	c := s.consumer(consumer)
	for _, id := range ids {
		delete(c.leases, id)
		c.dead.Delete(id)
		if id > c.floor {
			c.acked.ReplaceOrInsert(id)
		}
	}
	for {
		next, ok := c.acked.Min()
		if !ok || next != c.floor+1 {
			break
		}
		c.acked.DeleteMin()
		c.floor = next
	}
	return nil
}
