package incident

import (
	"context"
	"strconv"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
)

// Store is what the Service needs from storage. Adapters in
// storage/memory, storage/sqlite and storage/postgres implement it, and
// storage/storagetest checks that they behave alike.
//
// Reads outside a transaction see committed data only. Every write happens
// inside InTx, so an incident, its timers and its audit events commit
// together or not at all.
type Store interface {
	Reader
	// InTx runs fn in one transaction. When fn returns nil the
	// transaction commits; when it returns an error or panics, nothing fn
	// wrote is kept and the error (or panic) is passed on. fn must use tx,
	// not the Store, for every read and write that belongs to the
	// transaction, and must not keep tx after it returns.
	InTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
}

// Reader holds the read operations, available both on a Store and inside
// a transaction.
type Reader interface {
	// Get returns the incident with id, or an *itsm.NotFoundError.
	Get(ctx context.Context, id string) (*Incident, error)
	// GetByNumber returns the incident with number, such as "INC0001001",
	// or an *itsm.NotFoundError.
	GetByNumber(ctx context.Context, number string) (*Incident, error)
	// List returns one page of the incidents that match q.
	List(ctx context.Context, q Query) (Page, error)
	// Children returns the incidents whose ParentID is id, oldest first.
	Children(ctx context.Context, id string) ([]*Incident, error)
	// Timers returns the SLA timers of the incident with id, in the order
	// they were first saved.
	Timers(ctx context.Context, id string) ([]TimerRecord, error)
	// TimersDue returns up to limit timers of any incident whose NextWakeAt
	// is set and not after before, earliest first (ties by timer ID, then
	// incident ID).
	TimersDue(ctx context.Context, before time.Time, limit int) ([]TimerRecord, error)
	// History returns the audit events of the incident with id in sequence
	// order; an incident without events yields an empty slice.
	History(ctx context.Context, id string) ([]itsm.Event, error)
	// ResolvedBefore returns up to limit incidents that are resolved and
	// not closed (ResolvedAt set and before t, ClosedAt zero) and not
	// flagged Major, oldest resolution first (ties by ID). It does not
	// look at state names, so it works with custom lifecycles.
	ResolvedBefore(ctx context.Context, t time.Time, limit int) ([]*Incident, error)
}

// Tx is a transaction opened by Store.InTx.
type Tx interface {
	Reader
	// NextNumber returns the next value, from 1, of the number sequence
	// named kind. Values are unique; a rolled-back transaction may leave
	// a gap.
	NextNumber(ctx context.Context, kind string) (int64, error)
	// Create stores a new incident with Version 1 (it sets inc.Version).
	// An existing ID or Number yields an error matching itsm.ErrConflict.
	Create(ctx context.Context, inc *Incident) error
	// Update replaces the stored incident with inc when the stored
	// version equals inc.Version, and then sets inc.Version to the next
	// version. Otherwise it changes nothing and returns an
	// *itsm.ConflictError, or an *itsm.NotFoundError when there is no such
	// incident.
	Update(ctx context.Context, inc *Incident) error
	// PutTimers inserts or replaces timers, keyed by IncidentID and ID; a
	// replaced timer keeps its place in the order of Timers. Each timer's
	// incident must be stored already (Create earlier in this transaction
	// will do): otherwise nothing is stored and the error is an
	// *itsm.NotFoundError for that incident.
	PutTimers(ctx context.Context, timers ...TimerRecord) error
	// AppendEvents appends audit events, assigning each its Sequence: one
	// more than the last event of the same record. Events are never
	// changed or removed.
	AppendEvents(ctx context.Context, events ...itsm.Event) error
}

// TimerRecord is an SLA timer attached to an incident, as stores keep it.
// The fields after Timer are derived from it when the Service saves it, so
// that stores can index and filter without decoding timers.
type TimerRecord struct {
	// ID identifies the timer among the timers of its incident: two
	// incidents may each have a timer with the same ID.
	ID string `json:"id"`
	// IncidentID is the incident the timer measures.
	IncidentID string `json:"incident_id"`
	// Timer is the timer with its whole history. Stores return it with
	// its calendar unbound; the Service binds it before use.
	Timer *sla.Timer `json:"timer"`

	// Stage is the timer's stage when it was saved.
	Stage sla.Stage `json:"stage"`
	// AtRiskAt is when the last warning threshold was or will be crossed
	// if the timer keeps running; zero when unknown (paused before
	// crossing it) or when there is no warning threshold.
	AtRiskAt time.Time `json:"at_risk_at,omitzero"`
	// BreachAt is when the target was or will be exceeded if the timer
	// keeps running; zero when unknown (paused before the breach) or when
	// the timer finished in time.
	BreachAt time.Time `json:"breach_at,omitzero"`
	// NextWakeAt is the next instant a scheduler must look at the timer
	// (a threshold to announce); zero when there is none.
	NextWakeAt time.Time `json:"next_wake_at,omitzero"`
}

// Query selects incidents for List. Zero fields do not filter; set fields
// combine with AND, and the values within one slice with OR.
type Query struct {
	States          []State
	Priorities      []itsm.Priority
	Assignee        string
	AssignmentGroup string
	Service         string
	// Breached keeps incidents with a timer that breached, or will have by
	// Now while still running.
	Breached bool
	// AtRisk keeps incidents with a running or paused timer past its last
	// warning threshold at Now and not breached.
	AtRisk bool
	// Now is the instant Breached and AtRisk are judged at; the Service
	// sets it from its clock.
	Now time.Time
	// Text keeps incidents whose number, title or description contains
	// it, ignoring case.
	Text string
	// Limit caps the page size; 0 means 50 and values above 500 are
	// lowered to 500.
	Limit int
	// After is the cursor from a previous Page.Next; empty starts at the
	// beginning. A malformed cursor yields an *itsm.ValidationError.
	After string
}

// Page is one page of List results, in List order: by OpenedAt, then ID
// (see Cursor).
type Page struct {
	Incidents []*Incident
	// Next is the cursor for the following page; empty on the last page.
	Next string
}

// Page size bounds for Query.Limit.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// PageSize returns the effective page size of q.
func (q Query) PageSize() int {
	switch {
	case q.Limit <= 0:
		return DefaultPageSize
	case q.Limit > MaxPageSize:
		return MaxPageSize
	default:
		return q.Limit
	}
}

// ValidateKeys checks what a store needs to keep inc: it is not nil and
// has an ID and a Number. It returns an *itsm.ValidationError naming each
// missing key, or nil. Adapters call it in Create and Update.
func ValidateKeys(inc *Incident) error {
	if inc == nil {
		return itsm.NewValidationError(Kind, "incident", "must not be nil")
	}
	v := &itsm.ValidationError{Subject: Kind}
	if inc.ID == "" {
		v.Add("id", "must not be empty")
	}
	if inc.Number == "" {
		v.Add("number", "must not be empty")
	}
	return v.Err()
}

// ValidateTimerRecords checks what a store needs to keep timers: each has
// an ID, an IncidentID and a Timer. It returns one *itsm.ValidationError
// naming each problem as "[i].field", or nil. Adapters call it in
// PutTimers before writing anything.
func ValidateTimerRecords(timers []TimerRecord) error {
	v := &itsm.ValidationError{Subject: "timer records"}
	for i, r := range timers {
		at := "[" + strconv.Itoa(i) + "]."
		if r.ID == "" {
			v.Add(at+"id", "must not be empty")
		}
		if r.IncidentID == "" {
			v.Add(at+"incident_id", "must not be empty")
		}
		if r.Timer == nil {
			v.Add(at+"timer", "must not be nil")
		}
	}
	return v.Err()
}
