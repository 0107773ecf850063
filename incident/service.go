package incident

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// Service is the incident management practice: it opens, works and closes
// incidents, keeps their SLA timers and links and writes the audit trail.
// Every operation validates its input, checks the lifecycle and the
// permissions, and then stores the incident, its journal, links, timers
// and one audit event per changed record in a single transaction, with an
// optimistic version check. An operation that fails changes nothing.
//
// Operations that change an incident take the version the caller last saw
// (Version fields and parameters), and fail with an *itsm.ConflictError
// when the incident has changed since. 0 skips that check: the operation
// applies to the incident as it is when it runs, and one that finds the
// incident changed by a concurrent writer between its read and its write
// runs again on what that writer left, a bounded number of times (on
// PostgreSQL, whose transactions run side by side; the other stores run
// one at a time), so that concurrent work notes all land on every store.
// A Service is safe for concurrent use.
type Service struct {
	store  record.Store
	cfg    Config
	schema *record.Schema
	links  []record.LinkType
}

// NewService returns a Service over store and declares the incident kind
// to it (NewSchema of the lifecycle and Config.Attributes). It fails with
// an *itsm.ValidationError when cfg is inconsistent (a pausing hold reason
// that is not a hold reason, a lifecycle for another kind of record,
// malformed attributes, a negative limit), and with the store's error
// when the declaration fails.
func NewService(ctx context.Context, store record.Store, cfg Config) (*Service, error) {
	if store == nil {
		return nil, itsm.NewValidationError("incident service config", "store", "is required")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	schema, err := newSchema(cfg.Lifecycle, cfg.Attributes, cfg.Limits)
	if err != nil {
		return nil, err
	}
	if err := store.Declare(ctx, schema); err != nil {
		return nil, err
	}
	return &Service{store: store, cfg: cfg, schema: schema, links: record.LinkTypes()}, nil
}

// WithStore returns a copy of the service that works on store with the
// same configuration. Use it to run operations inside a transaction the
// application already holds, through an adapter's store bound to that
// transaction (such as sqlite.Store.Join), so that the incident and the
// application's own rows commit together. store must know the incident
// kind already: a joined store shares its parent's declarations, any other
// store needs Declare(ctx, svc.Schema()).
func (s *Service) WithStore(store record.Store) *Service {
	c := *s
	c.store = store
	return &c
}

// Schema returns the record schema the service declared for incidents.
func (s *Service) Schema() *record.Schema { return s.schema }

// now reads the clock, kept to the microsecond: the precision of the SQL
// stores, so that what a call returns equals what a later read returns.
func (s *Service) now() time.Time { return s.cfg.Clock.Now().Truncate(time.Microsecond) }

// Lifecycle returns the transition table the service fires, for building
// menus (Lifecycle.Permitted) and diagrams.
func (s *Service) Lifecycle() *Lifecycle { return s.cfg.Lifecycle }

func (s *Service) linkType(name string) (record.LinkType, bool) {
	if name == record.ChildOf.Name {
		return record.ChildOf, true
	}
	i := slices.IndexFunc(s.links, func(t record.LinkType) bool { return t.Name == name })
	if i < 0 {
		return record.LinkType{}, false
	}
	return s.links[i], true
}

// OpenInput is what Open needs to log an incident.
type OpenInput struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// Caller is who reported the incident; empty means the acting actor.
	Caller      itsm.Actor   `json:"caller,omitzero"`
	Watchers    []string     `json:"watchers,omitempty"`
	Service     string       `json:"service,omitempty"`
	ConfigItems []string     `json:"config_items,omitempty"`
	Category    string       `json:"category,omitempty"`
	Impact      itsm.Impact  `json:"impact"`
	Urgency     itsm.Urgency `json:"urgency"`
	// Attrs sets custom attributes declared in Config.Attributes.
	Attrs map[string]record.Value `json:"attrs,omitempty"`
	// ParentID links the new incident to an existing parent incident.
	ParentID string `json:"parent_id,omitempty"`
	// Major flags a major incident; it needs PermFlagMajor.
	Major bool `json:"major,omitempty"`
	// OpenedAt backdates the incident (and starts its SLA timers then),
	// for a ticket logged from an earlier call or e-mail; zero means now.
	// It must not lie in the future.
	OpenedAt time.Time `json:"opened_at,omitzero"`
}

