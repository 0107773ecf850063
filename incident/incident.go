package incident

import (
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
)

// Kind is the record kind of incidents in the record core: in records,
// audit events, timers, links, errors and number sequences.
const Kind = "incident"

// Incident is an unplanned interruption to an IT service or a reduction in
// its quality, as the ITIL incident management practice records it. It is
// the incident's view of a record.Record: the header fields under their
// incident names, the body fields, and what the Service reads with it
// (journal, links and SLA summary).
//
// A Service creates and changes incidents; the fields are exported so that
// callers can read them, but changing a returned Incident changes nothing
// stored.
type Incident struct {
	// ID is the stable identifier, assigned by the Service when the
	// incident is opened.
	ID string `json:"id"`
	// Number is the human reference, such as "INC0001001", unique per
	// store. Numbers grow but may have gaps.
	Number string `json:"number"`

	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// Caller is who reported the incident (the record's requester).
	Caller itsm.Actor `json:"caller"`
	// Watchers are told about changes.
	Watchers []string `json:"watchers,omitempty"`
	// Service names the affected business or technical service.
	Service string `json:"service,omitempty"`
	// ConfigItems names the affected configuration items, if known.
	ConfigItems []string `json:"config_items,omitempty"`
	Category    string   `json:"category,omitempty"`

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
	// StateCategory is the category of State in the service's lifecycle.
	StateCategory itsm.StateCategory `json:"state_category"`
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
	// Major flags a major incident: it has its own procedure, resolving,
	// closing or canceling it needs PermMajorIncident, and it is never
	// closed automatically.
	Major bool `json:"major,omitempty"`
	// ParentID is the incident this one is a child of; resolving the
	// parent resolves it.
	ParentID string `json:"parent_id,omitempty"`

	// Attrs holds the custom attributes declared in Config.Attributes.
	Attrs map[string]record.Value `json:"attrs,omitempty"`

	// Journal holds comments and work notes, oldest first. Get and the
	// changing operations fill it; List leaves it empty.
	Journal []Entry `json:"journal,omitempty"`
	// Links holds the stored links of which the incident is either end
	// (problems it was caused by, changes that fix it, duplicates,
	// related records), in the order they were added. Get and the
	// changing operations fill it; List leaves it empty.
	Links []record.Link `json:"links,omitempty"`
	// SLA summarises the incident's SLA timers; every read fills it.
	SLA record.Summary `json:"sla,omitempty"`

	// Version counts stored changes, starting at 1; an update based on an
	// older version fails with itsm.ErrConflict.
	Version int64 `json:"version"`
}

// Ref returns the incident's record reference.
func (i *Incident) Ref() record.Ref { return record.Ref{Kind: Kind, ID: i.ID} }

// Linked returns the other ends of the incident's links of type typ (a
// record.LinkType name) in the order they were added; for links that
// point at the incident, the records they come from.
func (i *Incident) Linked(typ string) []record.Ref {
	var out []record.Ref
	for _, l := range i.Links {
		if l.Type != typ {
			continue
		}
		if other, ok := l.Other(i.Ref()); ok {
			out = append(out, other)
		}
	}
	return out
}

// Clone returns a deep copy, so stores and callers never share slices.
func (i *Incident) Clone() *Incident {
	if i == nil {
		return nil
	}
	c := *i
	c.Caller.Roles = slices.Clone(i.Caller.Roles)
	c.Watchers = slices.Clone(i.Watchers)
	c.ConfigItems = slices.Clone(i.ConfigItems)
	c.Attrs = maps.Clone(i.Attrs)
	c.Journal = slices.Clone(i.Journal)
	c.Links = slices.Clone(i.Links)
	c.SLA = slices.Clone(i.SLA)
	return &c
}

// Entry is one journal entry.
type Entry = record.Entry

// EntryKind tells a public comment from an internal work note.
type EntryKind = record.EntryKind

const (
	// Comment is visible to the caller; the first comment by someone other
	// than the caller is the first response.
	Comment = record.Comment
	// WorkNote is visible to the support staff only.
	WorkNote = record.WorkNote
)

// HoldReason says what an incident on hold is waiting for.
type HoldReason string

// The hold reasons the default configuration knows. Only AwaitingCaller
// pauses the resolution SLA by default (see Config.PausingHoldReasons),
// and a public reply of the caller lifts it (Config.CallerReplyResumes).
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

