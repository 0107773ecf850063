package incident

import (
	"slices"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
)

// Kind is the record kind of incidents in audit events, timers, errors and
// number sequences.
const Kind = "incident"

// Incident is an unplanned interruption to an IT service or a reduction in
// its quality, as the ITIL incident management practice records it.
//
// A Service creates and changes incidents; the fields are exported so that
// stores can persist them and callers can read them, but changing a
// returned Incident changes nothing stored.
type Incident struct {
	// ID is the stable identifier, assigned by the Service when the
	// incident is opened.
	ID string `json:"id"`
	// Number is the human reference, such as "INC0001001", unique per
	// store. Numbers grow but may have gaps (a rolled-back open consumes
	// one).
	Number string `json:"number"`

	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// Caller is who reported the incident.
	Caller itsm.Actor `json:"caller"`
	// Service names the affected business or technical service.
	Service string `json:"service,omitempty"`
	// ConfigItem names the affected configuration item, if known.
	ConfigItem string `json:"config_item,omitempty"`
	Category   string `json:"category,omitempty"`

	Impact  itsm.Impact  `json:"impact"`
	Urgency itsm.Urgency `json:"urgency"`
	// Priority is derived from Impact and Urgency by the service's
	// PriorityMatrix unless PriorityOverridden is set.
	Priority itsm.Priority `json:"priority"`
	// PriorityOverridden is set when someone with the override permission
	// fixed the priority by hand; later impact or urgency changes then
	// leave it alone.
	PriorityOverridden bool `json:"priority_overridden,omitempty"`

	State State `json:"state"`
	// HoldReason says why the incident is on hold; empty otherwise.
	HoldReason HoldReason `json:"hold_reason,omitempty"`

	AssignmentGroup string `json:"assignment_group,omitempty"`
	Assignee        string `json:"assignee,omitempty"`

	ResolutionCode  ResolutionCode `json:"resolution_code,omitempty"`
	ResolutionNotes string         `json:"resolution_notes,omitempty"`
	// CancelReason says why the incident was canceled.
	CancelReason string `json:"cancel_reason,omitempty"`

	OpenedAt        time.Time `json:"opened_at"`
	FirstResponseAt time.Time `json:"first_response_at,omitzero"`
	ResolvedAt      time.Time `json:"resolved_at,omitzero"`
	ClosedAt        time.Time `json:"closed_at,omitzero"`
	UpdatedAt       time.Time `json:"updated_at"`

	// ReopenCount counts the reopens after resolution.
	ReopenCount int `json:"reopen_count,omitempty"`
	// Major flags a major incident: it has its own procedure, and it is
	// never closed automatically.
	Major bool `json:"major,omitempty"`
	// ParentID links this incident to the incident it duplicates or is
	// part of; resolving the parent resolves it.
	ParentID string `json:"parent_id,omitempty"`
	// ProblemIDs and ChangeIDs link the problems and changes related to
	// the incident, in the order they were linked.
	ProblemIDs []string `json:"problem_ids,omitempty"`
	ChangeIDs  []string `json:"change_ids,omitempty"`

	// Journal holds comments and work notes, oldest first.
	Journal []Entry `json:"journal,omitempty"`

	// Version counts stored changes, starting at 1; an update based on an
	// older version fails with itsm.ErrConflict.
	Version int64 `json:"version"`
}

// Clone returns a deep copy, so stores and callers never share slices.
func (i *Incident) Clone() *Incident {
	if i == nil {
		return nil
	}
	c := *i
	c.Caller.Roles = slices.Clone(i.Caller.Roles)
	c.ProblemIDs = slices.Clone(i.ProblemIDs)
	c.ChangeIDs = slices.Clone(i.ChangeIDs)
	c.Journal = slices.Clone(i.Journal)
	return &c
}

// EntryKind tells a public comment from an internal work note.
type EntryKind string

const (
	// Comment is visible to the caller; the first comment by someone other
	// than the caller is the first response.
	Comment EntryKind = "comment"
	// WorkNote is visible to the support staff only.
	WorkNote EntryKind = "work_note"
)

// Entry is one journal entry.
type Entry struct {
	Kind   EntryKind `json:"kind"`
	Author string    `json:"author"`
	At     time.Time `json:"at"`
	Text   string    `json:"text"`
}

// HoldReason says what an incident on hold is waiting for.
type HoldReason string

// The hold reasons the default configuration knows. Only AwaitingCaller
// pauses the resolution SLA by default (see Config.PausingHoldReasons).
const (
	AwaitingCaller  HoldReason = "awaiting_caller"
	AwaitingChange  HoldReason = "awaiting_change"
	AwaitingProblem HoldReason = "awaiting_problem"
	AwaitingVendor  HoldReason = "awaiting_vendor"
)

// ResolutionCode classifies how an incident was resolved, such as
// "solved", "workaround" or "duplicate". Any non-empty code is accepted
// unless Config.ResolutionCodes restricts them.
type ResolutionCode string