// Open logs a new incident in the lifecycle's initial state, with its
// priority from the matrix, a new number, SLA timers from the policy
// selector (response and resolution, started at OpenedAt) and an "open"
// audit event. A title (without its surrounding space) or description
// longer than Config.Limits allows is an *itsm.LimitError, returned
// before any other check.
func (s *Service) Open(ctx context.Context, actor itsm.Actor, in OpenInput) (*Incident, error) {
	if err := s.checkLimits(strings.TrimSpace(in.Title), &in.Description); err != nil {
		return nil, err
	}
	now := s.now()
	v := &itsm.ValidationError{Subject: Kind}
	requireActor(v, actor)
	if strings.TrimSpace(in.Title) == "" {
		v.Add("title", "must not be empty")
	}
	prio, err := s.cfg.Matrix.Priority(in.Impact, in.Urgency)
	if err != nil {
		var pe *itsm.ValidationError
		if errors.As(err, &pe) {
			v.Fields = append(v.Fields, pe.Fields...)
		}
	}
	if in.OpenedAt.After(now) {
		v.Add("opened_at", "lies in the future")
	}
	s.checkAttrs(v, in.Attrs)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if in.Major {
		if err := s.cfg.Permissions.Check(actor, PermFlagMajor); err != nil {
			return nil, err
		}
	}
	caller := in.Caller
	if caller.ID == "" {
		caller = actor
	}
	opened := in.OpenedAt.Truncate(time.Microsecond)
	if opened.IsZero() {
		opened = now
	}
	initial := s.cfg.Lifecycle.Initial()
	inc := &Incident{
		ID:            s.cfg.NewID(),
		Title:         strings.TrimSpace(in.Title),
		Description:   in.Description,
		Caller:        caller,
		Watchers:      slices.Clone(in.Watchers),
		Service:       in.Service,
		ConfigItems:   slices.Clone(in.ConfigItems),
		Category:      in.Category,
		Impact:        in.Impact,
		Urgency:       in.Urgency,
		Priority:      prio,
		State:         initial,
		StateCategory: s.cfg.Lifecycle.Category(initial),
		OpenedAt:      opened,
		UpdatedAt:     now,
		Major:         in.Major,
		ParentID:      in.ParentID,
		Attrs:         maps.Clone(in.Attrs),
	}
	return s.write(ctx, "incident.open", request{Actor: actor.ID, Input: in}, func(ctx context.Context, tx record.Tx) (*Incident, error) {
		if inc.ParentID != "" {
			if _, err := s.getTx(ctx, tx, inc.ParentID); err != nil {
				return nil, err
			}
		}
		seq, err := tx.NextNumber(ctx, Kind)
		if err != nil {
			return nil, err
		}
		inc.Number = s.cfg.Numbering.Format(seq)
		c := s.newChange(ctx, tx, actor, now, inc)
		c.before = &Incident{}
		c.create, c.timersLoaded = true, true
		if s.cfg.Policies != nil {
			pols, err := s.cfg.Policies.Select(ctx, inc)
			if err != nil {
				return nil, err
			}
			if err := c.startTimers(pols, inc.OpenedAt); err != nil {
				return nil, err
			}
		}
		if err := c.commit("open", ""); err != nil {
			return nil, err
		}
		return c.stored()
	})
}

// checkLimits returns the *itsm.LimitError of a title or description
// (nil: not given) longer than the service's limits allow, or nil.
func (s *Service) checkLimits(title string, description *string) error {
	rec := &record.Record{Header: record.Header{Kind: Kind, Title: title}}
	if description != nil {
		rec.Description = *description
	}
	return s.schema.Limits().CheckRecord(rec)
}

// checkAttrs adds the problems of attrs against the declared attributes
// to v. Required attributes are checked by the store, which sees the whole
// record.
func (s *Service) checkAttrs(v *itsm.ValidationError, attrs map[string]record.Value) {
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		one := map[string]record.Value{name: attrs[name]}
		var fe *itsm.ValidationError
		if err := s.schema.CheckAttrs(one); errors.As(err, &fe) {
			for _, f := range fe.Fields {
				if f.Field == "attrs."+name {
					v.Fields = append(v.Fields, f)
				}
			}
		}
	}
}

// EditInput changes the descriptive fields of an incident. Nil fields are
// left alone; a set field replaces the value (an empty slice clears a
// list). In Attrs, a zero record.Value removes the attribute.
type EditInput struct {
	Title       *string                 `json:"title,omitempty"`
	Description *string                 `json:"description,omitempty"`
	Caller      *itsm.Actor             `json:"caller,omitempty"`
	Watchers    *[]string               `json:"watchers,omitempty"`
	Service     *string                 `json:"service,omitempty"`
	ConfigItems *[]string               `json:"config_items,omitempty"`
	Category    *string                 `json:"category,omitempty"`
	Attrs       map[string]record.Value `json:"attrs,omitempty"`
	Version     int64                   `json:"version,omitempty"`
}

