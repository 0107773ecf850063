package incident

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

// change is one incident being changed inside a transaction: the incident
// before and after, its timers, the journal entries and links to add, and
// what the audit events will say.
type change struct {
	s      *Service
	ctx    context.Context
	tx     record.Tx
	actor  itsm.Actor
	now    time.Time
	inc    *Incident
	before *Incident
	create bool

	timers       []record.TimerRecord
	timersLoaded bool
	stagesBefore map[string]sla.Stage // by timer ID
	dirty        map[string]bool      // timer IDs to save

	entries     []Entry       // journal entries to append
	addLinks    []record.Link // links to store
	removeLinks []record.Link // links to remove
	others      []itsm.Event  // events of the other ends of changed links
	cascade     []*change     // incidents resolved with this one
	reason      string        // why a cascaded change happens
}

func (s *Service) newChange(ctx context.Context, tx record.Tx, actor itsm.Actor, now time.Time, inc *Incident) *change {
	return &change{s: s, ctx: ctx, tx: tx, actor: actor, now: now, inc: inc, before: inc.Clone(),
		stagesBefore: map[string]sla.Stage{}, dirty: map[string]bool{}}
}

// getTx reads the incident with id inside tx.
func (s *Service) getTx(ctx context.Context, tx record.Reader, id string) (*Incident, error) {
	if id == "" {
		return nil, itsm.NewValidationError(Kind, "id", "must not be empty")
	}
	rec, err := tx.Get(ctx, record.Ref{Kind: Kind, ID: id})
	if err != nil {
		return nil, err
	}
	return FromRecord(rec)
}

// latestAttempts bounds how often update runs a write that names no
// version (see update).
const latestAttempts = 16

// update runs fn on the incident with id inside a transaction, then
// stores the incident, its journal entries, links, changed timers and the
// audit events of it and of any cascaded change, and returns the incident
// as stored, with its journal and links (see reread).
//
// A version of 0 asks for the write to apply to the incident as it is
// when the write runs. On a store whose transactions run side by side
// (PostgreSQL), two such writes may read the same version, and the later
// one's Update fails with an *itsm.ConflictError; update then runs the
// write again, on the incident as the other left it, after a random pause
// that grows with each attempt (up to 2 ms, 4 ms, ... at most 100 ms), up
// to latestAttempts times in all, as the stores that run one transaction
// at a time serialise them. fn must therefore change nothing but the
// change it is given. A write that names a version is never run again:
// its conflict is the caller's to resolve.
//
// in is the call's input as the caller gave it (nil when the call takes
// none beyond id and version): with an idempotency key in ctx it is part
// of the request the key is kept for (see write).
func (s *Service) update(ctx context.Context, actor itsm.Actor, id string, version int64, action Action, reason string, in any, fn func(*change) error) (*Incident, error) {
	if actor.ID == "" {
		return nil, itsm.NewValidationError(Kind, "actor.id", "must not be empty")
	}
	for attempt := 1; ; attempt++ {
		out, err := s.updateOnce(ctx, actor, id, version, action, reason, in, fn)
		var ce *itsm.ConflictError
		if err == nil || version != 0 || attempt == latestAttempts || !errors.As(err, &ce) {
			return out, err
		}
		pause := time.Duration(rand.Int64N(int64(min(2*time.Millisecond<<(attempt-1), 100*time.Millisecond))))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
	}
}

