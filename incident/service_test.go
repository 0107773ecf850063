package incident_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/itsm/itsmtest"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/memory"
)

var (
	ny      = mustZone("America/New_York")
	agent   = itsm.Actor{ID: "alice", Name: "Alice", Roles: []itsm.Role{"service-desk"}}
	caller  = itsm.Actor{ID: "carol", Name: "Carol"}
	manager = itsm.Actor{ID: "mia", Roles: []itsm.Role{incident.RoleMajorIncidentManager}}
	// friday is 15:00 on Friday 20 November 2026 in New York.
	friday = time.Date(2026, 11, 20, 15, 0, 0, 0, ny)
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

const usCalendar = `{"name":"us-9-5","time_zone":"America/New_York",
 "hours":{"mon":[["09:00","17:00"]],"tue":[["09:00","17:00"]],"wed":[["09:00","17:00"]],"thu":[["09:00","17:00"]],"fri":[["09:00","17:00"]]},
 "holidays":["2026-11-26","2026-12-25"]}`

const goldPolicy = `{"id":"gold","name":"Gold","calendar":"us-9-5",
 "targets":{
  "response":  {"1":"PT15M","2":"PT30M","3":"PT1H","4":"PT4H","5":"P1D"},
  "resolution":{"1":"PT4H","2":"PT8H","3":"P2D","4":"P5D","5":"P10D"}}}`

type fixture struct {
	svc   *incident.Service
	store record.Store
	clock *itsmtest.Clock
	cal   *sla.Calendar
}

func newFixture(t testing.TB, st storeFactory, mutate ...func(*incident.Config)) *fixture {
	t.Helper()
	var spec sla.CalendarSpec
	require.NoError(t, jsonUnmarshal(usCalendar, &spec))
	cal, err := sla.NewCalendar(spec)
	require.NoError(t, err)
	cals := sla.Calendars{"us-9-5": cal}
	pol, err := sla.ParsePolicy([]byte(goldPolicy), cals)
	require.NoError(t, err)
	f := &fixture{store: st(t), clock: itsmtest.NewClock(friday), cal: cal}
	cfg := incident.Config{
		Clock:             f.clock,
		Policies:          incident.Policies{List: []*sla.Policy{pol}},
		Calendars:         cals,
		AutoCloseCalendar: cal,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	f.svc, err = incident.NewService(context.Background(), f.store, cfg)
	require.NoError(t, err)
	return f
}

func (f *fixture) open(t *testing.T, in incident.OpenInput) *incident.Incident {
	t.Helper()
	if in.Title == "" {
		in.Title = "Mail is down"
	}
	if in.Impact == 0 {
		in.Impact, in.Urgency = itsm.ImpactMedium, itsm.UrgencyHigh // P2
	}
	inc, err := f.svc.Open(context.Background(), agent, in)
	require.NoError(t, err)
	return inc
}

// other stores a record of another kind (declaring a small schema for
// it), so that incidents can link to it, and returns its reference.
func (f *fixture) other(t *testing.T, kind, id string) record.Ref {
	t.Helper()
	ctx := context.Background()
	schema := record.MustNewSchema(record.SchemaDef{Kind: kind, Prefix: "X", States: []record.StateDef{
		{Name: "open", Category: itsm.CategoryNew}, {Name: "closed", Category: itsm.CategoryClosed}}})
	require.NoError(t, f.store.Declare(ctx, schema))
	now := f.clock.Now()
	rec := &record.Record{Header: record.Header{Kind: kind, ID: id, Number: id, Title: id, State: "open",
		StateCategory: itsm.CategoryNew, OpenedAt: now, UpdatedAt: now}}
	require.NoError(t, f.store.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return tx.Create(ctx, rec) }))
	return rec.Ref()
}

// timer returns the status of the incident's timer for metric.
func (f *fixture) timer(t *testing.T, id string, metric sla.Metric) sla.Status {
	t.Helper()
	ts, err := f.svc.SLA(context.Background(), id)
	require.NoError(t, err)
	for _, s := range ts {
		if s.Record.Timer.Metric() == metric {
			return s.Status
		}
	}
	t.Fatalf("no %s timer", metric)
	return sla.Status{}
}

func testOpen(t *testing.T, st storeFactory) {
	f := newFixture(t, st)
	inc := f.open(t, incident.OpenInput{Caller: caller, Service: "mail"})
	require.Equal(t, "INC0001001", inc.Number)
	require.Equal(t, itsm.PriorityHigh, inc.Priority)
	require.Equal(t, incident.New, inc.State)
	require.Equal(t, caller, inc.Caller)
	require.EqualValues(t, 1, inc.Version)
	require.True(t, inc.OpenedAt.Equal(friday))

	second := f.open(t, incident.OpenInput{})
	require.Equal(t, "INC0001002", second.Number)
	require.Equal(t, agent.ID, second.Caller.ID, "the actor is the caller by default")

	resp := f.timer(t, inc.ID, sla.MetricResponse)
	require.Equal(t, sla.StageRunning, resp.Stage)
	// 30 business minutes from 15:00 Friday.
	require.True(t, resp.Due.Equal(friday.Add(30*time.Minute)), "due %v", resp.Due)
	res := f.timer(t, inc.ID, sla.MetricResolution)
	// 8 business hours: 2 on Friday, 6 on Monday → Monday 15:00.
	require.True(t, res.Due.Equal(time.Date(2026, 11, 23, 15, 0, 0, 0, ny)), "due %v", res.Due)

	hist, err := f.svc.History(context.Background(), inc.ID)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	require.Equal(t, "open", hist[0].Action)
	require.Equal(t, "new", hist[0].To)
	require.EqualValues(t, 1, hist[0].Sequence)
	require.Contains(t, hist[0].Changes, itsm.Change{Field: "priority", New: "P2"})
	require.Contains(t, hist[0].Changes, itsm.Change{Field: "sla.gold.resolution", New: "running"})
}

func testOpenBackdated(t *testing.T, st storeFactory) {
	f := newFixture(t, st)
	inc := f.open(t, incident.OpenInput{OpenedAt: friday.Add(-time.Hour)})
	require.True(t, inc.OpenedAt.Equal(friday.Add(-time.Hour)))
	res := f.timer(t, inc.ID, sla.MetricResponse)
	require.Equal(t, time.Hour, res.Elapsed)
	require.Equal(t, sla.StageBreached, res.Stage, "30 minutes target, an hour gone")
}