// Edit changes title, description, caller, watchers, service,
// configuration items, category and custom attributes, recording every
// changed field in the audit event. When a field that policy selection may
// read changes (caller, service, configuration items, category or an
// attribute), the SLA policies are selected again: timers of newly
// selected policies start now (the response timer only before the first
// response, none once resolved) and active timers of policies no longer
// selected are cancelled. Closed and canceled incidents cannot be edited.
// A title or description longer than Config.Limits allows is an
// *itsm.LimitError, returned before any other check.
func (s *Service) Edit(ctx context.Context, actor itsm.Actor, id string, in EditInput) (*Incident, error) {
	title := ""
	if in.Title != nil {
		title = strings.TrimSpace(*in.Title)
	}
	if err := s.checkLimits(title, in.Description); err != nil {
		return nil, err
	}
	v := &itsm.ValidationError{Subject: Kind}
	if in.Title != nil && strings.TrimSpace(*in.Title) == "" {
		v.Add("title", "must not be empty")
	}
	if in.Caller != nil && in.Caller.ID == "" {
		v.Add("caller.id", "must not be empty")
	}
	set := map[string]record.Value{}
	for k, val := range in.Attrs {
		if !val.IsZero() {
			set[k] = val
		} else if _, ok := s.schema.Attribute(k); !ok {
			v.Add("attrs."+k, "is not an attribute of %s records", Kind)
		}
	}
	s.checkAttrs(v, set)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s.update(ctx, actor, id, in.Version, "edit", "", in, func(c *change) error {
		if c.s.cfg.Lifecycle.IsTerminal(c.inc.State) {
			return itsm.NewValidationError(Kind, "state", "a %s incident cannot be edited", c.inc.State)
		}
		inc := c.inc
		if in.Title != nil {
			inc.Title = strings.TrimSpace(*in.Title)
		}
		if in.Description != nil {
			inc.Description = *in.Description
		}
		if in.Caller != nil {
			inc.Caller = *in.Caller
			inc.Caller.Roles = slices.Clone(in.Caller.Roles)
		}
		if in.Watchers != nil {
			inc.Watchers = slices.Clone(*in.Watchers)
		}
		if in.Service != nil {
			inc.Service = *in.Service
		}
		if in.ConfigItems != nil {
			inc.ConfigItems = slices.Clone(*in.ConfigItems)
		}
		if in.Category != nil {
			inc.Category = *in.Category
		}
		for k, val := range in.Attrs {
			if val.IsZero() {
				delete(inc.Attrs, k)
				continue
			}
			if inc.Attrs == nil {
				inc.Attrs = map[string]record.Value{}
			}
			inc.Attrs[k] = val
		}
		b := c.before
		selecting := b.Caller.ID != inc.Caller.ID || b.Service != inc.Service || b.Category != inc.Category ||
			!slices.Equal(b.ConfigItems, inc.ConfigItems) || !maps.Equal(b.Attrs, inc.Attrs)
		if !selecting {
			return nil
		}
		return c.reselect()
	})
}

// AssignInput names who works on an incident. At least one of the three
// fields must be set.
type AssignInput struct {
	// AssignmentGroup, when set, becomes the group. A new group clears the
	// assignee unless Assignee names one.
	AssignmentGroup string `json:"assignment_group,omitempty"`
	// Assignee, when set, becomes the assignee.
	Assignee string `json:"assignee,omitempty"`
	// ClearAssignee takes the assignee off (the group keeps the incident);
	// it cannot be combined with Assignee.
	ClearAssignee bool  `json:"clear_assignee,omitempty"`
	Version       int64 `json:"version,omitempty"`
}

// Assign sets the assignment group and assignee and fires the assign
// action: a new incident moves to In Progress. The first assignment stops
// the response timers.
func (s *Service) Assign(ctx context.Context, actor itsm.Actor, id string, in AssignInput) (*Incident, error) {
	switch {
	case in.AssignmentGroup == "" && in.Assignee == "" && !in.ClearAssignee:
		return nil, itsm.NewValidationError(Kind, "assignee", "an assignee, an assignment group or clear_assignee is required")
	case in.Assignee != "" && in.ClearAssignee:
		return nil, itsm.NewValidationError(Kind, "clear_assignee", "cannot be combined with an assignee")
	}
	return s.update(ctx, actor, id, in.Version, ActAssign, "", in, func(c *change) error {
		if in.AssignmentGroup != "" && in.AssignmentGroup != c.inc.AssignmentGroup {
			c.inc.AssignmentGroup = in.AssignmentGroup
			c.inc.Assignee = ""
		}
		if in.Assignee != "" {
			c.inc.Assignee = in.Assignee
		}
		if in.ClearAssignee {
			c.inc.Assignee = ""
		}
		if err := c.fire(ActAssign); err != nil {
			return err
		}
		return c.respond()
	})
}

