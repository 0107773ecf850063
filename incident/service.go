package incident

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
)

// Service is the incident management practice: it opens, works and closes
// incidents, keeps their SLA timers and writes the audit trail. Every
// operation validates its input, checks the lifecycle and the permissions,
// and then stores the incident, its timers and one audit event per changed
// incident in a single transaction, with an optimistic version check. An
// operation that fails changes nothing.
//
// Operations that change an incident take the version the caller last saw
// (Version fields and parameters); 0 skips that check, but concurrent
// writers are still detected inside the transaction. A Service is safe for
// concurrent use.
type Service struct {
	store Store
	cfg   Config
}

// NewService returns a Service over store. It fails with an
// *itsm.ValidationError when cfg is inconsistent (a pausing hold reason
// that is not a hold reason, a lifecycle for another kind of record).
func NewService(store Store, cfg Config) (*Service, error) {
	if store == nil {
		return nil, itsm.NewValidationError("incident service config", "store", "is required")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Service{store: store, cfg: cfg}, nil
}

// WithStore returns a copy of the service that works on store with the
// same configuration. Use it to run operations inside a transaction the
// application already holds, through an adapter's store bound to that
// transaction (such as sqlite.Store.Join), so that the incident and the
// application's own rows commit together.
func (s *Service) WithStore(store Store) *Service {
	c := *s
	c.store = store
	return &c
}

// now reads the clock, kept to the microsecond: the precision of the SQL
// stores, so that what a call returns equals what a later read returns.
func (s *Service) now() time.Time { return s.cfg.Clock.Now().Truncate(time.Microsecond) }

// Lifecycle returns the transition table the service fires, for building
// menus (Lifecycle.Permitted) and diagrams.
func (s *Service) Lifecycle() *Lifecycle { return s.cfg.Lifecycle }

// OpenInput is what Open needs to log an incident.
type OpenInput struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// Caller is who reported the incident; empty means the acting actor.
	Caller     itsm.Actor   `json:"caller,omitzero"`
	Service    string       `json:"service,omitempty"`
	ConfigItem string       `json:"config_item,omitempty"`
	Category   string       `json:"category,omitempty"`
	Impact     itsm.Impact  `json:"impact"`
	Urgency    itsm.Urgency `json:"urgency"`
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
// audit event.
func (s *Service) Open(ctx context.Context, actor itsm.Actor, in OpenInput) (*Incident, error) {
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
	inc := &Incident{
		ID:          s.cfg.NewID(),
		Title:       strings.TrimSpace(in.Title),
		Description: in.Description,
		Caller:      caller,
		Service:     in.Service,
		ConfigItem:  in.ConfigItem,
		Category:    in.Category,
		Impact:      in.Impact,
		Urgency:     in.Urgency,
		Priority:    prio,
		State:       s.cfg.Lifecycle.Initial(),
		OpenedAt:    opened,
		UpdatedAt:   now,
		Major:       in.Major,
		ParentID:    in.ParentID,
	}
	var out *Incident
	err = s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		if inc.ParentID != "" {
			if _, err := tx.Get(ctx, inc.ParentID); err != nil {
				return err
			}
		}
		seq, err := tx.NextNumber(ctx, Kind)
		if err != nil {
			return err
		}
		inc.Number = s.cfg.Numbering.Format(seq)
		c := s.newChange(ctx, tx, actor, now, inc)
		c.before = &Incident{}
		c.timersLoaded = true
		if err := c.startTimers(); err != nil {
			return err
		}
		if err := tx.Create(ctx, inc); err != nil {
			return err
		}
		if err := c.saveTimers(); err != nil {
			return err
		}
		if err := tx.AppendEvents(ctx, c.event("open", "")); err != nil {
			return err
		}
		out = inc.Clone()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AssignInput names who works on an incident; at least one of the two
// must be set.
type AssignInput struct {
	AssignmentGroup string `json:"assignment_group,omitempty"`
	Assignee        string `json:"assignee,omitempty"`
	Version         int64  `json:"version,omitempty"`
}

// Assign sets the assignment group and assignee (fields left empty keep
// their value) and fires the assign action: a new incident moves to In
// Progress. The first assignment stops the response timers.
func (s *Service) Assign(ctx context.Context, actor itsm.Actor, id string, in AssignInput) (*Incident, error) {
	if in.AssignmentGroup == "" && in.Assignee == "" {
		return nil, itsm.NewValidationError(Kind, "assignee", "an assignee or an assignment group is required")
	}
	return s.update(ctx, actor, id, in.Version, ActAssign, "", func(c *change) error {
		if in.AssignmentGroup != "" {
			c.inc.AssignmentGroup = in.AssignmentGroup
		}
		if in.Assignee != "" {
			c.inc.Assignee = in.Assignee
		}
		if err := c.fire(ActAssign); err != nil {
			return err
		}
		return c.respond()
	})
}

// StartWork fires the start action: a new incident moves to In Progress.
// An unassigned incident is assigned to the acting actor. It stops the
// response timers.
func (s *Service) StartWork(ctx context.Context, actor itsm.Actor, id string, version int64) (*Incident, error) {
	return s.update(ctx, actor, id, version, ActStart, "", func(c *change) error {
		if c.inc.Assignee == "" && c.inc.AssignmentGroup == "" {
			c.inc.Assignee = actor.ID
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
	return s.update(ctx, actor, id, in.Version, ActHold, in.Note, func(c *change) error {
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
	return s.update(ctx, actor, id, version, ActResume, "", func(c *change) error {
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

// Resolve records the resolution and fires the resolve action. Response
// and resolution timers stop. Open child incidents are resolved in the
// same transaction with the parent's resolution (a child still in the
// initial state is started first); if one of them cannot be resolved,
// nothing is.
func (s *Service) Resolve(ctx context.Context, actor itsm.Actor, id string, in ResolveInput) (*Incident, error) {
	if in.Code != "" && len(s.cfg.ResolutionCodes) > 0 && !slices.Contains(s.cfg.ResolutionCodes, in.Code) {
		return nil, itsm.NewValidationError(Kind, "resolution_code", "%q is not a resolution code", in.Code)
	}
	return s.update(ctx, actor, id, in.Version, ActResolve, "", func(c *change) error {
		if err := c.resolve(in.Code, strings.TrimSpace(in.Notes)); err != nil {
			return err
		}
		return c.resolveChildren()
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
	return s.update(ctx, actor, id, in.Version, ActReopen, in.Reason, func(c *change) error {
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

// Close fires the close action on a resolved incident.
func (s *Service) Close(ctx context.Context, actor itsm.Actor, id string, version int64) (*Incident, error) {
	return s.update(ctx, actor, id, version, ActClose, "", func(c *change) error { return c.close() })
}

// CancelInput says why an incident is canceled.
type CancelInput struct {
	Reason  string `json:"reason"`
	Version int64  `json:"version,omitempty"`
}

// Cancel fires the cancel action (for an incident logged in error or a
// duplicate) and cancels every active SLA timer. A reason is required.
func (s *Service) Cancel(ctx context.Context, actor itsm.Actor, id string, in CancelInput) (*Incident, error) {
	return s.update(ctx, actor, id, in.Version, ActCancel, in.Reason, func(c *change) error {
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
// someone other than the caller is the first response and stops the
// response timers. Closed and canceled incidents take no comments.
func (s *Service) AddComment(ctx context.Context, actor itsm.Actor, id, text string) (*Incident, error) {
	return s.addEntry(ctx, actor, id, Comment, text)
}

// AddWorkNote adds an internal work note to the journal. Closed and
// canceled incidents take no notes.
func (s *Service) AddWorkNote(ctx context.Context, actor itsm.Actor, id, text string) (*Incident, error) {
	return s.addEntry(ctx, actor, id, WorkNote, text)
}

func (s *Service) addEntry(ctx context.Context, actor itsm.Actor, id string, kind EntryKind, text string) (*Incident, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, itsm.NewValidationError(Kind, "text", "must not be empty")
	}
	return s.update(ctx, actor, id, 0, Action(kind), "", func(c *change) error {
		if c.s.cfg.Lifecycle.IsTerminal(c.inc.State) {
			return itsm.NewValidationError(Kind, "state", "a %s incident takes no %s", c.inc.State, strings.ReplaceAll(string(kind), "_", " "))
		}
		c.inc.Journal = append(c.inc.Journal, Entry{Kind: kind, Author: actor.ID, At: c.now, Text: text})
		if kind == Comment && actor.ID != c.inc.Caller.ID {
			return c.respond()
		}
		return nil
	})
}

// PriorityInput changes how urgent an incident is. Impact and Urgency,
// when set, replace the current values. Priority, when set, overrides the
// matrix: it needs PermSetPriority and a Reason. When Priority is zero the
// priority is derived from the matrix again and any override is dropped.
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
	return s.update(ctx, actor, id, in.Version, "set_priority", in.Reason, func(c *change) error {
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
	return s.update(ctx, actor, id, version, "set_major", reason, func(c *change) error {
		if c.s.cfg.Lifecycle.IsTerminal(c.inc.State) {
			return itsm.NewValidationError(Kind, "state", "a %s incident cannot change its major flag", c.inc.State)
		}
		c.inc.Major = major
		return nil
	})
}

// LinkInput links an incident to a parent incident, a problem or a
// change; empty fields are left alone.
type LinkInput struct {
	ParentID  string `json:"parent_id,omitempty"`
	ProblemID string `json:"problem_id,omitempty"`
	ChangeID  string `json:"change_id,omitempty"`
	Version   int64  `json:"version,omitempty"`
}

// Link sets the parent incident (which must exist and must not be the
// incident itself or one of its descendants) and adds problem and change
// links (a link already present is not repeated).
func (s *Service) Link(ctx context.Context, actor itsm.Actor, id string, in LinkInput) (*Incident, error) {
	if in == (LinkInput{Version: in.Version}) {
		return nil, itsm.NewValidationError(Kind, "link", "name a parent, a problem or a change")
	}
	return s.update(ctx, actor, id, in.Version, "link", "", func(c *change) error {
		if in.ParentID != "" {
			if err := c.checkParent(in.ParentID); err != nil {
				return err
			}
			c.inc.ParentID = in.ParentID
		}
		if in.ProblemID != "" && !slices.Contains(c.inc.ProblemIDs, in.ProblemID) {
			c.inc.ProblemIDs = append(c.inc.ProblemIDs, in.ProblemID)
		}
		if in.ChangeID != "" && !slices.Contains(c.inc.ChangeIDs, in.ChangeID) {
			c.inc.ChangeIDs = append(c.inc.ChangeIDs, in.ChangeID)
		}
		return nil
	})
}

// Get returns the incident with id, or an error matching itsm.ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (*Incident, error) { return s.store.Get(ctx, id) }

// GetByNumber returns the incident with number, such as "INC0001001".
func (s *Service) GetByNumber(ctx context.Context, number string) (*Incident, error) {
	return s.store.GetByNumber(ctx, number)
}

// List returns one page of incidents matching q; Breached and AtRisk are
// judged at the service clock's now unless q.Now is set.
func (s *Service) List(ctx context.Context, q Query) (Page, error) {
	if q.Now.IsZero() {
		q.Now = s.now()
	}
	if q.After != "" {
		if _, err := ParseCursor(q.After); err != nil {
			return Page{}, err
		}
	}
	return s.store.List(ctx, q)
}

// History returns the audit trail of the incident with id, oldest first.
func (s *Service) History(ctx context.Context, id string) ([]itsm.Event, error) {
	if _, err := s.store.Get(ctx, id); err != nil {
		return nil, err
	}
	return s.store.History(ctx, id)
}

// TimerStatus is one SLA timer of an incident with its status.
type TimerStatus struct {
	Record TimerRecord
	Status sla.Status
}

// SLA returns the SLA timers of the incident with id and their status at
// the service clock's now, in the order they were created.
func (s *Service) SLA(ctx context.Context, id string) ([]TimerStatus, error) {
	if _, err := s.store.Get(ctx, id); err != nil {
		return nil, err
	}
	recs, err := s.store.Timers(ctx, id)
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
// days after the resolution date). It acts as itsm.System, one incident
// per transaction, and returns how many it closed. Schedule it as a job;
// it is safe to run concurrently with itself (a lost race is skipped).
func (s *Service) CloseResolved(ctx context.Context) (int, error) {
	if s.cfg.AutoCloseDays < 0 {
		return 0, nil
	}
	const batch = 100
	closed := 0
	for {
		now := s.now()
		incs, err := s.store.ResolvedBefore(ctx, now, batch)
		if err != nil {
			return closed, err
		}
		progress := false
		for _, inc := range incs {
			due := s.cfg.AutoCloseCalendar.AddDays(inc.ResolvedAt, s.cfg.AutoCloseDays)
			if now.Before(due) {
				// Deadlines grow with the resolution time, so no later
				// incident is due either.
				return closed, nil
			}
			_, err := s.update(ctx, itsm.System, inc.ID, inc.Version, ActClose, "resolved for "+
				strconv.Itoa(s.cfg.AutoCloseDays)+" business days", func(c *change) error { return c.close() })
			switch {
			case err == nil:
				closed++
				progress = true
			case errors.Is(err, itsm.ErrConflict):
				progress = true // changed meanwhile; the next batch sees its new state
			default:
				return closed, err
			}
		}
		if len(incs) < batch || !progress {
			return closed, nil
		}
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