func testOpenRefusals(t *testing.T, st storeFactory) {
	f := newFixture(t, st)
	ctx := context.Background()
	cases := []struct {
		name   string
		actor  itsm.Actor
		in     incident.OpenInput
		is     error
		fields []string
	}{
		{"empty", agent, incident.OpenInput{}, itsm.ErrValidation, []string{"title", "impact", "urgency"}},
		{"no actor", itsm.Actor{}, incident.OpenInput{Title: "x", Impact: 1, Urgency: 1}, itsm.ErrValidation, []string{"actor.id"}},
		{"off the scale", agent, incident.OpenInput{Title: "x", Impact: 4, Urgency: 1}, itsm.ErrValidation, []string{"impact"}},
		{"future", agent, incident.OpenInput{Title: "x", Impact: 1, Urgency: 1, OpenedAt: friday.Add(time.Minute)}, itsm.ErrValidation, []string{"opened_at"}},
		{"major without role", agent, incident.OpenInput{Title: "x", Impact: 1, Urgency: 1, Major: true}, itsm.ErrForbidden, nil},
		{"unknown parent", agent, incident.OpenInput{Title: "x", Impact: 1, Urgency: 1, ParentID: "nope"}, itsm.ErrNotFound, nil},
	}
	for _, tc := range cases {
		_, err := f.svc.Open(ctx, tc.actor, tc.in)
		require.ErrorIs(t, err, tc.is, tc.name)
		if tc.fields != nil {
			var ve *itsm.ValidationError
			require.ErrorAs(t, err, &ve, tc.name)
			var got []string
			for _, fe := range ve.Fields {
				got = append(got, fe.Field)
			}
			require.Equal(t, tc.fields, got, tc.name)
		}
	}
	page, err := f.svc.List(ctx, incident.Query{})
	require.NoError(t, err)
	require.Empty(t, page.Incidents, "refused opens store nothing")

	major, err := f.svc.Open(ctx, manager, incident.OpenInput{Title: "Data centre down", Impact: 1, Urgency: 1, Major: true})
	require.NoError(t, err)
	require.True(t, major.Major)
	require.Equal(t, "INC0001001", major.Number, "refused opens consume no number")
}

// Every transition of the default lifecycle, driven through the service.
func testLifecycleThroughService(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st)

	inc := f.open(t, incident.OpenInput{})
	inc, err := f.svc.Assign(ctx, agent, inc.ID, incident.AssignInput{AssignmentGroup: "messaging", Assignee: "bob", Version: inc.Version})
	require.NoError(t, err)
	require.Equal(t, incident.InProgress, inc.State)
	inc, err = f.svc.Assign(ctx, agent, inc.ID, incident.AssignInput{Assignee: "dave"})
	require.NoError(t, err)
	require.Equal(t, incident.InProgress, inc.State)
	require.Equal(t, "messaging", inc.AssignmentGroup, "empty fields keep their value")
	inc, err = f.svc.Hold(ctx, agent, inc.ID, incident.HoldInput{Reason: incident.AwaitingVendor})
	require.NoError(t, err)
	require.Equal(t, incident.OnHold, inc.State)
	inc, err = f.svc.Assign(ctx, agent, inc.ID, incident.AssignInput{Assignee: "erin"})
	require.NoError(t, err)
	require.Equal(t, incident.OnHold, inc.State, "re-assigning keeps an incident on hold")
	inc, err = f.svc.Resume(ctx, agent, inc.ID, 0)
	require.NoError(t, err)
	require.Equal(t, incident.InProgress, inc.State)
	require.Empty(t, inc.HoldReason)
	inc, err = f.svc.Hold(ctx, agent, inc.ID, incident.HoldInput{Reason: incident.AwaitingCaller})
	require.NoError(t, err)
	inc, err = f.svc.Resolve(ctx, agent, inc.ID, incident.ResolveInput{Code: "solved", Notes: "restarted the relay"})
	require.NoError(t, err, "resolve straight from hold")
	require.Equal(t, incident.Resolved, inc.State)
	require.True(t, inc.ResolvedAt.Equal(friday))
	inc, err = f.svc.Reopen(ctx, caller, inc.ID, incident.ReopenInput{Reason: "still broken"})
	require.NoError(t, err)
	require.Equal(t, incident.InProgress, inc.State)
	require.Equal(t, 1, inc.ReopenCount)
	require.Empty(t, inc.ResolutionCode)
	require.True(t, inc.ResolvedAt.IsZero())
	inc, err = f.svc.Resolve(ctx, agent, inc.ID, incident.ResolveInput{Code: "solved", Notes: "replaced the disk"})
	require.NoError(t, err)
	inc, err = f.svc.Close(ctx, agent, inc.ID, inc.Version)
	require.NoError(t, err)
	require.Equal(t, incident.Closed, inc.State)
	require.True(t, inc.ClosedAt.Equal(friday))

	started := f.open(t, incident.OpenInput{})
	started, err = f.svc.StartWork(ctx, agent, started.ID, 0)
	require.NoError(t, err)
	require.Equal(t, incident.InProgress, started.State)
	require.Equal(t, agent.ID, started.Assignee, "starting work self-assigns")

	for _, from := range []func() *incident.Incident{
		func() *incident.Incident { return f.open(t, incident.OpenInput{}) },
		func() *incident.Incident {
			i := f.open(t, incident.OpenInput{})
			i, err := f.svc.StartWork(ctx, agent, i.ID, 0)
			require.NoError(t, err)
			return i
		},
		func() *incident.Incident {
			i := f.open(t, incident.OpenInput{})
			_, err := f.svc.StartWork(ctx, agent, i.ID, 0)
			require.NoError(t, err)
			i, err = f.svc.Hold(ctx, agent, i.ID, incident.HoldInput{Reason: incident.AwaitingChange})
			require.NoError(t, err)
			return i
		},
	} {
		i := from()
		i, err := f.svc.Cancel(ctx, agent, i.ID, incident.CancelInput{Reason: "duplicate of INC0001001"})
		require.NoError(t, err)
		require.Equal(t, incident.Canceled, i.State)
		for _, ts := range must(f.svc.SLA(ctx, i.ID)) {
			require.False(t, ts.Status.Active(), "cancel ends every timer")
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func testRefusals(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st)
	fresh := f.open(t, incident.OpenInput{})
	working := f.open(t, incident.OpenInput{})
	working = must(f.svc.StartWork(ctx, agent, working.ID, 0))

	transition := func(t *testing.T, err error, check func(*itsm.TransitionError)) {
		t.Helper()
		require.ErrorIs(t, err, itsm.ErrInvalidTransition)
		var te *itsm.TransitionError
		require.ErrorAs(t, err, &te)
		require.Equal(t, incident.Kind, te.Kind)
		check(te)
	}
	_, err := f.svc.Close(ctx, agent, fresh.ID, 0)
	transition(t, err, func(te *itsm.TransitionError) {
		require.True(t, te.WrongState)
		require.Equal(t, fresh.Number, te.ID)
	})
	_, err = f.svc.Resolve(ctx, agent, working.ID, incident.ResolveInput{})
	transition(t, err, func(te *itsm.TransitionError) {
		require.Equal(t, []string{"resolution_code", "resolution_notes"}, te.MissingFields)
	})
	_, err = f.svc.Hold(ctx, agent, working.ID, incident.HoldInput{})
	transition(t, err, func(te *itsm.TransitionError) { require.Equal(t, []string{"hold_reason"}, te.MissingFields) })
	_, err = f.svc.Cancel(ctx, agent, working.ID, incident.CancelInput{Reason: "  "})
	transition(t, err, func(te *itsm.TransitionError) { require.Equal(t, []string{"cancel_reason"}, te.MissingFields) })
	_, err = f.svc.Resume(ctx, agent, working.ID, 0)
	transition(t, err, func(te *itsm.TransitionError) { require.True(t, te.WrongState) })
	_, err = f.svc.Close(ctx, agent, working.ID, 0)
	transition(t, err, func(te *itsm.TransitionError) { require.True(t, te.WrongState) })
	_, err = f.svc.Reopen(ctx, agent, working.ID, incident.ReopenInput{Reason: "x"})
	transition(t, err, func(te *itsm.TransitionError) { require.True(t, te.WrongState) })

	_, err = f.svc.Hold(ctx, agent, working.ID, incident.HoldInput{Reason: "awaiting_godot"})
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = f.svc.Assign(ctx, agent, working.ID, incident.AssignInput{})
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = f.svc.Reopen(ctx, agent, working.ID, incident.ReopenInput{})
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = f.svc.StartWork(ctx, itsm.Actor{}, working.ID, 0)
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = f.svc.StartWork(ctx, agent, "missing", 0)
	require.ErrorIs(t, err, itsm.ErrNotFound)

	// A stale version changes nothing.
	_, err = f.svc.Hold(ctx, agent, working.ID, incident.HoldInput{Reason: incident.AwaitingCaller, Version: working.Version - 1})
	require.ErrorIs(t, err, itsm.ErrConflict)
	var ce *itsm.ConflictError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, working.Version, ce.Actual)
	got := must(f.svc.Get(ctx, working.ID))
	require.Equal(t, working, got)
	require.Len(t, must(f.svc.History(ctx, working.ID)), 2, "refusals write no audit events")
}