// StartWork fires the start action: a new incident moves to In Progress.
// An unassigned incident is assigned to the acting actor, which needs what
// the lifecycle's assign action needs of the actor (its roles and guards):
// otherwise StartWork fails with the assign action's refusal and changes
// nothing. It stops the response timers.
func (s *Service) StartWork(ctx context.Context, actor itsm.Actor, id string, version int64) (*Incident, error) {
	return s.update(ctx, actor, id, version, ActStart, "", nil, func(c *change) error {
		if err := c.assignImplicitly(actor.ID, ""); err != nil {
			return err
		}
		if err := c.fire(ActStart); err != nil {
			return err
		}
		return c.respond()
	})
}

// HoldInput says why an incident waits.
type HoldInput struct {
	Reason HoldReason `json:"reason"`
	// Note is kept as the audit event's reason.
	Note    string `json:"note,omitempty"`
	Version int64  `json:"version,omitempty"`
}

// Hold puts an incident on hold for one of Config.HoldReasons. For a
// pausing reason (Config.PausingHoldReasons) the resolution timers pause.
func (s *Service) Hold(ctx context.Context, actor itsm.Actor, id string, in HoldInput) (*Incident, error) {
	if in.Reason != "" && !slices.Contains(s.cfg.HoldReasons, in.Reason) {
		return nil, itsm.NewValidationError(Kind, "hold_reason", "%q is not a hold reason", in.Reason)
	}
	return s.update(ctx, actor, id, in.Version, ActHold, in.Note, in, func(c *change) error {
		c.inc.HoldReason = in.Reason
		if err := c.fire(ActHold); err != nil {
			return err
		}
		if !slices.Contains(c.s.cfg.PausingHoldReasons, in.Reason) {
			return nil
		}
		return c.eachTimer(sla.MetricResolution, func(t *sla.Timer, st sla.Status) error {
			if st.Active() && !st.Paused {
				return t.Pause(c.now, string(in.Reason))
			}
			return nil
		})
	})
}

// Resume takes an incident off hold and resumes paused resolution timers.
func (s *Service) Resume(ctx context.Context, actor itsm.Actor, id string, version int64) (*Incident, error) {
	return s.update(ctx, actor, id, version, ActResume, "", nil, func(c *change) error {
		if err := c.fire(ActResume); err != nil {
			return err
		}
		c.inc.HoldReason = ""
		return c.resumeTimers()
	})
}

// ResolveInput records how an incident was resolved.
type ResolveInput struct {
	Code    ResolutionCode `json:"code"`
	Notes   string         `json:"notes"`
	Version int64          `json:"version,omitempty"`
}

// Resolve records the resolution and fires the resolve action; a major
// incident needs PermMajorIncident. Response and resolution timers stop.
// The incidents linked to it by a link type that cascades resolution (its
// open children and its duplicates) are resolved in the same transaction
// with its resolution (one still in the initial state is started first),
// except major ones the actor may not resolve; if one of them cannot be
// resolved, nothing is.
func (s *Service) Resolve(ctx context.Context, actor itsm.Actor, id string, in ResolveInput) (*Incident, error) {
	if in.Code != "" && len(s.cfg.ResolutionCodes) > 0 && !slices.Contains(s.cfg.ResolutionCodes, in.Code) {
		return nil, itsm.NewValidationError(Kind, "resolution_code", "%q is not a resolution code", in.Code)
	}
	return s.update(ctx, actor, id, in.Version, ActResolve, "", in, func(c *change) error {
		if err := c.resolve(in.Code, strings.TrimSpace(in.Notes)); err != nil {
			return err
		}
		return c.resolveCascade(map[string]bool{})
	})
}

// ReopenInput says why a resolved incident is reopened.
type ReopenInput struct {
	Reason  string `json:"reason"`
	Version int64  `json:"version,omitempty"`
}

// Reopen moves a resolved incident back to work within Config.ReopenWindow
// of its resolution, counts the reopen, clears the resolution and starts a
// new cycle of its resolution timers. A reason is required.
func (s *Service) Reopen(ctx context.Context, actor itsm.Actor, id string, in ReopenInput) (*Incident, error) {
	if strings.TrimSpace(in.Reason) == "" {
		return nil, itsm.NewValidationError(Kind, "reason", "a reopen needs a reason")
	}
	return s.update(ctx, actor, id, in.Version, ActReopen, in.Reason, in, func(c *change) error {
		w := c.s.cfg.ReopenWindow
		if w >= 0 && !c.inc.ResolvedAt.IsZero() && c.now.Sub(c.inc.ResolvedAt) > w {
			return &itsm.TransitionError{Kind: Kind, ID: c.inc.Number, State: string(c.inc.State), Action: string(ActReopen),
				Unmet: []itsm.GuardFailure{{Guard: "reopen-window", Reason: "resolved more than " + w.String() + " ago"}}}
		}
		if err := c.fire(ActReopen); err != nil {
			return err
		}
		c.inc.ReopenCount++
		c.inc.ResolvedAt = time.Time{}
		c.inc.ResolutionCode = ""
		c.inc.ResolutionNotes = ""
		return c.eachTimer(sla.MetricResolution, func(t *sla.Timer, st sla.Status) error {
			p, err := c.s.cfg.Policies.Policy(c.ctx, t.Policy())
			if err != nil {
				return err
			}
			tg, ok := p.Target(sla.MetricResolution, c.inc.Priority)
			if !ok {
				return nil
			}
			return t.Reset(c.now, tg, c.inc.Priority, "reopened: "+in.Reason)
		})
	})
}

