package incident

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
)

// change is one incident being changed inside a transaction: the record
// before and after, its timers, and what the audit event will say.
type change struct {
	s      *Service
	ctx    context.Context
	tx     Tx
	actor  itsm.Actor
	now    time.Time
	inc    *Incident
	before *Incident

	timers       []TimerRecord
	timersLoaded bool
	stagesBefore map[string]sla.Stage // by timer ID
	dirty        map[string]bool      // timer IDs to save
	cascade      []*change            // children changed with this one
}

func (s *Service) newChange(ctx context.Context, tx Tx, actor itsm.Actor, now time.Time, inc *Incident) *change {
	return &change{s: s, ctx: ctx, tx: tx, actor: actor, now: now, inc: inc, before: inc.Clone(),
		stagesBefore: map[string]sla.Stage{}, dirty: map[string]bool{}}
}

// update runs fn on the incident with id inside a transaction, then
// stores the incident, its changed timers and the audit events of it and
// of any cascaded change.
func (s *Service) update(ctx context.Context, actor itsm.Actor, id string, version int64, action Action, reason string, fn func(*change) error) (*Incident, error) {
	if actor.ID == "" {
		return nil, itsm.NewValidationError(Kind, "actor.id", "must not be empty")
	}
	var out *Incident
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		inc, err := tx.Get(ctx, id)
		if err != nil {
			return err
		}
		if version != 0 && inc.Version != version {
			return &itsm.ConflictError{Kind: Kind, ID: inc.Number, Expected: version, Actual: inc.Version}
		}
		c := s.newChange(ctx, tx, actor, s.now(), inc)
		if err := fn(c); err != nil {
			return err
		}
		if err := c.commit(action, reason); err != nil {
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

// commit stores the incident, its timers and its event, then those of
// the cascaded changes.
func (c *change) commit(action Action, reason string) error {
	c.inc.UpdatedAt = c.now
	if err := c.tx.Update(c.ctx, c.inc); err != nil {
		return err
	}
	if err := c.saveTimers(); err != nil {
		return err
	}
	if err := c.tx.AppendEvents(c.ctx, c.event(action, reason)); err != nil {
		return err
	}
	for _, sub := range c.cascade {
		if err := sub.commit(ActResolve, "resolved with parent "+c.inc.Number); err != nil {
			return err
		}
	}
	return nil
}

// fire moves the incident by action, or returns the lifecycle's refusal.
func (c *change) fire(a Action) error {
	next, err := c.s.cfg.Lifecycle.Fire(c.inc, c.inc.State, a, c.actor)
	if err != nil {
		var te *itsm.TransitionError
		if errors.As(err, &te) && te.ID == "" {
			te.ID = c.inc.Number
		}
		return err
	}
	c.inc.State = next
	return nil
}

// respond records the first response and stops the response timers.
func (c *change) respond() error {
	if !c.inc.FirstResponseAt.IsZero() {
		return nil
	}
	c.inc.FirstResponseAt = c.now
	return c.stopTimers(sla.MetricResponse, "first response")
}

func (c *change) resolve(code ResolutionCode, notes string) error {
	c.inc.ResolutionCode, c.inc.ResolutionNotes = code, notes
	if err := c.fire(ActResolve); err != nil {
		return err
	}
	c.inc.ResolvedAt = c.now
	c.inc.HoldReason = ""
	if c.inc.FirstResponseAt.IsZero() {
		c.inc.FirstResponseAt = c.now
	}
	if err := c.stopTimers(sla.MetricResponse, "resolved"); err != nil {
		return err
	}
	return c.stopTimers(sla.MetricResolution, "resolved")
}

// resolveChildren resolves the open children with the parent's
// resolution, starting work on a child still in the initial state.
func (c *change) resolveChildren() error {
	children, err := c.tx.Children(c.ctx, c.inc.ID)
	if err != nil {
		return err
	}
	lc := c.s.cfg.Lifecycle
	for _, child := range children {
		if lc.IsTerminal(child.State) || !child.ResolvedAt.IsZero() {
			continue
		}
		sub := c.s.newChange(c.ctx, c.tx, c.actor, c.now, child)
		if _, ok := lc.Target(child.State, ActResolve); !ok && child.State == lc.Initial() {
			if child.Assignee == "" && child.AssignmentGroup == "" {
				child.Assignee, child.AssignmentGroup = c.inc.Assignee, c.inc.AssignmentGroup
			}
			if err := sub.fire(ActStart); err != nil {
				return err
			}
			if err := sub.respond(); err != nil {
				return err
			}
		}
		if err := sub.resolve(c.inc.ResolutionCode, c.inc.ResolutionNotes); err != nil {
			return err
		}
		if err := sub.resolveChildren(); err != nil {
			return err
		}
		c.cascade = append(c.cascade, sub)
	}
	return nil
}

func (c *change) close() error {
	if err := c.fire(ActClose); err != nil {
		return err
	}
	c.inc.ClosedAt = c.now
	return nil
}

// checkParent refuses a parent that does not exist or would make the
// incident its own ancestor.
func (c *change) checkParent(parentID string) error {
	seen := map[string]bool{c.inc.ID: true}
	for id := parentID; id != ""; {
		if seen[id] {
			return itsm.NewValidationError(Kind, "parent_id", "%s would make %s its own ancestor", parentID, c.inc.Number)
		}
		seen[id] = true
		p, err := c.tx.Get(c.ctx, id)
		if err != nil {
			return err
		}
		id = p.ParentID
	}
	return nil
}

// loadTimers reads and binds the incident's timers once.
func (c *change) loadTimers() error {
	if c.timersLoaded {
		return nil
	}
	recs, err := c.tx.Timers(c.ctx, c.inc.ID)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := c.s.bind(r.Timer); err != nil {
			return err
		}
		c.stagesBefore[r.ID] = r.Stage
	}
	c.timers, c.timersLoaded = recs, true
	return nil
}

// eachTimer calls fn for every timer of metric (all metrics when empty)
// with its status now, and marks the timers fn returned nil for as
// changed when their history grew.
func (c *change) eachTimer(metric sla.Metric, fn func(t *sla.Timer, st sla.Status) error) error {
	if err := c.loadTimers(); err != nil {
		return err
	}
	for _, r := range c.timers {
		if metric != "" && r.Timer.Metric() != metric {
			continue
		}
		n := r.Timer.Len()
		if err := fn(r.Timer, r.Timer.Status(c.now)); err != nil {
			return err
		}
		if r.Timer.Len() != n {
			c.dirty[r.ID] = true
		}
	}
	return nil
}

func (c *change) stopTimers(metric sla.Metric, reason string) error {
	return c.eachTimer(metric, func(t *sla.Timer, st sla.Status) error {
		if st.Active() {
			return t.Stop(c.now, reason)
		}
		return nil
	})
}

func (c *change) resumeTimers() error {
	return c.eachTimer("", func(t *sla.Timer, st sla.Status) error {
		if st.Active() && st.Paused {
			return t.Resume(c.now, "resumed")
		}
		return nil
	})
}

// startTimers creates and starts the timers of the selected policies for
// a new incident.
func (c *change) startTimers() error {
	if c.s.cfg.Policies == nil {
		return nil
	}
	pols, err := c.s.cfg.Policies.Select(c.ctx, c.inc)
	if err != nil {
		return err
	}
	for _, p := range pols {
		for _, m := range []sla.Metric{sla.MetricResponse, sla.MetricResolution} {
			if _, ok := p.Target(m, c.inc.Priority); !ok {
				continue
			}
			t, err := p.NewTimer(m, c.inc.Priority)
			if err != nil {
				return err
			}
			if err := t.Start(c.inc.OpenedAt); err != nil {
				return err
			}
			id := c.inc.ID + "/" + p.ID() + "/" + string(m)
			c.timers = append(c.timers, TimerRecord{ID: id, IncidentID: c.inc.ID, Timer: t})
			c.dirty[id] = true
		}
	}
	return nil
}

// saveTimers stores the changed timers with their derived fields.
func (c *change) saveTimers() error {
	var out []TimerRecord
	for _, r := range c.timers {
		if c.dirty[r.ID] {
			out = append(out, NewTimerRecord(r.ID, r.IncidentID, r.Timer, c.now))
		}
	}
	if len(out) == 0 {
		return nil
	}
	return c.tx.PutTimers(c.ctx, out...)
}

// NewTimerRecord returns the record a store keeps for timer t of incident
// incidentID, with Stage, AtRiskAt, BreachAt and NextWakeAt derived from
// t's status at now. t must have its calendar bound.
func NewTimerRecord(id, incidentID string, t *sla.Timer, now time.Time) TimerRecord {
	st := t.Status(now)
	r := TimerRecord{ID: id, IncidentID: incidentID, Timer: t, Stage: st.Stage, NextWakeAt: st.NextWake}
	for _, th := range st.Thresholds[:st.NumThresholds] {
		if th.Breach() {
			r.BreachAt = th.At
		} else {
			r.AtRiskAt = th.At
		}
	}
	return r
}

// event builds the audit event of the change.
func (c *change) event(action Action, reason string) itsm.Event {
	ev := itsm.Event{Kind: Kind, RecordID: c.inc.ID, Actor: c.actor, At: c.now, Action: string(action),
		From: string(c.before.State), To: string(c.inc.State), Reason: strings.TrimSpace(reason)}
	b, a := c.before, c.inc
	ev.Record("title", b.Title, a.Title)
	ev.Record("description", b.Description, a.Description)
	ev.Record("service", b.Service, a.Service)
	ev.Record("config_item", b.ConfigItem, a.ConfigItem)
	ev.Record("category", b.Category, a.Category)
	ev.Record("impact", levelText(int(b.Impact)), levelText(int(a.Impact)))
	ev.Record("urgency", levelText(int(b.Urgency)), levelText(int(a.Urgency)))
	ev.Record("priority", priorityText(b.Priority), priorityText(a.Priority))
	ev.Record("priority_overridden", b.PriorityOverridden, a.PriorityOverridden)
	ev.Record("hold_reason", b.HoldReason, a.HoldReason)
	ev.Record("assignment_group", b.AssignmentGroup, a.AssignmentGroup)
	ev.Record("assignee", b.Assignee, a.Assignee)
	ev.Record("resolution_code", b.ResolutionCode, a.ResolutionCode)
	ev.Record("resolution_notes", b.ResolutionNotes, a.ResolutionNotes)
	ev.Record("cancel_reason", b.CancelReason, a.CancelReason)
	ev.Record("first_response_at", b.FirstResponseAt, a.FirstResponseAt)
	ev.Record("resolved_at", b.ResolvedAt, a.ResolvedAt)
	ev.Record("closed_at", b.ClosedAt, a.ClosedAt)
	ev.Record("reopen_count", b.ReopenCount, a.ReopenCount)
	ev.Record("major", b.Major, a.Major)
	ev.Record("parent_id", b.ParentID, a.ParentID)
	ev.Record("problem_ids", strings.Join(b.ProblemIDs, ","), strings.Join(a.ProblemIDs, ","))
	ev.Record("change_ids", strings.Join(b.ChangeIDs, ","), strings.Join(a.ChangeIDs, ","))
	for _, e := range a.Journal[min(len(b.Journal), len(a.Journal)):] {
		ev.Record(string(e.Kind), "", e.Text)
	}
	for _, r := range c.timers {
		if !c.dirty[r.ID] {
			continue
		}
		old := ""
		if st, ok := c.stagesBefore[r.ID]; ok {
			old = st.String()
		}
		ev.Record("sla."+r.Timer.Policy()+"."+string(r.Timer.Metric()), old, r.Timer.Status(c.now).Stage.String())
	}
	return ev
}

func levelText(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func priorityText(p itsm.Priority) string {
	if p == 0 {
		return ""
	}
	return p.Label()
}