func testRoleRestrictedLifecycle(t *testing.T, st storeFactory) {
	def := incident.DefaultDefinition()
	for i := range def.Transitions {
		if def.Transitions[i].Action == incident.ActClose {
			def.Transitions[i].Roles = []itsm.Role{"service-desk-lead"}
		}
	}
	lc, err := itsm.NewLifecycle(def)
	require.NoError(t, err)
	f := newFixture(t, st, func(c *incident.Config) { c.Lifecycle = lc })
	ctx := context.Background()
	inc := f.open(t, incident.OpenInput{})
	must(f.svc.StartWork(ctx, agent, inc.ID, 0))
	must(f.svc.Resolve(ctx, agent, inc.ID, incident.ResolveInput{Code: "solved", Notes: "n"}))
	_, err = f.svc.Close(ctx, agent, inc.ID, 0)
	require.ErrorIs(t, err, itsm.ErrForbidden)
	require.ErrorIs(t, err, itsm.ErrInvalidTransition)
	lead := itsm.Actor{ID: "lee", Roles: []itsm.Role{"service-desk-lead"}}
	closed, err := f.svc.Close(ctx, lead, inc.ID, 0)
	require.NoError(t, err)
	require.Equal(t, incident.Closed, closed.State)
	require.Equal(t, lc, f.svc.Lifecycle())
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, err := incident.NewService(ctx, nil, incident.Config{})
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = incident.NewService(ctx, memory.New(), incident.Config{
		HoldReasons:        []incident.HoldReason{incident.AwaitingVendor},
		PausingHoldReasons: []incident.HoldReason{incident.AwaitingCaller},
	})
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("pausing_hold_reasons[0]"))

	other, err := itsm.NewLifecycle(itsm.Definition[incident.State, incident.Action, *incident.Incident]{
		Kind: "problem", Initial: "a", States: []incident.State{"a", "b"}, Terminal: []incident.State{"b"},
		Categories:  map[incident.State]itsm.StateCategory{"a": itsm.CategoryNew, "b": itsm.CategoryClosed},
		Transitions: []incident.Transition{{Action: incident.ActClose, From: []incident.State{"a"}, To: "b"}},
	})
	require.NoError(t, err)
	_, err = incident.NewService(ctx, memory.New(), incident.Config{Lifecycle: other})
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("lifecycle"))

	_, err = incident.NewService(ctx, memory.New(), incident.Config{Duties: []incident.DutyRule{
		incident.CallerMayNotResolve,
		{Name: incident.CallerMayNotResolve.Name, Actions: []incident.Action{incident.ActClose}, Refuses: incident.CallerMayNotResolve.Refuses},
		{Actions: []incident.Action{"fly"}},
		{Name: "no-actions", Refuses: incident.CallerMayNotResolve.Refuses},
	}})
	require.ErrorAs(t, err, &ve)
	for _, f := range []string{"duties[1].name", "duties[2].name", "duties[2].actions[0]", "duties[2].refuses", "duties[3].actions"} {
		require.True(t, ve.Has(f), "%s in %v", f, err)
	}
	require.False(t, ve.Has("duties[0].name"))
}

func testJournal(t *testing.T, st storeFactory) {
	ctx := context.Background()
	// By default only the assignee's or a group member's comment responds,
	// and nobody is either yet: an agent's comment is not a response.
	plain := newFixture(t, st)
	waiting := plain.open(t, incident.OpenInput{Caller: caller})
	waiting = must(plain.svc.AddComment(ctx, agent, waiting.ID, "looking"))
	require.True(t, waiting.FirstResponseAt.IsZero())
	require.Equal(t, sla.StageRunning, plain.timer(t, waiting.ID, sla.MetricResponse).Stage)

	// Here every agent's comment responds.
	f := newFixture(t, st, func(c *incident.Config) {
		c.Responder = func(a itsm.Actor, _ *incident.Incident) bool { return a.HasAnyRole("service-desk") }
	})
	inc := f.open(t, incident.OpenInput{Caller: caller})

	// The caller's own comment is not a response.
	inc = must(f.svc.AddComment(ctx, caller, inc.ID, "it is still down"))
	require.True(t, inc.FirstResponseAt.IsZero())
	require.Equal(t, sla.StageRunning, f.timer(t, inc.ID, sla.MetricResponse).Stage)
	// Nor is a work note.
	f.clock.Advance(10 * time.Minute)
	inc = must(f.svc.AddWorkNote(ctx, agent, inc.ID, "checking the relay"))
	require.True(t, inc.FirstResponseAt.IsZero())
	// An agent's public comment is.
	f.clock.Advance(10 * time.Minute)
	inc = must(f.svc.AddComment(ctx, agent, inc.ID, "we are on it"))
	require.True(t, inc.FirstResponseAt.Equal(friday.Add(20*time.Minute)))
	resp := f.timer(t, inc.ID, sla.MetricResponse)
	require.Equal(t, sla.StageMet, resp.Stage)
	require.Equal(t, 20*time.Minute, resp.Elapsed)
	require.Len(t, inc.Journal, 3)
	note := inc.Journal[1]
	require.Equal(t, incident.Entry{Kind: incident.WorkNote, Author: "alice", At: note.At, Text: "checking the relay"}, note)
	require.True(t, note.At.Equal(friday.Add(10*time.Minute)), "at %v", note.At)

	_, err := f.svc.AddComment(ctx, agent, inc.ID, " ")
	require.ErrorIs(t, err, itsm.ErrValidation)
	must(f.svc.Cancel(ctx, agent, inc.ID, incident.CancelInput{Reason: "logged twice"}))
	_, err = f.svc.AddWorkNote(ctx, agent, inc.ID, "late note")
	require.ErrorIs(t, err, itsm.ErrValidation)

	// The history holds the SLA crossings that saving the timers
	// recorded, by the system, besides the service's own events.
	var hist []itsm.Event
	crossed := 0
	for _, ev := range must(f.svc.History(ctx, inc.ID)) {
		if _, ok := storage.CrossingFromEvent(ev); ok {
			require.Equal(t, itsm.System, ev.Actor)
			crossed++
			continue
		}
		hist = append(hist, ev)
	}
	require.Positive(t, crossed, "the response target's warnings passed before the comment")
	require.Equal(t, "comment", hist[1].Action)
	require.Contains(t, hist[1].Changes, itsm.Change{Field: "comment", New: "it is still down"})
	require.Contains(t, hist[3].Changes, itsm.Change{Field: "sla.gold.response", Old: "running", New: "met"})
}