// Close fires the close action on a resolved incident; a major incident
// needs PermMajorIncident.
func (s *Service) Close(ctx context.Context, actor itsm.Actor, id string, version int64) (*Incident, error) {
	return s.update(ctx, actor, id, version, ActClose, "", nil, func(c *change) error { return c.close() })
}

// CancelInput says why an incident is canceled.
type CancelInput struct {
	Reason  string `json:"reason"`
	Version int64  `json:"version,omitempty"`
}

// Cancel fires the cancel action (for an incident logged in error or a
// duplicate) and cancels every active SLA timer. A reason is required; a
// major incident needs PermMajorIncident.
func (s *Service) Cancel(ctx context.Context, actor itsm.Actor, id string, in CancelInput) (*Incident, error) {
	return s.update(ctx, actor, id, in.Version, ActCancel, in.Reason, in, func(c *change) error {
		if err := c.checkMajor(); err != nil {
			return err
		}
		c.inc.CancelReason = strings.TrimSpace(in.Reason)
		if err := c.fire(ActCancel); err != nil {
			return err
		}
		return c.eachTimer("", func(t *sla.Timer, st sla.Status) error {
			if st.Active() {
				return t.Cancel(c.now, "incident canceled")
			}
			return nil
		})
	})
}

// AddComment adds a public comment to the journal. The first comment by
// someone Config.Responder counts (by default the assignee, or a member
// of the assignment group), other than the caller, is the first response
// and stops the response timers. A comment by the caller on an incident
// on hold for one of Config.CallerReplyResumes resumes it (and its paused
// timers). Closed and canceled incidents take no comments.
//
// A text longer than Config.Limits.JournalEntry allows (without its
// surrounding space) is an *itsm.LimitError for field "text", returned
// before anything else is checked; a journal that holds
// Config.Limits.JournalEntries entries takes no more, which the store
// refuses with an *itsm.LimitError for field "journal". Either changes
// nothing.
func (s *Service) AddComment(ctx context.Context, actor itsm.Actor, id, text string) (*Incident, error) {
	return s.addEntry(ctx, actor, id, Comment, text)
}

// AddWorkNote adds an internal work note to the journal. Closed and
// canceled incidents take no notes. Its limits are AddComment's.
func (s *Service) AddWorkNote(ctx context.Context, actor itsm.Actor, id, text string) (*Incident, error) {
	return s.addEntry(ctx, actor, id, WorkNote, text)
}

func (s *Service) addEntry(ctx context.Context, actor itsm.Actor, id string, kind EntryKind, text string) (*Incident, error) {
	text = strings.TrimSpace(text)
	if limit := s.schema.Limits().JournalEntry; len(text) > limit {
		return nil, &itsm.LimitError{Subject: Kind, Field: "text", Limit: limit, Size: len(text), Unit: "bytes"}
	}
	if text == "" {
		return nil, itsm.NewValidationError(Kind, "text", "must not be empty")
	}
	return s.update(ctx, actor, id, 0, Action(kind), "", text, func(c *change) error {
		if c.s.cfg.Lifecycle.IsTerminal(c.inc.State) {
			return itsm.NewValidationError(Kind, "state", "a %s incident takes no %s", c.inc.State, strings.ReplaceAll(string(kind), "_", " "))
		}
		c.entries = append(c.entries, Entry{Kind: kind, Author: actor.ID, At: c.now, Text: text})
		if kind != Comment {
			return nil
		}
		if actor.ID != c.inc.Caller.ID {
			if !c.s.cfg.Responder(actor, c.inc) {
				return nil
			}
			return c.respond()
		}
		if c.inc.HoldReason == "" || !slices.Contains(c.s.cfg.CallerReplyResumes, c.inc.HoldReason) {
			return nil
		}
		if _, ok := c.s.cfg.Lifecycle.Target(c.inc.State, ActResume); !ok {
			return nil
		}
		if err := c.fire(ActResume); err != nil {
			return err
		}
		c.inc.HoldReason = ""
		return c.resumeTimers()
	})
}

