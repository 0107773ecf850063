package memory

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
)

// ErrTxDone is returned by every method of a transaction's incident.Tx
// called after InTx has returned, which the incident.Store contract
// forbids; nothing is read or written.
var ErrTxDone = errors.New("memory: transaction has already committed or rolled back")

// Store keeps incidents, their SLA timers, their audit events and number
// sequences in memory. It implements incident.Store. The zero value is not
// usable; call New. A Store is safe for concurrent use by any number of
// goroutines; see the package documentation for its isolation.
type Store struct {
	// writer admits one transaction at a time; a channel rather than a
	// mutex so that waiting for it honours the context.
	writer chan struct{}
	// mu guards data between readers and the commit that changes it.
	mu   sync.RWMutex
	data *state
}

var _ incident.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{writer: make(chan struct{}, 1), data: newState()}
}

// read runs fn on the committed state, after checking ctx.
func (s *Store) read(ctx context.Context, fn func(view) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fn(view{base: s.data})
}

// InTx runs fn in a transaction, as incident.Store documents: when fn
// returns nil its writes are committed together; when it returns an error
// or panics they are all discarded and the error is returned (or the
// panic goes on). Transactions run one at a time; InTx waits for the
// current one to end, or returns ctx.Err() if ctx is done first. If ctx is
// done when fn returns nil, the writes are discarded and ctx.Err() is
// returned, as a database would refuse the commit. A nil fn is an
// *itsm.ValidationError. fn may read through the Store (it sees the
// committed state), but an InTx called from inside fn waits for the
// outer one and so never starts unless its ctx is done.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx incident.Tx) error) error {
	if fn == nil {
		return itsm.NewValidationError("transaction", "fn", "must not be nil")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.writer }()

	// No other transaction can commit while this one holds writer, so the
	// committed state cannot change under t and t reads it without mu.
	t := &tx{view: view{base: s.data, w: newStaged(s.data)}}
	// end runs on every way out, panics included, so that a transaction
	// kept by fn cannot be used after InTx returns.
	defer t.end()
	if err := fn(ctx, t); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w := t.end()
	s.mu.Lock()
	s.data.apply(w)
	s.mu.Unlock()
	return nil
}

// Get returns a copy of the committed incident with id, or an
// *itsm.NotFoundError.
func (s *Store) Get(ctx context.Context, id string) (*incident.Incident, error) {
	var inc *incident.Incident
	err := s.read(ctx, func(v view) (err error) { inc, err = v.get(id); return err })
	return inc, err
}

// GetByNumber returns a copy of the committed incident with number, or an
// *itsm.NotFoundError whose ID is the number.
func (s *Store) GetByNumber(ctx context.Context, number string) (*incident.Incident, error) {
	var inc *incident.Incident
	err := s.read(ctx, func(v view) (err error) { inc, err = v.getByNumber(number); return err })
	return inc, err
}

// List returns one page of the committed incidents that match q (see
// incident.Query.Match), ordered by OpenedAt then ID, starting after the
// cursor q.After. Page.Next is set only when more incidents match after
// the page. A malformed cursor yields an *itsm.ValidationError.
func (s *Store) List(ctx context.Context, q incident.Query) (incident.Page, error) {
	var p incident.Page
	err := s.read(ctx, func(v view) (err error) { p, err = v.list(q); return err })
	return p, err
}

// Children returns copies of the committed incidents whose ParentID is id,
// oldest first (by OpenedAt, then ID); an empty slice when there are none,
// including when id is unknown.
func (s *Store) Children(ctx context.Context, id string) ([]*incident.Incident, error) {
	var out []*incident.Incident
	err := s.read(ctx, func(v view) error { out = v.children(id); return nil })
	return out, err
}

// Timers returns the committed SLA timers of the incident with id in the
// order they were first saved, each with a freshly decoded, unbound
// Timer; an empty slice when there are none.
func (s *Store) Timers(ctx context.Context, id string) ([]incident.TimerRecord, error) {
	var out []incident.TimerRecord
	err := s.read(ctx, func(v view) (err error) { out, err = v.timers(id); return err })
	return out, err
}

// TimersDue returns up to limit committed timers whose NextWakeAt is set
// and not after before, earliest first, then by timer ID and incident ID.
// A limit of 0 or less yields an empty slice.
func (s *Store) TimersDue(ctx context.Context, before time.Time, limit int) ([]incident.TimerRecord, error) {
	var out []incident.TimerRecord
	err := s.read(ctx, func(v view) (err error) { out, err = v.timersDue(before, limit); return err })
	return out, err
}

// History returns copies of the committed audit events of the incident
// with id in sequence order; an empty slice when there are none.
func (s *Store) History(ctx context.Context, id string) ([]itsm.Event, error) {
	var out []itsm.Event
	err := s.read(ctx, func(v view) error { out = v.history(id); return nil })
	return out, err
}

// ResolvedBefore returns copies of up to limit committed incidents that
// are resolved and not closed (ResolvedAt set and before t, ClosedAt zero)
// and not flagged Major, oldest resolution first and then by ID, whatever
// their state. A limit of 0 or less yields an empty slice.
func (s *Store) ResolvedBefore(ctx context.Context, t time.Time, limit int) ([]*incident.Incident, error) {
	var out []*incident.Incident
	err := s.read(ctx, func(v view) error { out = v.resolvedBefore(t, limit); return nil })
	return out, err
}