func testSLAOnHoldAndResolve(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st)
	inc := f.open(t, incident.OpenInput{})

	f.clock.Advance(10 * time.Minute) // 15:10 Friday
	inc = must(f.svc.Assign(ctx, agent, inc.ID, incident.AssignInput{Assignee: "bob"}))
	resp := f.timer(t, inc.ID, sla.MetricResponse)
	require.Equal(t, sla.StageMet, resp.Stage, "the first assignment is the response")
	require.Equal(t, 10*time.Minute, resp.Elapsed)

	// Awaiting the vendor does not pause the resolution clock.
	f.clock.Advance(20 * time.Minute) // 15:30
	inc = must(f.svc.Hold(ctx, agent, inc.ID, incident.HoldInput{Reason: incident.AwaitingVendor}))
	require.Equal(t, sla.StageRunning, f.timer(t, inc.ID, sla.MetricResolution).Stage)
	f.clock.Advance(30 * time.Minute) // 16:00
	inc = must(f.svc.Resume(ctx, agent, inc.ID, 0))

	// Awaiting the caller pauses it, across the weekend.
	inc = must(f.svc.Hold(ctx, agent, inc.ID, incident.HoldInput{Reason: incident.AwaitingCaller}))
	res := f.timer(t, inc.ID, sla.MetricResolution)
	require.Equal(t, sla.StagePaused, res.Stage)
	require.Equal(t, time.Hour, res.Elapsed)
	f.clock.Set(time.Date(2026, 11, 23, 10, 0, 0, 0, ny)) // Monday 10:00
	res = f.timer(t, inc.ID, sla.MetricResolution)
	require.Equal(t, time.Hour, res.Elapsed, "paused time never counts")
	inc = must(f.svc.Resume(ctx, agent, inc.ID, 0))
	res = f.timer(t, inc.ID, sla.MetricResolution)
	require.Equal(t, sla.StageRunning, res.Stage)
	// 7 business hours left from Monday 10:00 → Monday 17:00.
	require.True(t, res.Due.Equal(time.Date(2026, 11, 23, 17, 0, 0, 0, ny)), "due %v", res.Due)

	f.clock.Advance(2 * time.Hour) // Monday 12:00
	inc = must(f.svc.Resolve(ctx, agent, inc.ID, incident.ResolveInput{Code: "solved", Notes: "n"}))
	res = f.timer(t, inc.ID, sla.MetricResolution)
	require.Equal(t, sla.StageMet, res.Stage)
	require.Equal(t, 3*time.Hour, res.Elapsed)

	// Reopening starts a new cycle.
	f.clock.Advance(time.Hour)
	inc = must(f.svc.Reopen(ctx, caller, inc.ID, incident.ReopenInput{Reason: "back again"}))
	res = f.timer(t, inc.ID, sla.MetricResolution)
	require.Equal(t, 2, res.Cycle)
	require.Equal(t, sla.StageRunning, res.Stage)
	require.Zero(t, res.Elapsed)
	require.Equal(t, sla.StageMet, f.timer(t, inc.ID, sla.MetricResponse).Stage, "the response timer is not reset")
}

func testPriorityChangeRetargets(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st)
	inc := f.open(t, incident.OpenInput{Impact: itsm.ImpactMedium, Urgency: itsm.UrgencyMedium}) // P3: resolution P2D
	require.Equal(t, itsm.PriorityModerate, inc.Priority)
	f.clock.Advance(time.Hour)

	inc = must(f.svc.SetPriority(ctx, agent, inc.ID, incident.PriorityInput{Impact: itsm.ImpactHigh, Urgency: itsm.UrgencyHigh}))
	require.Equal(t, itsm.PriorityCritical, inc.Priority)
	require.False(t, inc.PriorityOverridden)
	res := f.timer(t, inc.ID, sla.MetricResolution)
	require.Equal(t, sla.BusinessTime(4*time.Hour), res.Target)
	require.Equal(t, time.Hour, res.Elapsed, "elapsed time is kept")
	require.Equal(t, itsm.PriorityCritical, res.Priority)
	// The 15-minute P1 response target is already exceeded.
	require.Equal(t, sla.StageBreached, f.timer(t, inc.ID, sla.MetricResponse).Stage)

	// A manual override needs the permission and a reason.
	_, err := f.svc.SetPriority(ctx, agent, inc.ID, incident.PriorityInput{Priority: itsm.PriorityLow, Reason: "calmed down"})
	require.ErrorIs(t, err, itsm.ErrForbidden)
	_, err = f.svc.SetPriority(ctx, manager, inc.ID, incident.PriorityInput{Priority: itsm.PriorityLow})
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = f.svc.SetPriority(ctx, manager, inc.ID, incident.PriorityInput{Priority: 9, Reason: "x"})
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = f.svc.SetPriority(ctx, manager, inc.ID, incident.PriorityInput{Impact: 7})
	require.ErrorIs(t, err, itsm.ErrValidation)
	inc = must(f.svc.SetPriority(ctx, manager, inc.ID, incident.PriorityInput{Priority: itsm.PriorityLow, Reason: "workaround in place"}))
	require.Equal(t, itsm.PriorityLow, inc.Priority)
	require.True(t, inc.PriorityOverridden)
	require.Equal(t, sla.BusinessDays(5), f.timer(t, inc.ID, sla.MetricResolution).Target)

	hist := must(f.svc.History(ctx, inc.ID))
	last := hist[len(hist)-1]
	require.Equal(t, "set_priority", last.Action)
	require.Equal(t, "workaround in place", last.Reason)
	require.Equal(t, manager.ID, last.Actor.ID)
	require.Contains(t, last.Changes, itsm.Change{Field: "priority", Old: "P1", New: "P4"})
	require.Contains(t, last.Changes, itsm.Change{Field: "priority_overridden", Old: "false", New: "true"})

	// Dropping the override is overriding too: an actor without the
	// permission can neither drop it nor change impact or urgency under
	// it, and nothing changes; a manager can.
	for _, in := range []incident.PriorityInput{{}, {Impact: itsm.ImpactLow}, {Urgency: itsm.UrgencyLow, Reason: "fine now"}} {
		_, err = f.svc.SetPriority(ctx, agent, inc.ID, in)
		require.ErrorIs(t, err, itsm.ErrForbidden, "%+v", in)
	}
	same := must(f.svc.Get(ctx, inc.ID))
	require.Equal(t, inc.Version, same.Version, "a refused call changes nothing")
	require.Equal(t, itsm.PriorityLow, same.Priority)
	inc = must(f.svc.SetPriority(ctx, manager, inc.ID, incident.PriorityInput{}))
	require.False(t, inc.PriorityOverridden)
	require.Equal(t, itsm.PriorityCritical, inc.Priority, "derived from the matrix again")
	inc = must(f.svc.SetPriority(ctx, agent, inc.ID, incident.PriorityInput{Impact: itsm.ImpactMedium}))
	require.Equal(t, itsm.PriorityHigh, inc.Priority, "without an override anyone may change impact")
}