// PriorityInput changes how urgent an incident is. Impact and Urgency,
// when set, replace the current values. Priority, when set, overrides the
// matrix: it needs PermSetPriority and a Reason. When Priority is zero the
// priority is derived from the matrix again and any override is dropped;
// dropping one needs PermSetPriority too, so that an actor without it can
// change impact and urgency only of an incident whose priority nobody
// fixed by hand.
type PriorityInput struct {
	Impact   itsm.Impact   `json:"impact,omitempty"`
	Urgency  itsm.Urgency  `json:"urgency,omitempty"`
	Priority itsm.Priority `json:"priority,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	Version  int64         `json:"version,omitempty"`
}

// SetPriority changes impact, urgency or priority. When the priority
// changes, active timers are retargeted to the policy's target for the
// new priority; elapsed time is kept.
func (s *Service) SetPriority(ctx context.Context, actor itsm.Actor, id string, in PriorityInput) (*Incident, error) {
	if in.Priority != 0 {
		v := &itsm.ValidationError{Subject: Kind}
		if !in.Priority.Valid() {
			v.Add("priority", "%d is outside 1..5", int(in.Priority))
		}
		if strings.TrimSpace(in.Reason) == "" {
			v.Add("reason", "a priority override needs a reason")
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
		if err := s.cfg.Permissions.Check(actor, PermSetPriority); err != nil {
			return nil, err
		}
	}
	return s.update(ctx, actor, id, in.Version, "set_priority", in.Reason, in, func(c *change) error {
		if c.s.cfg.Lifecycle.IsTerminal(c.inc.State) {
			return itsm.NewValidationError(Kind, "state", "the priority of a %s incident is final", c.inc.State)
		}
		if in.Impact != 0 {
			c.inc.Impact = in.Impact
		}
		if in.Urgency != 0 {
			c.inc.Urgency = in.Urgency
		}
		derived, err := c.s.cfg.Matrix.Priority(c.inc.Impact, c.inc.Urgency)
		if err != nil {
			return err
		}
		if in.Priority == 0 && c.inc.PriorityOverridden {
			if err := c.s.cfg.Permissions.Check(c.actor, PermSetPriority); err != nil {
				return fmt.Errorf("dropping the priority override of %s: %w", c.inc.Number, err)
			}
		}
		if in.Priority != 0 {
			c.inc.Priority, c.inc.PriorityOverridden = in.Priority, true
		} else {
			c.inc.Priority, c.inc.PriorityOverridden = derived, false
		}
		if c.inc.Priority == c.before.Priority {
			return nil
		}
		return c.eachTimer("", func(t *sla.Timer, st sla.Status) error {
			if !st.Active() {
				return nil
			}
			p, err := c.s.cfg.Policies.Policy(c.ctx, t.Policy())
			if err != nil {
				return err
			}
			return t.RetargetPriority(c.now, p, c.inc.Priority, "priority "+c.before.Priority.Label()+" → "+c.inc.Priority.Label())
		})
	})
}

// SetMajor flags or unflags a major incident; it needs PermFlagMajor and a
// reason.
func (s *Service) SetMajor(ctx context.Context, actor itsm.Actor, id string, major bool, reason string, version int64) (*Incident, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, itsm.NewValidationError(Kind, "reason", "changing the major flag needs a reason")
	}
	if err := s.cfg.Permissions.Check(actor, PermFlagMajor); err != nil {
		return nil, err
	}
	return s.update(ctx, actor, id, version, "set_major", reason, struct {
		Major  bool   `json:"major"`
		Reason string `json:"reason"`
	}{major, reason}, func(c *change) error {
		if c.s.cfg.Lifecycle.IsTerminal(c.inc.State) {
			return itsm.NewValidationError(Kind, "state", "a %s incident cannot change its major flag", c.inc.State)
		}
		c.inc.Major = major
		return nil
	})
}

// LinkInput links an incident to other records; empty fields are left
// alone, and a link already present is not repeated.
type LinkInput struct {
	// ParentID makes the incident a child of another incident, which must
	// exist and must not be the incident itself or one of its
	// descendants.
	ParentID string `json:"parent_id,omitempty"`
	// ProblemID links the problem record that causes the incident
	// (record.CausedBy, to kind "problem").
	ProblemID string `json:"problem_id,omitempty"`
	// ChangeID links the change record that fixes the incident
	// (record.FixedBy, to kind "change").
	ChangeID string `json:"change_id,omitempty"`
	// DuplicateOf marks the incident as a duplicate of another incident
	// (record.DuplicateOf): resolving the original resolves it.
	DuplicateOf string `json:"duplicate_of,omitempty"`
	// Related links any other records (record.RelatedTo).
	Related []record.Ref `json:"related,omitempty"`
	Version int64        `json:"version,omitempty"`
}

func (in LinkInput) empty() bool {
	return in.ParentID == "" && in.ProblemID == "" && in.ChangeID == "" && in.DuplicateOf == "" && len(in.Related) == 0
}

// links returns the stored links LinkInput names, from the incident id.
func (in LinkInput) links(id string) []record.Link {
	from := record.Ref{Kind: Kind, ID: id}
	var out []record.Link
	add := func(t record.LinkType, to record.Ref) {
		out = append(out, record.Link{Type: t.Name, From: from, To: to})
	}
	if in.ProblemID != "" {
		add(record.CausedBy, record.Ref{Kind: "problem", ID: in.ProblemID})
	}
	if in.ChangeID != "" {
		add(record.FixedBy, record.Ref{Kind: "change", ID: in.ChangeID})
	}
	if in.DuplicateOf != "" {
		add(record.DuplicateOf, record.Ref{Kind: Kind, ID: in.DuplicateOf})
	}
	for _, r := range in.Related {
		add(record.RelatedTo, r)
	}
	return out
}

// Link sets the parent incident and adds links to problems, changes, an
// original incident and related records. Every linked record must be
// stored; a link that would close a cycle of its type (an incident
// duplicating its own duplicate) is refused. Each link is audited on both
// ends: a "link" change on the incident and a "link" event on the other
// record.
func (s *Service) Link(ctx context.Context, actor itsm.Actor, id string, in LinkInput) (*Incident, error) {
	if in.empty() {
		return nil, itsm.NewValidationError(Kind, "link", "name a parent, a problem, a change, an original or related records")
	}
	return s.update(ctx, actor, id, in.Version, "link", "", in, func(c *change) error {
		if in.ParentID != "" {
			if err := c.checkParent(in.ParentID); err != nil {
				return err
			}
			c.inc.ParentID = in.ParentID
		}
		links := in.links(c.inc.ID)
		if len(links) == 0 {
			return nil
		}
		existing, err := c.tx.Links(c.ctx, c.inc.Ref())
		if err != nil {
			return err
		}
		for _, l := range links {
			if err := c.link(l, existing); err != nil {
				return err
			}
		}
		return nil
	})
}

// Unlink removes links LinkInput names (ParentID: when it is the current
// parent, the incident stops being its child). A link that is not stored
// is an *itsm.NotFoundError, and then nothing is removed. Each removal is
// audited on both ends.
func (s *Service) Unlink(ctx context.Context, actor itsm.Actor, id string, in LinkInput) (*Incident, error) {
	if in.empty() {
		return nil, itsm.NewValidationError(Kind, "link", "name a parent, a problem, a change, an original or related records")
	}
	return s.update(ctx, actor, id, in.Version, "unlink", "", in, func(c *change) error {
		if in.ParentID != "" {
			if c.inc.ParentID != in.ParentID {
				return &itsm.NotFoundError{Kind: "parent", ID: in.ParentID}
			}
			c.inc.ParentID = ""
		}
		links := in.links(c.inc.ID)
		if len(links) == 0 {
			return nil
		}
		existing, err := c.tx.Links(c.ctx, c.inc.Ref())
		if err != nil {
			return err
		}
		for _, l := range links {
			if err := c.unlink(l, existing); err != nil {
				return err
			}
		}
		return nil
	})
}

// Get returns the incident with id, with its journal, links and SLA
// summary, or an error matching itsm.ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (*Incident, error) {
	inc, err := s.getTx(ctx, s.store, id)
	if err != nil {
		return nil, err
	}
	return s.fill(ctx, s.store, inc)
}

// GetByNumber returns the incident with number, such as "INC0001001", like
// Get.
func (s *Service) GetByNumber(ctx context.Context, number string) (*Incident, error) {
	rec, err := s.store.GetByNumber(ctx, Kind, number)
	if err != nil {
		return nil, err
	}
	inc, err := FromRecord(rec)
	if err != nil {
		return nil, err
	}
	return s.fill(ctx, s.store, inc)
}

// Query selects incidents for List: the record core's query (see
// record.Query for every filter and its exact semantics). List sets its
// Kind; States take the lifecycle's state names.
type Query = record.Query

// Page is one page of List results, in the query's order.
type Page struct {
	// Incidents carry their SLA summary but not their journal or links.
	Incidents []*Incident
	// Next is the cursor for the following page; empty on the last page.
	Next string
}

// List returns one page of incidents matching q. It sets q.Kind to Kind;
// the SLA filters are judged at the service clock's now unless q.Now is
// set. An unknown state or attribute, or a malformed cursor, is an
// *itsm.ValidationError.
func (s *Service) List(ctx context.Context, q Query) (Page, error) {
	return s.list(ctx, s.store, q)
}

func (s *Service) list(ctx context.Context, r record.Reader, q Query) (Page, error) {
	q.Kind = Kind
	if q.Now.IsZero() {
		q.Now = s.now()
	}
	page, err := r.List(ctx, q)
	if err != nil {
		return Page{}, err
	}
	out := Page{Next: page.Next, Incidents: make([]*Incident, len(page.Records))}
	for i, rec := range page.Records {
		if out.Incidents[i], err = FromRecord(rec); err != nil {
			return Page{}, err
		}
	}
	return out, nil
}

// Children returns the child incidents of the incident with id, oldest
// first: none for an ID no incident has. An empty id is an
// *itsm.ValidationError, on every store.
func (s *Service) Children(ctx context.Context, id string) ([]*Incident, error) {
	return s.children(ctx, s.store, id)
}

func (s *Service) children(ctx context.Context, r record.Reader, id string) ([]*Incident, error) {
	q := Query{Parent: record.Ref{Kind: Kind, ID: id}, Limit: record.MaxPageSize}
	var out []*Incident
	for {
		page, err := s.list(ctx, r, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Incidents...)
		if page.Next == "" {
			return out, nil
		}
		q.After = page.Next
	}
}

// History returns the audit trail of the incident with id, oldest first.
// Besides the service's own events it holds the SLA crossings the store
// recorded (by itsm.System, at the crossing instant; decode them with
// storage.CrossingFromEvent): those a timer had reached when the service
// saved it, appended just before the event of the change that saved it,
// and those a wake-up worker recorded later. Subscribers get them from
// the outbox like every event, after the commit, and may call the
// service; nothing is delivered inside a transaction.
func (s *Service) History(ctx context.Context, id string) ([]itsm.Event, error) {
	if _, err := s.getTx(ctx, s.store, id); err != nil {
		return nil, err
	}
	return s.store.History(ctx, record.Ref{Kind: Kind, ID: id})
}

// TimerStatus is one SLA timer of an incident with its status.
type TimerStatus struct {
	Record record.TimerRecord
	Status sla.Status
}

// SLA returns the SLA timers of the incident with id and their status at
// the service clock's now, in the order they were created.
func (s *Service) SLA(ctx context.Context, id string) ([]TimerStatus, error) {
	if _, err := s.getTx(ctx, s.store, id); err != nil {
		return nil, err
	}
	recs, err := s.store.Timers(ctx, record.Ref{Kind: Kind, ID: id})
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]TimerStatus, 0, len(recs))
	for _, r := range recs {
		if err := s.bind(r.Timer); err != nil {
			return nil, err
		}
		out = append(out, TimerStatus{Record: r, Status: r.Timer.Status(now)})
	}
	return out, nil
}

// CloseResolved closes every resolved incident that is not major and whose
// resolution is at least Config.AutoCloseDays business days old on
// Config.AutoCloseCalendar (its deadline is the close of that many open
// days after the resolution date). It reads them oldest resolution first
// (a List in record.ByResolved order of the resolved state category), acts
// as itsm.System, one incident per transaction, and returns how many it
// closed. Schedule it as a job; it is safe to run concurrently with itself
// (a lost race is skipped). It is idempotent by nature and ignores any
// idempotency key ctx carries, which could name only one of its writes.
func (s *Service) CloseResolved(ctx context.Context) (int, error) {
	ctx = itsm.WithIdempotencyKey(ctx, "")
	if s.cfg.AutoCloseDays < 0 {
		return 0, nil
	}
	notMajor := false
	closed := 0
	now := s.now()
	q := Query{StateCategories: []itsm.StateCategory{itsm.CategoryResolved}, Major: &notMajor,
		Resolved: record.Range{To: now}, Order: record.ByResolved, Limit: 100}
	for {
		page, err := s.List(ctx, q)
		if err != nil {
			return closed, err
		}
		for _, inc := range page.Incidents {
			due := s.cfg.AutoCloseCalendar.AddDays(inc.ResolvedAt, s.cfg.AutoCloseDays)
			if now.Before(due) {
				// Deadlines grow with the resolution time, so no later
				// incident is due either.
				return closed, nil
			}
			_, err := s.update(ctx, itsm.System, inc.ID, inc.Version, ActClose, "resolved for "+
				strconv.Itoa(s.cfg.AutoCloseDays)+" business days", nil, func(c *change) error { return c.close() })
			switch {
			case err == nil:
				closed++
			case errors.Is(err, itsm.ErrConflict):
				// Changed meanwhile: it is no longer what this pass saw.
			default:
				return closed, err
			}
		}
		if page.Next == "" {
			return closed, nil
		}
		q.After = page.Next
	}
}

func (s *Service) bind(t *sla.Timer) error {
	if t.Calendar() != nil {
		return nil
	}
	return t.Bind(s.cfg.Calendars)
}

func requireActor(v *itsm.ValidationError, actor itsm.Actor) {
	if actor.ID == "" {
		v.Add("actor.id", "must not be empty")
	}
}
