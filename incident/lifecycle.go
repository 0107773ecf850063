package incident

import (
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
)

// State is where an incident is in its lifecycle.
type State string

// The states of the default lifecycle.
const (
	New        State = "new"
	InProgress State = "in_progress"
	OnHold     State = "on_hold"
	Resolved   State = "resolved"
	Closed     State = "closed"
	Canceled   State = "canceled"
)

// Action is what the Service does to an incident's state. A custom
// lifecycle must use these actions, since the Service attaches its
// behaviour (timestamps, SLA timers, reopen counting) to actions rather
// than to state names; it may add states and route the actions
// differently.
type Action string

// The actions the Service fires.
const (
	ActAssign  Action = "assign"
	ActStart   Action = "start"
	ActHold    Action = "hold"
	ActResume  Action = "resume"
	ActResolve Action = "resolve"
	ActReopen  Action = "reopen"
	ActClose   Action = "close"
	ActCancel  Action = "cancel"
)

// Lifecycle is the transition table type for incidents.
type Lifecycle = itsm.Lifecycle[State, Action, *Incident]

// Definition is the declarative form of a Lifecycle.
type Definition = itsm.Definition[State, Action, *Incident]

// Transition is one row of a Definition.
type Transition = itsm.Transition[State, Action, *Incident]

// Required fields of the default lifecycle, for use in custom ones.
var (
	NeedsAssignee = itsm.Field[*Incident]{Name: "assignee",
		Present: func(i *Incident) bool { return i.Assignee != "" || i.AssignmentGroup != "" }}
	NeedsHoldReason = itsm.Field[*Incident]{Name: "hold_reason",
		Present: func(i *Incident) bool { return i.HoldReason != "" }}
	NeedsResolutionCode = itsm.Field[*Incident]{Name: "resolution_code",
		Present: func(i *Incident) bool { return i.ResolutionCode != "" }}
	NeedsResolutionNotes = itsm.Field[*Incident]{Name: "resolution_notes",
		Present: func(i *Incident) bool { return i.ResolutionNotes != "" }}
	NeedsCancelReason = itsm.Field[*Incident]{Name: "cancel_reason",
		Present: func(i *Incident) bool { return i.CancelReason != "" }}
)

// DefaultDefinition returns the ITIL default incident lifecycle:
//
//   - New → In Progress by assigning or starting work (an assignee or an
//     assignment group is required); assigning again keeps the state;
//   - In Progress ⇄ On Hold (a hold reason is required);
//   - New, In Progress or On Hold → Resolved (resolution code and notes
//     required; resolving straight from New is first-contact resolution)
//     → Closed, and Resolved → In Progress on reopen;
//   - New, In Progress and On Hold → Canceled (a reason is required);
//   - Closed and Canceled are final.
//
// The states' categories are new (New), active (In Progress), pending (On
// Hold), resolved, closed and cancelled.
//
// It returns a fresh value each time, so a caller may adapt it (add
// roles, guards or states) and build its own Lifecycle with
// itsm.NewLifecycle.
func DefaultDefinition() Definition {
	return Definition{
		Kind:     Kind,
		Initial:  New,
		States:   []State{New, InProgress, OnHold, Resolved, Closed, Canceled},
		Terminal: []State{Closed, Canceled},
		Categories: map[State]itsm.StateCategory{
			New: itsm.CategoryNew, InProgress: itsm.CategoryActive, OnHold: itsm.CategoryPending,
			Resolved: itsm.CategoryResolved, Closed: itsm.CategoryClosed, Canceled: itsm.CategoryCancelled,
		},
		Transitions: []Transition{
			{Action: ActAssign, From: []State{New, InProgress}, To: InProgress, Required: []itsm.Field[*Incident]{NeedsAssignee}},
			{Action: ActAssign, From: []State{OnHold}, To: OnHold, Required: []itsm.Field[*Incident]{NeedsAssignee}},
			{Action: ActStart, From: []State{New}, To: InProgress, Required: []itsm.Field[*Incident]{NeedsAssignee}},
			{Action: ActHold, From: []State{InProgress}, To: OnHold, Required: []itsm.Field[*Incident]{NeedsHoldReason}},
			{Action: ActResume, From: []State{OnHold}, To: InProgress},
			{Action: ActResolve, From: []State{New, InProgress, OnHold}, To: Resolved,
				Required: []itsm.Field[*Incident]{NeedsResolutionCode, NeedsResolutionNotes}},
			{Action: ActReopen, From: []State{Resolved}, To: InProgress},
			{Action: ActClose, From: []State{Resolved}, To: Closed},
			{Action: ActCancel, From: []State{New, InProgress, OnHold}, To: Canceled, Required: []itsm.Field[*Incident]{NeedsCancelReason}},
		},
		ID: func(i *Incident) string { return i.Number },
	}
}

// DefaultLifecycle returns the Lifecycle built from DefaultDefinition.
func DefaultLifecycle() *Lifecycle { return itsm.MustNewLifecycle(DefaultDefinition()) }

// NewSchema returns the record schema of incidents run by lc with the
// custom attributes attrs: kind Kind, prefix "INC", lc's states with their
// categories, and record.DefaultLimits. A store must have it declared
// (record.Store.Declare) before it keeps incidents; NewService does that,
// with the limits of its Config.
func NewSchema(lc *Lifecycle, attrs []record.Attribute) (*record.Schema, error) {
	return newSchema(lc, attrs, record.Limits{})
}

// newSchema is NewSchema with limits.
func newSchema(lc *Lifecycle, attrs []record.Attribute, limits record.Limits) (*record.Schema, error) {
	def := record.SchemaDef{Kind: Kind, Prefix: "INC", Attributes: attrs, Limits: limits}
	for _, s := range lc.States() {
		def.States = append(def.States, record.StateDef{Name: string(s), Category: lc.Category(s)})
	}
	return record.NewSchema(def)
}