func testMajorIncidents(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st)
	inc := f.open(t, incident.OpenInput{})
	_, err := f.svc.SetMajor(ctx, agent, inc.ID, true, "whole site down", 0)
	require.ErrorIs(t, err, itsm.ErrForbidden)
	_, err = f.svc.SetMajor(ctx, manager, inc.ID, true, "", 0)
	require.ErrorIs(t, err, itsm.ErrValidation)
	inc = must(f.svc.SetMajor(ctx, manager, inc.ID, true, "whole site down", 0))
	require.True(t, inc.Major)
}

func testParentsAndChildren(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st)
	parent := f.open(t, incident.OpenInput{Title: "Mail outage"})
	newChild := f.open(t, incident.OpenInput{Title: "Cannot send mail", ParentID: parent.ID})
	workingChild := f.open(t, incident.OpenInput{Title: "Outlook errors", ParentID: parent.ID})
	workingChild = must(f.svc.StartWork(ctx, agent, workingChild.ID, 0))
	canceledChild := f.open(t, incident.OpenInput{Title: "Logged twice", ParentID: parent.ID})
	must(f.svc.Cancel(ctx, agent, canceledChild.ID, incident.CancelInput{Reason: "duplicate"}))
	grandchild := f.open(t, incident.OpenInput{Title: "Phone mail", ParentID: workingChild.ID})

	// No incident may become its own ancestor.
	_, err := f.svc.Link(ctx, agent, parent.ID, incident.LinkInput{ParentID: parent.ID})
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = f.svc.Link(ctx, agent, parent.ID, incident.LinkInput{ParentID: grandchild.ID})
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = f.svc.Link(ctx, agent, parent.ID, incident.LinkInput{})
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = f.svc.Link(ctx, agent, parent.ID, incident.LinkInput{ParentID: "missing"})
	require.ErrorIs(t, err, itsm.ErrNotFound)
	// Every store refuses an empty ID alike, and finds no children of an
	// incident it does not hold.
	_, err = f.svc.Children(ctx, "")
	require.ErrorIs(t, err, itsm.ErrValidation)
	require.Empty(t, must(f.svc.Children(ctx, "missing")))

	problem, change := f.other(t, "problem", "PRB1"), f.other(t, "change", "CHG7")
	linked := must(f.svc.Link(ctx, agent, parent.ID, incident.LinkInput{ProblemID: "PRB1", ChangeID: "CHG7"}))
	require.Equal(t, []record.Ref{problem}, linked.Linked(record.CausedBy.Name))
	linked = must(f.svc.Link(ctx, agent, parent.ID, incident.LinkInput{ProblemID: "PRB1"}))
	require.Equal(t, []record.Ref{problem}, linked.Linked(record.CausedBy.Name), "a link already present is not repeated")
	require.Equal(t, []record.Ref{change}, linked.Linked(record.FixedBy.Name))

	must(f.svc.StartWork(ctx, agent, parent.ID, 0))
	f.clock.Advance(time.Hour)
	must(f.svc.Resolve(ctx, agent, parent.ID, incident.ResolveInput{Code: "solved", Notes: "relay replaced"}))

	for _, id := range []string{newChild.ID, workingChild.ID, grandchild.ID} {
		c := must(f.svc.Get(ctx, id))
		require.Equal(t, incident.Resolved, c.State, c.Title)
		require.Equal(t, incident.ResolutionCode("solved"), c.ResolutionCode)
		require.Equal(t, "relay replaced", c.ResolutionNotes)
		require.Equal(t, sla.StageMet, f.timer(t, id, sla.MetricResolution).Stage)
		hist := must(f.svc.History(ctx, id))
		last := hist[len(hist)-1]
		require.Equal(t, "resolve", last.Action)
		require.Contains(t, last.Reason, "resolved with parent")
	}
	require.Equal(t, incident.Canceled, must(f.svc.Get(ctx, canceledChild.ID)).State, "closed children stay as they are")
}

func testReopenWindow(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st, func(c *incident.Config) { c.ReopenWindow = 48 * time.Hour })
	inc := f.open(t, incident.OpenInput{})
	must(f.svc.StartWork(ctx, agent, inc.ID, 0))
	must(f.svc.Resolve(ctx, agent, inc.ID, incident.ResolveInput{Code: "solved", Notes: "n"}))
	f.clock.Advance(48*time.Hour + time.Second)
	_, err := f.svc.Reopen(ctx, caller, inc.ID, incident.ReopenInput{Reason: "again"})
	require.ErrorIs(t, err, itsm.ErrInvalidTransition)
	var te *itsm.TransitionError
	require.ErrorAs(t, err, &te)
	require.Equal(t, "reopen-window", te.Unmet[0].Guard)
}