// updateOnce is one attempt of update.
func (s *Service) updateOnce(ctx context.Context, actor itsm.Actor, id string, version int64, action Action, reason string, in any, fn func(*change) error) (*Incident, error) {
	req := request{Actor: actor.ID, ID: id, Version: version, Input: in}
	return s.write(ctx, "incident."+string(action), req, func(ctx context.Context, tx record.Tx) (*Incident, error) {
		inc, err := s.getTx(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if version != 0 && inc.Version != version {
			return nil, &itsm.ConflictError{Kind: Kind, ID: inc.Number, Expected: version, Actual: inc.Version}
		}
		if err := duty(s.cfg.Duties, actor, action, inc); err != nil {
			return nil, err
		}
		c := s.newChange(ctx, tx, actor, s.now(), inc)
		if err := fn(c); err != nil {
			return nil, err
		}
		if err := c.commit(action, reason); err != nil {
			return nil, err
		}
		return s.reread(ctx, tx, inc.ID)
	})
}

// reread returns the incident with id as tx now holds it, with its
// journal and links, so that what an operation returns is what a later
// Get returns, to the store's precision.
func (s *Service) reread(ctx context.Context, tx record.Reader, id string) (*Incident, error) {
	inc, err := s.getTx(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	return s.fill(ctx, tx, inc)
}

// stored returns the incident just created as a store returns it, without
// a read: through its document and back, with the SLA summary of its
// timers (record.NewTimerRecord keeps derived instants to the store's
// precision). A new incident has no journal or links.
func (c *change) stored() (*Incident, error) {
	rec, err := c.inc.Record()
	if err != nil {
		return nil, err
	}
	doc, err := rec.Document()
	if err != nil {
		return nil, err
	}
	if rec, err = record.ParseDocument(doc); err != nil {
		return nil, err
	}
	for _, r := range c.timers {
		rec.SLA = append(rec.SLA, r.Summary())
	}
	return FromRecord(rec)
}

// fill reads the journal and links of inc.
func (s *Service) fill(ctx context.Context, r record.Reader, inc *Incident) (*Incident, error) {
	var err error
	if inc.Journal, err = r.Journal(ctx, inc.Ref()); err != nil {
		return nil, err
	}
	if inc.Links, err = r.Links(ctx, inc.Ref()); err != nil {
		return nil, err
	}
	if len(inc.Journal) == 0 {
		inc.Journal = nil
	}
	if len(inc.Links) == 0 {
		inc.Links = nil
	}
	return inc, nil
}

// commit stores the incident, its journal entries, links, timers and
// events, then those of the cascaded changes.
func (c *change) commit(action Action, reason string) error {
	c.inc.UpdatedAt = c.now
	rec, err := c.inc.Record()
	if err != nil {
		return err
	}
	if c.create {
		err = c.tx.Create(c.ctx, rec)
	} else {
		err = c.tx.Update(c.ctx, rec)
	}
	if err != nil {
		return err
	}
	c.inc.Version = rec.Version
	if len(c.entries) > 0 {
		if err := c.tx.AppendJournal(c.ctx, c.inc.Ref(), c.entries...); err != nil {
			return err
		}
	}
	if len(c.removeLinks) > 0 {
		if err := c.tx.RemoveLinks(c.ctx, c.removeLinks...); err != nil {
			return err
		}
	}
	if len(c.addLinks) > 0 {
		if err := c.tx.AddLinks(c.ctx, c.addLinks...); err != nil {
			return err
		}
	}
	if err := c.saveTimers(); err != nil {
		return err
	}
	if err := c.tx.AppendEvents(c.ctx, append([]itsm.Event{c.event(action, reason)}, c.others...)...); err != nil {
		return err
	}
	for _, sub := range c.cascade {
		if err := sub.commit(ActResolve, sub.reason); err != nil {
			return err
		}
	}
	return nil
}

// fire moves the incident by action, or returns the lifecycle's refusal.
func (c *change) fire(a Action) error {
	next, err := c.next(c.inc, a)
	if err != nil {
		return err
	}
	c.inc.State, c.inc.StateCategory = next, c.s.cfg.Lifecycle.Category(next)
	return nil
}

// next returns the state action a takes inc to from this incident's state,
// or the lifecycle's refusal, naming this incident; inc is this incident
// or a tentative copy of it.
func (c *change) next(inc *Incident, a Action) (State, error) {
	next, err := c.s.cfg.Lifecycle.Fire(inc, c.inc.State, a, c.actor)
	if err != nil {
		var te *itsm.TransitionError
		if errors.As(err, &te) && te.ID == "" {
			te.ID = c.inc.Number
		}
		return "", err
	}
	return next, nil
}

// assignImplicitly gives the incident, when it has neither an assignee nor
// an assignment group, the ones an action implies (the actor starting
// work, or a parent's for a child the parent's resolution starts), if the
// lifecycle's assign action from the incident's state is open to the
// actor with them (its roles and guards); otherwise it returns the assign
// action's refusal and leaves the incident as it was.
func (c *change) assignImplicitly(assignee, group string) error {
	if c.inc.Assignee != "" || c.inc.AssignmentGroup != "" {
		return nil
	}
	try := c.inc.Clone()
	try.Assignee, try.AssignmentGroup = assignee, group
	if _, err := c.next(try, ActAssign); err != nil {
		return fmt.Errorf("assigning %s implicitly: %w", c.inc.Number, err)
	}
	c.inc.Assignee, c.inc.AssignmentGroup = assignee, group
	return nil
}

// checkMajor refuses to end a major incident without PermMajorIncident.
func (c *change) checkMajor() error {
	if !c.inc.Major {
		return nil
	}
	return c.s.cfg.Permissions.Check(c.actor, PermMajorIncident)
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
	if err := c.checkMajor(); err != nil {
		return err
	}
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

// cascaded returns the incidents that resolving this one resolves, with
// the reason: its children and its duplicates, that is the incidents
// linked to it by a link type with record.CascadeResolve, that are not
// resolved or ended.
func (c *change) cascaded() ([]*Incident, []string, error) {
	lc := c.s.cfg.Lifecycle
	var out []*Incident
	var why []string
	keep := func(inc *Incident, reason string) {
		if lc.IsTerminal(inc.State) || !inc.ResolvedAt.IsZero() {
			return
		}
		if !slices.ContainsFunc(out, func(o *Incident) bool { return o.ID == inc.ID }) {
			out, why = append(out, inc), append(why, reason)
		}
	}
	children, err := c.s.children(c.ctx, c.tx, c.inc.ID)
	if err != nil {
		return nil, nil, err
	}
	for _, ch := range children {
		keep(ch, "resolved with parent "+c.inc.Number)
	}
	links, err := c.tx.Links(c.ctx, c.inc.Ref())
	if err != nil {
		return nil, nil, err
	}
	for _, l := range links {
		t, ok := c.s.linkType(l.Type)
		if !ok || t.Cascade != record.CascadeResolve || l.To != c.inc.Ref() || l.From.Kind != Kind {
			continue
		}
		dup, err := c.s.getTx(c.ctx, c.tx, l.From.ID)
		if err != nil {
			return nil, nil, err
		}
		keep(dup, "resolved with "+c.inc.Number+" ("+strings.ReplaceAll(t.Name, "_", " ")+")")
	}
	return out, why, nil
}

// resolveCascade resolves the cascaded incidents with this one's
// resolution, starting work on one still in the initial state (assigning
// an unassigned one to this one's assignee and group). A major incident is
// left open when the actor may not resolve it, one that a segregation-of-
// duties rule keeps the actor from resolving too, and an unassigned one
// that must be started first when the actor may not assign it.
func (c *change) resolveCascade(seen map[string]bool) error {
	seen[c.inc.ID] = true
	subs, why, err := c.cascaded()
	if err != nil {
		return err
	}
	lc := c.s.cfg.Lifecycle
	for i, sub := range subs {
		if seen[sub.ID] {
			continue
		}
		if sub.Major && c.s.cfg.Permissions.Check(c.actor, PermMajorIncident) != nil ||
			duty(c.s.cfg.Duties, c.actor, ActResolve, sub) != nil {
			continue
		}
		sc := c.s.newChange(c.ctx, c.tx, c.actor, c.now, sub)
		sc.reason = why[i]
		if _, ok := lc.Target(sub.State, ActResolve); !ok && sub.State == lc.Initial() {
			if sc.assignImplicitly(c.inc.Assignee, c.inc.AssignmentGroup) != nil {
				continue // left open: the actor may not assign it
			}
			if err := sc.fire(ActStart); err != nil {
				return err
			}
			if err := sc.respond(); err != nil {
				return err
			}
		}
		if err := sc.resolve(c.inc.ResolutionCode, c.inc.ResolutionNotes); err != nil {
			return err
		}
		if err := sc.resolveCascade(seen); err != nil {
			return err
		}
		c.cascade = append(c.cascade, sc)
	}
	return nil
}

func (c *change) close() error {
	if err := c.checkMajor(); err != nil {
		return err
	}
	if err := c.fire(ActClose); err != nil {
		return err
	}
	c.inc.ClosedAt = c.now
	return nil
}

// checkParent refuses a parent that does not exist or would make the
// incident its own ancestor. It first locks the child_of link type
// (record.Tx.LockLinkTypes), so that of two transactions that would each
// close half of a cycle of parents, the second sees the first's parent.
func (c *change) checkParent(parentID string) error {
	if err := c.tx.LockLinkTypes(c.ctx, record.ChildOf.Name); err != nil {
		return err
	}
	seen := map[string]bool{c.inc.ID: true}
	for id := parentID; id != ""; {
		if seen[id] {
			return itsm.NewValidationError(Kind, "parent_id", "%s would make %s its own ancestor", parentID, c.inc.Number)
		}
		seen[id] = true
		p, err := c.s.getTx(c.ctx, c.tx, id)
		if err != nil {
			return err
		}
		id = p.ParentID
	}
	return nil
}

// link adds l (from this incident) unless it is stored already, with an
// audit change on this incident and an event on the other end.
func (c *change) link(l record.Link, existing []record.Link) error {
	t, ok := c.s.linkType(l.Type)
	if !ok {
		return itsm.NewValidationError(Kind, "link.type", "%q is not a link type", l.Type)
	}
	if slices.ContainsFunc(existing, func(e record.Link) bool { return e.Type == l.Type && e.From == l.From && e.To == l.To }) ||
		slices.ContainsFunc(c.addLinks, func(e record.Link) bool { return e.Type == l.Type && e.To == l.To }) {
		return nil
	}
	// The store refuses a link to a record it does not hold
	// (Tx.AddLinks, at commit), so the other end is not read here.
	if t.Acyclic {
		if err := record.CheckCycle(c.ctx, c.tx, l); err != nil {
			return err
		}
	}
	l.CreatedAt, l.CreatedBy = c.now, c.actor.ID
	c.addLinks = append(c.addLinks, l)
	c.others = append(c.others, c.linkEvent(l.To, "link", t.Inverse, "", l.From.String()))
	return nil
}

// unlink removes the stored link l, with an event on the other end.
func (c *change) unlink(l record.Link, existing []record.Link) error {
	t, ok := c.s.linkType(l.Type)
	if !ok {
		return itsm.NewValidationError(Kind, "link.type", "%q is not a link type", l.Type)
	}
	if !slices.ContainsFunc(existing, func(e record.Link) bool { return e.Type == l.Type && e.From == l.From && e.To == l.To }) {
		return &itsm.NotFoundError{Kind: "link", ID: l.Type + " " + l.From.String() + " → " + l.To.String()}
	}
	c.removeLinks = append(c.removeLinks, l)
	c.others = append(c.others, c.linkEvent(l.To, "unlink", t.Inverse, l.From.String(), ""))
	return nil
}

// linkEvent is the audit event of a link change on the link's other end.
func (c *change) linkEvent(on record.Ref, action, field, old, new string) itsm.Event {
	ev := itsm.Event{Kind: on.Kind, RecordID: on.ID, Actor: c.actor, At: c.now, Action: action}
	ev.Record("link."+field, old, new)
	return ev
}

// loadTimers reads and binds the incident's timers once.
func (c *change) loadTimers() error {
	if c.timersLoaded {
		return nil
	}
	recs, err := c.tx.Timers(c.ctx, c.inc.Ref())
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
// with its status now, and marks the timers whose history grew as
// changed.
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

func timerID(incID, policy string, m sla.Metric) string {
	return incID + "/" + policy + "/" + string(m)
}

// startTimers creates and starts, at at, the timers of the selected
// policies that the incident does not have yet, for the metrics that still
// apply: the response only before the first response, both only before
// resolution. A timer of a policy selected again after it was cancelled
// starts a new cycle.
func (c *change) startTimers(pols []*sla.Policy, at time.Time) error {
	if err := c.loadTimers(); err != nil {
		return err
	}
	for _, p := range pols {
		for _, m := range []sla.Metric{sla.MetricResponse, sla.MetricResolution} {
			if m == sla.MetricResponse && !c.inc.FirstResponseAt.IsZero() || !c.inc.ResolvedAt.IsZero() {
				continue
			}
			tg, ok := p.Target(m, c.inc.Priority)
			if !ok {
				continue
			}
			id := timerID(c.inc.ID, p.ID(), m)
			if i := slices.IndexFunc(c.timers, func(r record.TimerRecord) bool { return r.ID == id }); i >= 0 {
				t := c.timers[i].Timer
				if !t.Status(c.now).Active() {
					if err := t.Reset(at, tg, c.inc.Priority, "policy applies again"); err != nil {
						return err
					}
					c.dirty[id] = true
				}
				continue
			}
			t, err := p.NewTimer(m, c.inc.Priority)
			if err != nil {
				return err
			}
			if err := t.Start(at); err != nil {
				return err
			}
			c.timers = append(c.timers, record.TimerRecord{Record: c.inc.Ref(), ID: id, Timer: t})
			c.dirty[id] = true
		}
	}
	return nil
}

// reselect runs the policy selection again after an edit: timers of newly
// selected policies start now, active timers of policies no longer
// selected are cancelled.
func (c *change) reselect() error {
	if c.s.cfg.Policies == nil || c.s.cfg.Lifecycle.IsTerminal(c.inc.State) {
		return nil
	}
	pols, err := c.s.cfg.Policies.Select(c.ctx, c.inc)
	if err != nil {
		return err
	}
	if err := c.startTimers(pols, c.now); err != nil {
		return err
	}
	return c.eachTimer("", func(t *sla.Timer, st sla.Status) error {
		if !st.Active() || slices.ContainsFunc(pols, func(p *sla.Policy) bool { return p.ID() == t.Policy() }) {
			return nil
		}
		return t.Cancel(c.now, "policy no longer applies")
	})
}

// saveTimers stores the changed timers with their derived fields.
func (c *change) saveTimers() error {
	var out []record.TimerRecord
	for i, r := range c.timers {
		if c.dirty[r.ID] {
			c.timers[i] = record.NewTimerRecord(r.Record, r.ID, r.Timer.Kind(), r.Timer, c.now)
			out = append(out, c.timers[i])
		}
	}
	if len(out) == 0 {
		return nil
	}
	return c.tx.PutTimers(c.ctx, out...)
}

// event builds the audit event of the change.
func (c *change) event(action Action, reason string) itsm.Event {
	ev := itsm.Event{Kind: Kind, RecordID: c.inc.ID, Actor: c.actor, At: c.now, Action: string(action),
		From: string(c.before.State), To: string(c.inc.State), Reason: strings.TrimSpace(reason)}
	b, a := c.before, c.inc
	ev.Record("title", b.Title, a.Title)
	ev.Record("description", b.Description, a.Description)
	ev.Record("caller", actorText(b.Caller), actorText(a.Caller))
	ev.Record("watchers", strings.Join(b.Watchers, ","), strings.Join(a.Watchers, ","))
	ev.Record("service", b.Service, a.Service)
	ev.Record("config_items", strings.Join(b.ConfigItems, ","), strings.Join(a.ConfigItems, ","))
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
	names := make([]string, 0, len(a.Attrs)+len(b.Attrs))
	for k := range a.Attrs {
		names = append(names, k)
	}
	for k := range b.Attrs {
		if _, ok := a.Attrs[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		ev.Record("attrs."+k, b.Attrs[k].String(), a.Attrs[k].String())
	}
	for _, e := range c.entries {
		ev.Record(string(e.Kind), "", e.Text)
	}
	for _, l := range c.addLinks {
		ev.Record("link."+l.Type, "", l.To.String())
	}
	for _, l := range c.removeLinks {
		ev.Record("link."+l.Type, l.To.String(), "")
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

func actorText(a itsm.Actor) string {
	if a.Name == "" || a.Name == a.ID {
		return a.ID
	}
	return a.ID + " (" + a.Name + ")"
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