// body is the incident's own part of its record: the fields the shared
// header has no column for.
type body struct {
	PriorityOverridden bool           `json:"priority_overridden,omitempty"`
	HoldReason         HoldReason     `json:"hold_reason,omitempty"`
	ResolutionCode     ResolutionCode `json:"resolution_code,omitempty"`
	ResolutionNotes    string         `json:"resolution_notes,omitempty"`
	CancelReason       string         `json:"cancel_reason,omitempty"`
	FirstResponseAt    time.Time      `json:"first_response_at,omitzero"`
	ReopenCount        int            `json:"reopen_count,omitempty"`
}

// Record returns the incident as the record core keeps it: the header,
// the attributes and the body. Journal, links and SLA summary are kept
// apart by the store and are not part of it.
func (i *Incident) Record() (*record.Record, error) {
	b, err := json.Marshal(body{
		PriorityOverridden: i.PriorityOverridden, HoldReason: i.HoldReason,
		ResolutionCode: i.ResolutionCode, ResolutionNotes: i.ResolutionNotes, CancelReason: i.CancelReason,
		FirstResponseAt: i.FirstResponseAt, ReopenCount: i.ReopenCount,
	})
	if err != nil {
		return nil, err
	}
	rec := &record.Record{
		Header: record.Header{
			Kind: Kind, ID: i.ID, Number: i.Number, Title: i.Title, Description: i.Description,
			State: string(i.State), StateCategory: i.StateCategory,
			Impact: i.Impact, Urgency: i.Urgency, Priority: i.Priority,
			Requester: i.Caller, AssignmentGroup: i.AssignmentGroup, Assignee: i.Assignee,
			Watchers: slices.Clone(i.Watchers), Service: i.Service, ConfigItems: slices.Clone(i.ConfigItems),
			Category: i.Category, Major: i.Major,
			OpenedAt: i.OpenedAt, UpdatedAt: i.UpdatedAt, ResolvedAt: i.ResolvedAt, ClosedAt: i.ClosedAt,
			Version: i.Version,
		},
		Attrs: maps.Clone(i.Attrs),
		Body:  b,
	}
	rec.Requester.Roles = slices.Clone(i.Caller.Roles)
	if i.ParentID != "" {
		rec.Parent = record.Ref{Kind: Kind, ID: i.ParentID}
	}
	return rec, nil
}

// FromRecord returns the incident a record of kind Kind holds, with its
// SLA summary; Journal and Links stay empty. A record of another kind,
// or one whose parent is not an incident, is an *itsm.ValidationError.
func FromRecord(rec *record.Record) (*Incident, error) {
	if rec.Kind != Kind {
		return nil, itsm.NewValidationError(Kind, "kind", "%q is not an incident record", rec.Kind)
	}
	if !rec.Parent.IsZero() && rec.Parent.Kind != Kind {
		return nil, itsm.NewValidationError(Kind, "parent", "%s is not an incident", rec.Parent)
	}
	var b body
	if len(rec.Body) > 0 && string(rec.Body) != "null" {
		if err := json.Unmarshal(rec.Body, &b); err != nil {
			return nil, itsm.NewValidationError(Kind, "body", "%v", err)
		}
	}
	inc := &Incident{
		ID: rec.ID, Number: rec.Number, Title: rec.Title, Description: rec.Description,
		Caller: rec.Requester, Watchers: slices.Clone(rec.Watchers), Service: rec.Service,
		ConfigItems: slices.Clone(rec.ConfigItems), Category: rec.Category,
		Impact: rec.Impact, Urgency: rec.Urgency, Priority: rec.Priority, PriorityOverridden: b.PriorityOverridden,
		State: State(rec.State), StateCategory: rec.StateCategory, HoldReason: b.HoldReason,
		AssignmentGroup: rec.AssignmentGroup, Assignee: rec.Assignee,
		ResolutionCode: b.ResolutionCode, ResolutionNotes: b.ResolutionNotes, CancelReason: b.CancelReason,
		OpenedAt: rec.OpenedAt, FirstResponseAt: b.FirstResponseAt, ResolvedAt: rec.ResolvedAt,
		ClosedAt: rec.ClosedAt, UpdatedAt: rec.UpdatedAt, ReopenCount: b.ReopenCount, Major: rec.Major,
		ParentID: rec.Parent.ID, Attrs: maps.Clone(rec.Attrs), SLA: slices.Clone(rec.SLA), Version: rec.Version,
	}
	inc.Caller.Roles = slices.Clone(rec.Requester.Roles)
	return inc, nil
}