func testCloseResolved(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st) // 3 business days on the US calendar
	resolve := func(major bool) *incident.Incident {
		actor := agent
		if major {
			actor = manager
		}
		inc, err := f.svc.Open(ctx, actor, incident.OpenInput{Title: "x", Impact: 2, Urgency: 2, Major: major})
		require.NoError(t, err)
		must(f.svc.StartWork(ctx, agent, inc.ID, 0))
		return must(f.svc.Resolve(ctx, actor, inc.ID, incident.ResolveInput{Code: "solved", Notes: "n"}))
	}
	a := resolve(false)
	major := resolve(true)
	f.clock.Set(time.Date(2026, 11, 23, 12, 0, 0, 0, ny)) // Monday
	b := resolve(false)

	// Resolved Friday: open days after it are Mon 23, Tue 24, Wed 25
	// (Thursday 26 is Thanksgiving), so it closes at 17:00 Wednesday.
	f.clock.Set(time.Date(2026, 11, 25, 16, 59, 0, 0, ny))
	n, err := f.svc.CloseResolved(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	f.clock.Set(time.Date(2026, 11, 25, 17, 0, 0, 0, ny))
	n, err = f.svc.CloseResolved(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	closed := must(f.svc.Get(ctx, a.ID))
	require.Equal(t, incident.Closed, closed.State)
	hist := must(f.svc.History(ctx, a.ID))
	require.Equal(t, itsm.System.ID, hist[len(hist)-1].Actor.ID)
	require.Equal(t, incident.Resolved, must(f.svc.Get(ctx, b.ID)).State)

	// Resolved Monday: Tue 24, Wed 25, Fri 27 → closes Friday 17:00.
	f.clock.Set(time.Date(2026, 12, 31, 0, 0, 0, 0, ny))
	n, err = f.svc.CloseResolved(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, incident.Closed, must(f.svc.Get(ctx, b.ID)).State)
	require.Equal(t, incident.Resolved, must(f.svc.Get(ctx, major.ID)).State, "major incidents are never closed automatically")

	off := newFixture(t, st, func(c *incident.Config) { c.AutoCloseDays = -1 })
	n, err = off.svc.CloseResolved(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

func testListFilters(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st)
	p1 := f.open(t, incident.OpenInput{Title: "Payroll down", Impact: 1, Urgency: 1, Service: "payroll", OpenedAt: friday.Add(-time.Second)})
	p4 := f.open(t, incident.OpenInput{Title: "Printer jam", Impact: 3, Urgency: 2})
	must(f.svc.Assign(ctx, agent, p4.ID, incident.AssignInput{Assignee: "bob", AssignmentGroup: "desk"}))

	ids := func(q incident.Query) []string {
		page, err := f.svc.List(ctx, q)
		require.NoError(t, err)
		var out []string
		for _, i := range page.Incidents {
			out = append(out, i.Number)
		}
		return out
	}
	require.Equal(t, []string{p1.Number, p4.Number}, ids(incident.Query{}))
	require.Equal(t, []string{p1.Number}, ids(incident.Query{States: []string{string(incident.New)}}))
	require.Equal(t, []string{p4.Number}, ids(incident.Query{Priorities: []itsm.Priority{itsm.PriorityLow}}))
	require.Equal(t, []string{p4.Number}, ids(incident.Query{Assignee: "bob", AssignmentGroup: "desk"}))
	require.Equal(t, []string{p1.Number}, ids(incident.Query{Service: "payroll"}))
	require.Equal(t, []string{p4.Number}, ids(incident.Query{Text: "PRINTER"}))

	// P1 resolution: 4 business hours from 14:59:59 Friday: 2h00m01s on
	// Friday, so 75 % (3 h) is reached at 09:59:59 Monday and the target
	// at 10:59:59.
	require.Empty(t, ids(incident.Query{SLA: record.SLAFilter{Breached: true}}))
	require.Empty(t, ids(incident.Query{SLA: record.SLAFilter{AtRisk: true}}))
	f.clock.Advance(15 * time.Minute)
	require.Equal(t, []string{p1.Number}, ids(incident.Query{SLA: record.SLAFilter{Breached: true}}), "the 15-minute response target has passed")
	monday := func(h, m, s int) time.Time { return time.Date(2026, 11, 23, h, m, s, 0, ny) }
	require.Empty(t, ids(incident.Query{SLA: record.SLAFilter{AtRisk: true}, Now: monday(9, 59, 58)}))
	require.Equal(t, []string{p1.Number}, ids(incident.Query{SLA: record.SLAFilter{AtRisk: true}, Now: monday(9, 59, 59)}))
	require.Equal(t, []string{p1.Number}, ids(incident.Query{SLA: record.SLAFilter{AtRisk: true}, Now: monday(10, 59, 59)}))
	require.Empty(t, ids(incident.Query{SLA: record.SLAFilter{AtRisk: true}, Now: monday(11, 0, 0)}), "breached is no longer at risk")
	require.Equal(t, []string{p1.Number}, ids(incident.Query{SLA: record.SLAFilter{Breached: true}, Now: monday(11, 0, 0)}))

	_, err := f.svc.List(ctx, incident.Query{After: "!!"})
	require.ErrorIs(t, err, itsm.ErrValidation)
}

// failingStore makes AppendEvents fail, to prove an operation is atomic.
type failingStore struct {
	record.Store
}

type failingTx struct{ record.Tx }

func (s failingStore) InTx(ctx context.Context, fn func(context.Context, record.Tx) error) error {
	return s.Store.InTx(ctx, func(ctx context.Context, tx record.Tx) error { return fn(ctx, failingTx{tx}) })
}

var errDisk = errors.New("disk full")

func (failingTx) AppendEvents(context.Context, ...itsm.Event) error { return errDisk }

func testOperationsAreAtomic(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st)
	inc := f.open(t, incident.OpenInput{})
	broken, err := incident.NewService(ctx, failingStore{f.store}, incident.Config{
		Clock: f.clock, Calendars: sla.Calendars{"us-9-5": f.cal},
		Policies: incident.Policies{List: nil},
	})
	require.NoError(t, err)
	_, err = broken.Assign(ctx, agent, inc.ID, incident.AssignInput{Assignee: "bob"})
	require.ErrorIs(t, err, errDisk)
	require.Equal(t, inc, must(f.svc.Get(ctx, inc.ID)))
	require.Equal(t, sla.StageRunning, f.timer(t, inc.ID, sla.MetricResponse).Stage, "the timer stop was rolled back")
	_, err = broken.Open(ctx, agent, incident.OpenInput{Title: "x", Impact: 1, Urgency: 1})
	require.ErrorIs(t, err, errDisk)
	page := must(f.svc.List(ctx, incident.Query{}))
	require.Len(t, page.Incidents, 1)
}

func testLookupsAndJoinedStore(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st)
	inc := f.open(t, incident.OpenInput{})
	got, err := f.svc.GetByNumber(ctx, inc.Number)
	require.NoError(t, err)
	require.Equal(t, inc, got)
	_, err = f.svc.GetByNumber(ctx, "INC9999999")
	require.ErrorIs(t, err, itsm.ErrNotFound)
	_, err = f.svc.History(ctx, "missing")
	require.ErrorIs(t, err, itsm.ErrNotFound)
	_, err = f.svc.SLA(ctx, "missing")
	require.ErrorIs(t, err, itsm.ErrNotFound)

	other := st(t)
	require.NoError(t, other.Declare(ctx, f.svc.Schema()))
	moved := f.svc.WithStore(other)
	_, err = moved.Get(ctx, inc.ID)
	require.ErrorIs(t, err, itsm.ErrNotFound, "the copy works on its own store")
	fresh, err := moved.Open(ctx, agent, incident.OpenInput{Title: "x", Impact: 1, Urgency: 1})
	require.NoError(t, err)
	require.Equal(t, "INC0001001", fresh.Number)
	_, err = f.svc.Get(ctx, fresh.ID)
	require.ErrorIs(t, err, itsm.ErrNotFound, "the original is untouched")
}

// selectorFunc adapts functions to incident.PolicySelector.
type selectorFunc struct {
	sel func(*incident.Incident) ([]*sla.Policy, error)
}

