package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
)

// tx is the incident.Tx handed to InTx's fn. Its methods may be called
// from several goroutines while fn runs.
type tx struct {
	mu   sync.Mutex
	done bool
	view view // view.w holds the staged writes
}

var _ incident.Tx = (*tx)(nil)

// end closes the transaction to further use and returns its staged
// writes. It may be called more than once.
func (t *tx) end() *staged {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done = true
	return t.view.w
}

// use runs fn on the transaction's view while holding its lock.
func (t *tx) use(ctx context.Context, fn func(view) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return ErrTxDone
	}
	return fn(t.view)
}

func (t *tx) Get(ctx context.Context, id string) (*incident.Incident, error) {
	var inc *incident.Incident
	err := t.use(ctx, func(v view) (err error) { inc, err = v.get(id); return err })
	return inc, err
}

func (t *tx) GetByNumber(ctx context.Context, number string) (*incident.Incident, error) {
	var inc *incident.Incident
	err := t.use(ctx, func(v view) (err error) { inc, err = v.getByNumber(number); return err })
	return inc, err
}

func (t *tx) List(ctx context.Context, q incident.Query) (incident.Page, error) {
	var p incident.Page
	err := t.use(ctx, func(v view) (err error) { p, err = v.list(q); return err })
	return p, err
}

func (t *tx) Children(ctx context.Context, id string) ([]*incident.Incident, error) {
	var out []*incident.Incident
	err := t.use(ctx, func(v view) error { out = v.children(id); return nil })
	return out, err
}

func (t *tx) Timers(ctx context.Context, id string) ([]incident.TimerRecord, error) {
	var out []incident.TimerRecord
	err := t.use(ctx, func(v view) (err error) { out, err = v.timers(id); return err })
	return out, err
}

func (t *tx) TimersDue(ctx context.Context, before time.Time, limit int) ([]incident.TimerRecord, error) {
	var out []incident.TimerRecord
	err := t.use(ctx, func(v view) (err error) { out, err = v.timersDue(before, limit); return err })
	return out, err
}

func (t *tx) History(ctx context.Context, id string) ([]itsm.Event, error) {
	var out []itsm.Event
	err := t.use(ctx, func(v view) error { out = v.history(id); return nil })
	return out, err
}

func (t *tx) ResolvedBefore(ctx context.Context, before time.Time, limit int) ([]*incident.Incident, error) {
	var out []*incident.Incident
	err := t.use(ctx, func(v view) error { out = v.resolvedBefore(before, limit); return nil })
	return out, err
}

// NextNumber returns the next value of the sequence named kind. The
// sequence is part of the transaction, so a rollback leaves no gap; an
// empty kind is an *itsm.ValidationError.
func (t *tx) NextNumber(ctx context.Context, kind string) (int64, error) {
	var n int64
	err := t.use(ctx, func(v view) error {
		if kind == "" {
			return itsm.NewValidationError("number sequence", "kind", "must not be empty")
		}
		n = v.number(kind) + 1
		v.w.numbers[kind] = n
		return nil
	})
	return n, err
}

// Create stores a copy of inc with Version 1 and sets inc.Version to 1. A
// nil incident, an empty ID or an empty Number is an
// *itsm.ValidationError; an ID or Number already stored (or created
// earlier in the transaction) is an error matching itsm.ErrConflict.
func (t *tx) Create(ctx context.Context, inc *incident.Incident) error {
	return t.use(ctx, func(v view) error {
		if err := incident.ValidateKeys(inc); err != nil {
			return err
		}
		if _, ok := v.incident(inc.ID); ok {
			return fmt.Errorf("memory: incident %s already exists: %w", inc.ID, itsm.ErrConflict)
		}
		if other, ok := v.idByNumber(inc.Number); ok {
			return fmt.Errorf("memory: incident number %s is taken by incident %s: %w", inc.Number, other, itsm.ErrConflict)
		}
		stored := inc.Clone()
		stored.Version = 1
		v.w.incidents[stored.ID] = stored
		v.w.byNumber[stored.Number] = stored.ID
		inc.Version = 1
		return nil
	})
}

// Update replaces the stored incident with a copy of inc when the stored
// version equals inc.Version, and sets inc.Version to the next version.
// Otherwise nothing changes and the error is an *itsm.ConflictError (with
// Expected and Actual), or an *itsm.NotFoundError when there is no such
// incident. A changed Number must be free (itsm.ErrConflict otherwise). A
// nil incident or an empty ID or Number is an *itsm.ValidationError.
func (t *tx) Update(ctx context.Context, inc *incident.Incident) error {
	return t.use(ctx, func(v view) error {
		if err := incident.ValidateKeys(inc); err != nil {
			return err
		}
		cur, ok := v.incident(inc.ID)
		if !ok {
			return &itsm.NotFoundError{Kind: incident.Kind, ID: inc.ID}
		}
		if cur.Version != inc.Version {
			return &itsm.ConflictError{Kind: incident.Kind, ID: inc.ID, Expected: inc.Version, Actual: cur.Version}
		}
		if inc.Number != cur.Number {
			if other, ok := v.idByNumber(inc.Number); ok {
				return fmt.Errorf("memory: incident number %s is taken by incident %s: %w", inc.Number, other, itsm.ErrConflict)
			}
		}
		stored := inc.Clone()
		stored.Version = cur.Version + 1
		v.w.incidents[stored.ID] = stored
		v.w.byNumber[stored.Number] = stored.ID
		inc.Version = stored.Version
		return nil
	})
}

// PutTimers inserts or replaces timers keyed by ID, storing each Timer as
// its JSON encoding. A replaced timer keeps its place in the order of
// Timers. Every record needs an ID, an IncidentID and a Timer, or nothing
// is stored and the error is an *itsm.ValidationError; a Timer that fails
// to encode stores nothing either.
func (t *tx) PutTimers(ctx context.Context, timers ...incident.TimerRecord) error {
	return t.use(ctx, func(v view) error {
		if err := incident.ValidateTimerRecords(timers); err != nil {
			return err
		}
		for _, r := range timers {
			if _, ok := v.incident(r.IncidentID); !ok {
				return &itsm.NotFoundError{Kind: incident.Kind, ID: r.IncidentID}
			}
		}
		rows := make([]*timerRow, len(timers))
		for i, r := range timers {
			enc, err := json.Marshal(r.Timer)
			if err != nil {
				return fmt.Errorf("memory: encode timer %s: %w", r.ID, err)
			}
			r.Timer = nil
			rows[i] = &timerRow{rec: r, timer: enc}
		}
		for _, row := range rows {
			k := keyOf(row.rec)
			if old, ok := v.timer(k); ok {
				row.seq = old.seq
			} else {
				v.w.timerSeq++
				row.seq = v.w.timerSeq
			}
			v.w.timers[k] = row
		}
		return nil
	})
}

// AppendEvents appends copies of events, numbering each one more than the
// last event of the same record (Kind and RecordID). If any event fails
// Event.Validate nothing is appended and the error is an
// *itsm.ValidationError naming each problem as "[i].field".
func (t *tx) AppendEvents(ctx context.Context, events ...itsm.Event) error {
	return t.use(ctx, func(v view) error {
		if err := itsm.ValidateEvents(events); err != nil {
			return err
		}
		for _, e := range events {
			k := recordKey{kind: e.Kind, id: e.RecordID}
			e = copyEvent(e)
			e.Sequence = int64(v.events(k, nil)) + 1
			v.w.events[k] = append(v.w.events[k], e)
		}
		return nil
	})
}