func (s selectorFunc) Select(_ context.Context, inc *incident.Incident) ([]*sla.Policy, error) {
	return s.sel(inc)
}

func (s selectorFunc) Policy(context.Context, string) (*sla.Policy, error) {
	return nil, &itsm.NotFoundError{Kind: "sla policy", ID: "any"}
}

func testPolicySelection(t *testing.T, st storeFactory) {
	ctx := context.Background()
	boom := errors.New("catalogue offline")
	f := newFixture(t, st, func(c *incident.Config) {
		c.Policies = selectorFunc{sel: func(inc *incident.Incident) ([]*sla.Policy, error) {
			if inc.Service == "down" {
				return nil, boom
			}
			return nil, nil
		}}
	})
	_, err := f.svc.Open(ctx, agent, incident.OpenInput{Title: "x", Impact: 1, Urgency: 1, Service: "down"})
	require.ErrorIs(t, err, boom)
	inc := f.open(t, incident.OpenInput{Service: "mail"})
	ts, err := f.svc.SLA(ctx, inc.ID)
	require.NoError(t, err)
	require.Empty(t, ts, "no policy, no timers")

	// Applies narrows a fixed list.
	pol, err := sla.ParsePolicy([]byte(goldPolicy), sla.Calendars{"us-9-5": f.cal})
	require.NoError(t, err)
	sel := incident.Policies{List: []*sla.Policy{pol}, Applies: func(inc *incident.Incident, _ *sla.Policy) bool { return inc.Service == "mail" }}
	got, err := sel.Select(ctx, &incident.Incident{Service: "mail"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	got, err = sel.Select(ctx, &incident.Incident{Service: "payroll"})
	require.NoError(t, err)
	require.Empty(t, got)
	_, err = sel.Policy(ctx, "silver")
	require.ErrorIs(t, err, itsm.ErrNotFound)
}

// A child the lifecycle refuses to resolve blocks its parent's resolution,
// and nothing of either is stored.
func testChildRefusalBlocksParent(t *testing.T, st storeFactory) {
	ctx := context.Background()
	def := incident.DefaultDefinition()
	def.Transitions = append(def.Transitions[:0:0], def.Transitions...)
	for i := range def.Transitions {
		if def.Transitions[i].Action == incident.ActResolve {
			def.Transitions[i].Guards = []itsm.Guard[*incident.Incident]{{Name: "no-vip", Check: func(i *incident.Incident, _ itsm.Actor) error {
				if i.Category == "vip" {
					return errors.New("VIP incidents are resolved by hand")
				}
				return nil
			}}}
		}
	}
	lc, err := itsm.NewLifecycle(def)
	require.NoError(t, err)
	f := newFixture(t, st, func(c *incident.Config) { c.Lifecycle = lc })
	parent := f.open(t, incident.OpenInput{})
	parent = must(f.svc.StartWork(ctx, agent, parent.ID, 0))
	child := f.open(t, incident.OpenInput{ParentID: parent.ID, Category: "vip"})

	_, err = f.svc.Resolve(ctx, agent, parent.ID, incident.ResolveInput{Code: "solved", Notes: "n"})
	var te *itsm.TransitionError
	require.ErrorAs(t, err, &te)
	require.Equal(t, child.Number, te.ID)
	require.Equal(t, "no-vip", te.Unmet[0].Guard)
	require.Equal(t, parent, must(f.svc.Get(ctx, parent.ID)))
	require.Equal(t, child, must(f.svc.Get(ctx, child.ID)))
}

func testRestrictedCodesAndReasons(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st, func(c *incident.Config) {
		c.ResolutionCodes = []incident.ResolutionCode{"solved", "workaround"}
		c.HoldReasons = []incident.HoldReason{incident.AwaitingVendor, "awaiting_parts"}
		c.PausingHoldReasons = []incident.HoldReason{"awaiting_parts"}
	})
	inc := f.open(t, incident.OpenInput{})
	inc = must(f.svc.StartWork(ctx, agent, inc.ID, 0))
	_, err := f.svc.Hold(ctx, agent, inc.ID, incident.HoldInput{Reason: incident.AwaitingCaller})
	require.ErrorIs(t, err, itsm.ErrValidation, "not one of the configured reasons")
	inc = must(f.svc.Hold(ctx, agent, inc.ID, incident.HoldInput{Reason: "awaiting_parts"}))
	require.Equal(t, sla.StagePaused, f.timer(t, inc.ID, sla.MetricResolution).Stage)
	_, err = f.svc.Resolve(ctx, agent, inc.ID, incident.ResolveInput{Code: "magic", Notes: "n"})
	require.ErrorIs(t, err, itsm.ErrValidation)
	inc = must(f.svc.Resolve(ctx, agent, inc.ID, incident.ResolveInput{Code: "workaround", Notes: "n"}))
	require.Equal(t, incident.Resolved, inc.State)
	require.Equal(t, sla.StageMet, f.timer(t, inc.ID, sla.MetricResolution).Stage, "a paused timer stops as met")
}

// serviceTests are run on every store by TestService.
var serviceTests = map[string]func(*testing.T, storeFactory){
	"Open":                               testOpen,
	"OpenBackdated":                      testOpenBackdated,
	"OpenRefusals":                       testOpenRefusals,
	"LifecycleThroughService":            testLifecycleThroughService,
	"Refusals":                           testRefusals,
	"RoleRestrictedLifecycle":            testRoleRestrictedLifecycle,
	"Journal":                            testJournal,
	"SLAOnHoldAndResolve":                testSLAOnHoldAndResolve,
	"PriorityChangeRetargets":            testPriorityChangeRetargets,
	"MajorIncidents":                     testMajorIncidents,
	"ParentsAndChildren":                 testParentsAndChildren,
	"ReopenWindow":                       testReopenWindow,
	"CloseResolved":                      testCloseResolved,
	"ListFilters":                        testListFilters,
	"OperationsAreAtomic":                testOperationsAreAtomic,
	"LookupsAndJoinedStore":              testLookupsAndJoinedStore,
	"PolicySelection":                    testPolicySelection,
	"ChildRefusalBlocksParent":           testChildRefusalBlocksParent,
	"RestrictedCodesAndReasons":          testRestrictedCodesAndReasons,
	"ParentRingConcurrently":             testParentRingConcurrently,
	"DuplicateRingConcurrently":          testDuplicateRingConcurrently,
	"LatestWritesConcurrently":           testLatestWritesConcurrently,
	"ImplicitAssignmentNeedsAssignRoles": testImplicitAssignmentNeedsAssignRoles,
	"SegregationOfDuties":                testSegregationOfDuties,
}

// testSegregationOfDuties runs CallerMayNotResolve: an agent who logged
// an incident for themselves may work it but not resolve or close it, and
// a parent's resolution leaves such a child open; another agent may.
func testSegregationOfDuties(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st, func(c *incident.Config) { c.Duties = []incident.DutyRule{incident.CallerMayNotResolve} })
	other := itsm.Actor{ID: "omar", Roles: agent.Roles}
	own := f.open(t, incident.OpenInput{Caller: agent})
	own = must(f.svc.StartWork(ctx, agent, own.ID, 0))
	_, err := f.svc.Resolve(ctx, agent, own.ID, incident.ResolveInput{Code: "solved", Notes: "n"})
	require.ErrorIs(t, err, itsm.ErrForbidden)
	var de *itsm.DutyError
	require.ErrorAs(t, err, &de)
	require.Equal(t, incident.CallerMayNotResolve.Name, de.Rule)
	require.Equal(t, own.Number, de.ID)
	require.Contains(t, err.Error(), "caller-may-not-resolve")
	require.Equal(t, own.Version, must(f.svc.Get(ctx, own.ID)).Version, "a refused action changes nothing")
	own = must(f.svc.Resolve(ctx, other, own.ID, incident.ResolveInput{Code: "solved", Notes: "n"}))
	_, err = f.svc.Close(ctx, agent, own.ID, 0)
	require.ErrorAs(t, err, &de)
	must(f.svc.Close(ctx, other, own.ID, 0))

	parent := must(f.svc.StartWork(ctx, agent, f.open(t, incident.OpenInput{Title: "Parent", Caller: other}).ID, 0))
	mine := f.open(t, incident.OpenInput{Title: "Mine", Caller: agent, ParentID: parent.ID})
	theirs := f.open(t, incident.OpenInput{Title: "Theirs", Caller: other, ParentID: parent.ID})
	must(f.svc.Resolve(ctx, agent, parent.ID, incident.ResolveInput{Code: "solved", Notes: "n"}))
	require.Equal(t, incident.New, must(f.svc.Get(ctx, mine.ID)).State, "left open: its caller resolved the parent")
	require.Equal(t, incident.Resolved, must(f.svc.Get(ctx, theirs.ID)).State)
}

// testImplicitAssignmentNeedsAssignRoles runs a lifecycle whose assign
// action only dispatchers may take and whose new incidents must be
// started before they are resolved: StartWork assigns an unassigned
// incident to an agent only through that action, and a parent's
// resolution leaves open an unassigned child the actor may not assign.
func testImplicitAssignmentNeedsAssignRoles(t *testing.T, st storeFactory) {
	def := incident.DefaultDefinition()
	for i, tr := range def.Transitions {
		switch tr.Action {
		case incident.ActAssign:
			def.Transitions[i].Roles = []itsm.Role{"dispatcher"}
		case incident.ActResolve:
			def.Transitions[i].From = []incident.State{incident.InProgress, incident.OnHold}
		}
	}
	lc, err := itsm.NewLifecycle(def)
	require.NoError(t, err)
	f := newFixture(t, st, func(c *incident.Config) { c.Lifecycle = lc })
	ctx := context.Background()
	dispatcher := itsm.Actor{ID: "dina", Roles: []itsm.Role{"dispatcher"}}

	inc := f.open(t, incident.OpenInput{})
	_, err = f.svc.StartWork(ctx, agent, inc.ID, 0)
	require.ErrorIs(t, err, itsm.ErrForbidden)
	require.Equal(t, inc.Version, must(f.svc.Get(ctx, inc.ID)).Version, "a refused start changes nothing")
	started := must(f.svc.StartWork(ctx, dispatcher, inc.ID, 0))
	require.Equal(t, dispatcher.ID, started.Assignee)

	// Resolving a parent starts its new children first; an unassigned one
	// is assigned the parent's assignee only by an actor who may assign.
	resolve := func(actor itsm.Actor) (parent, child *incident.Incident) {
		parent = must(f.svc.StartWork(ctx, dispatcher, f.open(t, incident.OpenInput{Title: "Parent"}).ID, 0))
		child = f.open(t, incident.OpenInput{Title: "Child", ParentID: parent.ID})
		parent = must(f.svc.Resolve(ctx, actor, parent.ID, incident.ResolveInput{Code: "solved", Notes: "n"}))
		return parent, must(f.svc.Get(ctx, child.ID))
	}
	parent, child := resolve(agent)
	require.Equal(t, incident.Resolved, parent.State)
	require.Equal(t, incident.New, child.State, "left open: the agent may not assign it")
	require.Empty(t, child.Assignee)
	parent, child = resolve(dispatcher)
	require.Equal(t, incident.Resolved, parent.State)
	require.Equal(t, incident.Resolved, child.State)
	require.Equal(t, dispatcher.ID, child.Assignee)
}

// testLatestWritesConcurrently has many callers add work notes to one
// incident at once, none naming a version: each applies to the incident
// as it then is, so every one succeeds on every store (where a store lets
// two of them read the same version, the later retries), and the journal
// holds them all. A call that names a version it no longer has still
// fails.
func testLatestWritesConcurrently(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st)
	inc := f.open(t, incident.OpenInput{})
	const n = 50
	errs := atOnce(n, func(i int) error {
		_, err := f.svc.AddWorkNote(ctx, agent, inc.ID, fmt.Sprint("note ", i))
		return err
	})
	for i, err := range errs {
		require.NoError(t, err, "note %d", i)
	}
	got := must(f.svc.Get(ctx, inc.ID))
	require.Len(t, got.Journal, n)
	require.Equal(t, inc.Version+n, got.Version)
	_, err := f.svc.StartWork(ctx, agent, inc.ID, inc.Version)
	var ce *itsm.ConflictError
	require.ErrorAs(t, err, &ce, "a stale version is refused, not retried")
}

// atOnce calls fn(0) to fn(n-1) on n goroutines released together and
// returns their errors by i.
func atOnce(n int, fn func(i int) error) []error {
	var (
		start = make(chan struct{})
		wg    sync.WaitGroup
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// testRing has n incidents each link to the next at once, the last to
// the first, with link; exactly one call must be refused as a cycle.
func testRing(t *testing.T, st storeFactory, link func(f *fixture, from, to *incident.Incident) error) {
	f := newFixture(t, st)
	const n = 8
	incs := make([]*incident.Incident, n)
	for i := range incs {
		incs[i] = f.open(t, incident.OpenInput{Title: fmt.Sprint("Ring ", i)})
	}
	errs := atOnce(n, func(i int) error { return link(f, incs[i], incs[(i+1)%n]) })
	refused := 0
	for _, err := range errs {
		if err != nil {
			require.ErrorIs(t, err, itsm.ErrValidation)
			refused++
		}
	}
	require.Equal(t, 1, refused, "exactly the call that would close the ring is refused")
}

func testParentRingConcurrently(t *testing.T, st storeFactory) {
	testRing(t, st, func(f *fixture, from, to *incident.Incident) error {
		_, err := f.svc.Link(context.Background(), agent, from.ID, incident.LinkInput{ParentID: to.ID})
		return err
	})
}

func testDuplicateRingConcurrently(t *testing.T, st storeFactory) {
	testRing(t, st, func(f *fixture, from, to *incident.Incident) error {
		_, err := f.svc.Link(context.Background(), agent, from.ID, incident.LinkInput{DuplicateOf: to.ID})
		return err
	})
}
