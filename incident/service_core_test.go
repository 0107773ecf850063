package incident_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
)

func init() {
	serviceTests["Edit"] = testEdit
	serviceTests["EditReselectsPolicies"] = testEditReselectsPolicies
	serviceTests["AssignmentGroupClearsAssignee"] = testAssignmentGroupClearsAssignee
	serviceTests["FirstContactResolution"] = testFirstContactResolution
	serviceTests["CallerReplyLiftsHold"] = testCallerReplyLiftsHold
	serviceTests["MajorIncidentPermission"] = testMajorIncidentPermission
	serviceTests["Duplicates"] = testDuplicates
	serviceTests["Unlink"] = testUnlink
	serviceTests["Attributes"] = testAttributes
	serviceTests["StateCategories"] = testStateCategories
}

func ptr[T any](v T) *T { return &v }

func testEdit(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st)
	inc := f.open(t, incident.OpenInput{Caller: caller, Service: "mail", ConfigItems: []string{"relay-1"}})
	f.clock.Advance(time.Minute)
	edited := must(f.svc.Edit(ctx, agent, inc.ID, incident.EditInput{
		Title: ptr(" Mail relay down "), Description: ptr("since 14:50"), Category: ptr("network"),
		ConfigItems: ptr([]string{"relay-1", "relay-2"}), Watchers: ptr([]string{"dave"}),
		Caller: &itsm.Actor{ID: "erin"}, Version: inc.Version,
	}))
	require.Equal(t, "Mail relay down", edited.Title)
	require.Equal(t, "since 14:50", edited.Description)
	require.Equal(t, "network", edited.Category)
	require.Equal(t, []string{"relay-1", "relay-2"}, edited.ConfigItems)
	require.Equal(t, []string{"dave"}, edited.Watchers)
	require.Equal(t, "erin", edited.Caller.ID)
	require.Equal(t, inc.Version+1, edited.Version)
	require.Equal(t, edited, must(f.svc.Get(ctx, inc.ID)))

	hist := must(f.svc.History(ctx, inc.ID))
	last := hist[len(hist)-1]
	require.Equal(t, "edit", last.Action)
	for _, c := range []itsm.Change{
		{Field: "title", Old: "Mail is down", New: "Mail relay down"},
		{Field: "description", New: "since 14:50"},
		{Field: "category", New: "network"},
		{Field: "config_items", Old: "relay-1", New: "relay-1,relay-2"},
		{Field: "watchers", New: "dave"},
		{Field: "caller", Old: "carol (Carol)", New: "erin"},
	} {
		require.Contains(t, last.Changes, c)
	}

	// Filters see the edit.
	page := must(f.svc.List(ctx, incident.Query{ConfigItem: "relay-2"}))
	require.Len(t, page.Incidents, 1)
	page = must(f.svc.List(ctx, incident.Query{Category: "network", Requester: "erin"}))
	require.Len(t, page.Incidents, 1)

	_, err := f.svc.Edit(ctx, agent, inc.ID, incident.EditInput{Title: ptr(" ")})
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = f.svc.Edit(ctx, agent, inc.ID, incident.EditInput{Caller: &itsm.Actor{}})
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = f.svc.Edit(ctx, agent, inc.ID, incident.EditInput{Category: ptr("x"), Version: inc.Version})
	require.ErrorIs(t, err, itsm.ErrConflict)
	must(f.svc.Cancel(ctx, agent, inc.ID, incident.CancelInput{Reason: "logged twice"}))
	_, err = f.svc.Edit(ctx, agent, inc.ID, incident.EditInput{Category: ptr("x")})
	require.ErrorIs(t, err, itsm.ErrValidation, "a canceled incident is final")
}

// The gold policy applies to the mail service only: moving an incident
// away cancels its timers, moving it back starts a new cycle.
func testEditReselectsPolicies(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st, func(c *incident.Config) {
		pols := c.Policies.(incident.Policies)
		pols.Applies = func(inc *incident.Incident, _ *sla.Policy) bool { return inc.Service == "mail" }
		c.Policies = pols
	})
	none := f.open(t, incident.OpenInput{Service: "payroll"})
	ts := must(f.svc.SLA(ctx, none.ID))
	require.Empty(t, ts)

	f.clock.Advance(5 * time.Minute)
	moved := must(f.svc.Edit(ctx, agent, none.ID, incident.EditInput{Service: ptr("mail")}))
	res := f.timer(t, moved.ID, sla.MetricResolution)
	require.Equal(t, sla.StageRunning, res.Stage)
	require.Zero(t, res.Elapsed, "a policy that starts to apply starts its clock now")
	require.Len(t, moved.SLA, 2)

	must(f.svc.Assign(ctx, agent, moved.ID, incident.AssignInput{Assignee: "bob"}))
	f.clock.Advance(5 * time.Minute)
	away := must(f.svc.Edit(ctx, agent, moved.ID, incident.EditInput{Service: ptr("payroll")}))
	require.Equal(t, sla.StageCancelled, f.timer(t, away.ID, sla.MetricResolution).Stage)
	require.Equal(t, sla.StageMet, f.timer(t, away.ID, sla.MetricResponse).Stage, "an ended timer stays as it ended")
	last := must(f.svc.History(ctx, away.ID))
	require.Contains(t, last[len(last)-1].Changes, itsm.Change{Field: "sla.gold.resolution", Old: "running", New: "cancelled"})

	back := must(f.svc.Edit(ctx, agent, away.ID, incident.EditInput{Service: ptr("mail")}))
	require.Equal(t, sla.StageRunning, f.timer(t, back.ID, sla.MetricResolution).Stage)
	ts = must(f.svc.SLA(ctx, back.ID))
	require.Len(t, ts, 2, "no response timer after the first response; the resolution timer starts a new cycle")
}

func testAssignmentGroupClearsAssignee(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st)
	inc := f.open(t, incident.OpenInput{})
	inc = must(f.svc.Assign(ctx, agent, inc.ID, incident.AssignInput{AssignmentGroup: "desk", Assignee: "bob"}))
	require.Equal(t, "bob", inc.Assignee)
	inc = must(f.svc.Assign(ctx, agent, inc.ID, incident.AssignInput{AssignmentGroup: "network"}))
	require.Equal(t, "network", inc.AssignmentGroup)
	require.Empty(t, inc.Assignee, "a new group clears the assignee")
	inc = must(f.svc.Assign(ctx, agent, inc.ID, incident.AssignInput{AssignmentGroup: "network", Assignee: "nina"}))
	require.Equal(t, "nina", inc.Assignee)
	inc = must(f.svc.Assign(ctx, agent, inc.ID, incident.AssignInput{AssignmentGroup: "desk", Assignee: "dan"}))
	require.Equal(t, "dan", inc.Assignee, "a group change keeps the assignee the call names")
	inc = must(f.svc.Assign(ctx, agent, inc.ID, incident.AssignInput{ClearAssignee: true}))
	require.Empty(t, inc.Assignee)
	require.Equal(t, "desk", inc.AssignmentGroup)
	_, err := f.svc.Assign(ctx, agent, inc.ID, incident.AssignInput{Assignee: "x", ClearAssignee: true})
	require.ErrorIs(t, err, itsm.ErrValidation)

	// Clearing the last assignment leaves nobody: the lifecycle refuses.
	solo := f.open(t, incident.OpenInput{})
	solo = must(f.svc.Assign(ctx, agent, solo.ID, incident.AssignInput{Assignee: "bob"}))
	_, err = f.svc.Assign(ctx, agent, solo.ID, incident.AssignInput{ClearAssignee: true})
	require.ErrorIs(t, err, itsm.ErrInvalidTransition)
}

func testFirstContactResolution(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st)
	inc := f.open(t, incident.OpenInput{})
	f.clock.Advance(4 * time.Minute)
	inc = must(f.svc.Resolve(ctx, agent, inc.ID, incident.ResolveInput{Code: "solved", Notes: "password reset on the call"}))
	require.Equal(t, incident.Resolved, inc.State)
	require.Equal(t, itsm.CategoryResolved, inc.StateCategory)
	require.True(t, inc.FirstResponseAt.Equal(friday.Add(4*time.Minute)))
	require.Equal(t, sla.StageMet, f.timer(t, inc.ID, sla.MetricResponse).Stage)
	require.Equal(t, sla.StageMet, f.timer(t, inc.ID, sla.MetricResolution).Stage)
}

func testCallerReplyLiftsHold(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st)
	inc := f.open(t, incident.OpenInput{Caller: caller})
	inc = must(f.svc.StartWork(ctx, agent, inc.ID, 0))
	inc = must(f.svc.Hold(ctx, agent, inc.ID, incident.HoldInput{Reason: incident.AwaitingCaller}))
	require.Equal(t, sla.StagePaused, f.timer(t, inc.ID, sla.MetricResolution).Stage)

	// A work note or someone else's comment does not lift it.
	inc = must(f.svc.AddComment(ctx, agent, inc.ID, "any news?"))
	require.Equal(t, incident.OnHold, inc.State)
	f.clock.Advance(time.Hour)
	inc = must(f.svc.AddComment(ctx, caller, inc.ID, "here are the logs"))
	require.Equal(t, incident.InProgress, inc.State)
	require.Empty(t, inc.HoldReason)
	require.Equal(t, sla.StageRunning, f.timer(t, inc.ID, sla.MetricResolution).Stage)
	hist := must(f.svc.History(ctx, inc.ID))
	require.Equal(t, "on_hold", hist[len(hist)-1].From)
	require.Equal(t, "in_progress", hist[len(hist)-1].To)

	// Another hold reason is not the caller's to lift.
	inc = must(f.svc.Hold(ctx, agent, inc.ID, incident.HoldInput{Reason: incident.AwaitingVendor}))
	inc = must(f.svc.AddComment(ctx, caller, inc.ID, "still broken"))
	require.Equal(t, incident.OnHold, inc.State)

	// And it can be turned off.
	off := newFixture(t, st, func(c *incident.Config) { c.CallerReplyResumes = []incident.HoldReason{} })
	held := off.open(t, incident.OpenInput{Caller: caller})
	must(off.svc.StartWork(ctx, agent, held.ID, 0))
	must(off.svc.Hold(ctx, agent, held.ID, incident.HoldInput{Reason: incident.AwaitingCaller}))
	held = must(off.svc.AddComment(ctx, caller, held.ID, "logs attached"))
	require.Equal(t, incident.OnHold, held.State)

	_, err := incident.NewService(ctx, st(t), incident.Config{CallerReplyResumes: []incident.HoldReason{"awaiting_godot"}})
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("caller_reply_resumes[0]"))
}

func testMajorIncidentPermission(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st)
	major, err := f.svc.Open(ctx, manager, incident.OpenInput{Title: "Site down", Impact: 1, Urgency: 1, Major: true})
	require.NoError(t, err)
	major = must(f.svc.StartWork(ctx, agent, major.ID, 0))
	_, err = f.svc.Resolve(ctx, agent, major.ID, incident.ResolveInput{Code: "solved", Notes: "n"})
	require.ErrorIs(t, err, itsm.ErrForbidden)
	_, err = f.svc.Cancel(ctx, agent, major.ID, incident.CancelInput{Reason: "r"})
	require.ErrorIs(t, err, itsm.ErrForbidden)
	major = must(f.svc.Resolve(ctx, manager, major.ID, incident.ResolveInput{Code: "solved", Notes: "n"}))
	_, err = f.svc.Close(ctx, agent, major.ID, 0)
	require.ErrorIs(t, err, itsm.ErrForbidden)
	must(f.svc.Close(ctx, manager, major.ID, 0))

	// A parent's cascade leaves a major child to those who may resolve it.
	parent := must(f.svc.StartWork(ctx, agent, f.open(t, incident.OpenInput{}).ID, 0))
	child, err := f.svc.Open(ctx, manager, incident.OpenInput{Title: "Branch down", Impact: 1, Urgency: 1, Major: true, ParentID: parent.ID})
	require.NoError(t, err)
	plain := f.open(t, incident.OpenInput{ParentID: parent.ID})
	must(f.svc.Resolve(ctx, agent, parent.ID, incident.ResolveInput{Code: "solved", Notes: "n"}))
	require.Equal(t, incident.New, must(f.svc.Get(ctx, child.ID)).State)
	require.Equal(t, incident.Resolved, must(f.svc.Get(ctx, plain.ID)).State)
}

func testDuplicates(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st)
	original := must(f.svc.StartWork(ctx, agent, f.open(t, incident.OpenInput{Title: "VPN down"}).ID, 0))
	dup := f.open(t, incident.OpenInput{Title: "No VPN"})
	dup = must(f.svc.Link(ctx, agent, dup.ID, incident.LinkInput{DuplicateOf: original.ID}))
	require.Equal(t, []record.Ref{original.Ref()}, dup.Linked(record.DuplicateOf.Name))
	got := must(f.svc.Get(ctx, original.ID))
	require.Equal(t, []record.Ref{dup.Ref()}, got.Linked(record.DuplicateOf.Name), "links read from both ends")

	// Audited on both ends.
	hist := must(f.svc.History(ctx, original.ID))
	last := hist[len(hist)-1]
	require.Equal(t, "link", last.Action)
	require.Equal(t, []itsm.Change{{Field: "link.duplicated_by", New: "incident/" + dup.ID}}, last.Changes)
	hist = must(f.svc.History(ctx, dup.ID))
	require.Contains(t, hist[len(hist)-1].Changes, itsm.Change{Field: "link.duplicate_of", New: "incident/" + original.ID})

	// No cycles, no links to missing records.
	_, err := f.svc.Link(ctx, agent, original.ID, incident.LinkInput{DuplicateOf: dup.ID})
	require.ErrorIs(t, err, itsm.ErrValidation)
	_, err = f.svc.Link(ctx, agent, original.ID, incident.LinkInput{ProblemID: "PRB404"})
	require.ErrorIs(t, err, itsm.ErrNotFound)
	_, err = f.svc.Link(ctx, agent, original.ID, incident.LinkInput{DuplicateOf: original.ID})
	require.ErrorIs(t, err, itsm.ErrValidation)

	// The original's resolution resolves the duplicate.
	must(f.svc.Resolve(ctx, agent, original.ID, incident.ResolveInput{Code: "solved", Notes: "gateway restarted"}))
	d := must(f.svc.Get(ctx, dup.ID))
	require.Equal(t, incident.Resolved, d.State)
	require.Equal(t, "gateway restarted", d.ResolutionNotes)
	hist = must(f.svc.History(ctx, dup.ID))
	require.Contains(t, hist[len(hist)-1].Reason, "resolved with "+original.Number)
}

func testUnlink(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st)
	parent := f.open(t, incident.OpenInput{})
	inc := f.open(t, incident.OpenInput{ParentID: parent.ID})
	kb := f.other(t, "knowledge", "KB1")
	inc = must(f.svc.Link(ctx, agent, inc.ID, incident.LinkInput{Related: []record.Ref{kb}}))
	require.Len(t, inc.Links, 1)
	_, err := f.svc.Unlink(ctx, agent, inc.ID, incident.LinkInput{ProblemID: "PRB1"})
	require.ErrorIs(t, err, itsm.ErrNotFound)
	_, err = f.svc.Unlink(ctx, agent, inc.ID, incident.LinkInput{ParentID: "other"})
	require.ErrorIs(t, err, itsm.ErrNotFound)
	_, err = f.svc.Unlink(ctx, agent, inc.ID, incident.LinkInput{})
	require.ErrorIs(t, err, itsm.ErrValidation)
	inc = must(f.svc.Unlink(ctx, agent, inc.ID, incident.LinkInput{ParentID: parent.ID, Related: []record.Ref{kb}}))
	require.Empty(t, inc.Links)
	require.Empty(t, inc.ParentID)
	require.Empty(t, must(f.svc.Children(ctx, parent.ID)))
	hist, err := f.store.History(ctx, kb)
	require.NoError(t, err)
	require.Len(t, hist, 2, "link and unlink are audited on the other end")
	require.Equal(t, "unlink", hist[1].Action)
}

func testAttributes(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st, func(c *incident.Config) {
		c.Attributes = []record.Attribute{
			{Name: "site", Type: record.AttrChoice, Choices: []string{"hq", "branch"}, Filterable: true},
			{Name: "users_affected", Type: record.AttrInt, Filterable: true},
		}
	})
	hq := f.open(t, incident.OpenInput{Attrs: map[string]record.Value{"site": record.Text("hq"), "users_affected": record.Int(250)}})
	br := f.open(t, incident.OpenInput{Attrs: map[string]record.Value{"site": record.Text("branch"), "users_affected": record.Int(3)}})
	require.Equal(t, record.Int(250), hq.Attrs["users_affected"])

	ids := func(q incident.Query) []string {
		var out []string
		for _, i := range must(f.svc.List(ctx, q)).Incidents {
			out = append(out, i.ID)
		}
		return out
	}
	require.Equal(t, []string{hq.ID}, ids(incident.Query{Attrs: []record.AttrFilter{{Name: "site", In: []record.Value{record.Text("hq")}}}}))
	require.Equal(t, []string{br.ID}, ids(incident.Query{Attrs: []record.AttrFilter{{Name: "users_affected", Max: record.Int(10)}}}))
	_, err := f.svc.List(ctx, incident.Query{Attrs: []record.AttrFilter{{Name: "colour", In: []record.Value{record.Text("red")}}}})
	require.ErrorIs(t, err, itsm.ErrValidation, "an unknown attribute is an error, not an empty page")
	_, err = f.svc.List(ctx, incident.Query{States: []string{"parked"}})
	require.ErrorIs(t, err, itsm.ErrValidation, "so is an unknown state")

	_, err = f.svc.Open(ctx, agent, incident.OpenInput{Title: "x", Impact: 1, Urgency: 1,
		Attrs: map[string]record.Value{"site": record.Text("moon"), "colour": record.Text("red")}})
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("attrs.site"), err.Error())
	require.True(t, ve.Has("attrs.colour"), err.Error())

	br = must(f.svc.Edit(ctx, agent, br.ID, incident.EditInput{Attrs: map[string]record.Value{"site": {}, "users_affected": record.Int(40)}}))
	_, hasSite := br.Attrs["site"]
	require.False(t, hasSite, "a zero value removes the attribute")
	hist := must(f.svc.History(ctx, br.ID))
	changes := hist[len(hist)-1].Changes
	require.Contains(t, changes, itsm.Change{Field: "attrs.site", Old: "branch"})
	require.Contains(t, changes, itsm.Change{Field: "attrs.users_affected", Old: "3", New: "40"})
}

func testStateCategories(t *testing.T, st storeFactory) {
	ctx := context.Background()
	f := newFixture(t, st)
	inc := f.open(t, incident.OpenInput{})
	require.Equal(t, itsm.CategoryNew, inc.StateCategory)
	inc = must(f.svc.StartWork(ctx, agent, inc.ID, 0))
	require.Equal(t, itsm.CategoryActive, inc.StateCategory)
	inc = must(f.svc.Hold(ctx, agent, inc.ID, incident.HoldInput{Reason: incident.AwaitingVendor}))
	require.Equal(t, itsm.CategoryPending, inc.StateCategory)
	f.clock.Advance(time.Second)
	other := f.open(t, incident.OpenInput{})
	page := must(f.svc.List(ctx, incident.Query{StateCategories: []itsm.StateCategory{itsm.CategoryPending}}))
	require.Len(t, page.Incidents, 1)
	require.Equal(t, inc.ID, page.Incidents[0].ID)
	page = must(f.svc.List(ctx, incident.Query{StateCategories: []itsm.StateCategory{itsm.CategoryNew, itsm.CategoryPending}}))
	require.Len(t, page.Incidents, 2)
	require.Equal(t, other.ID, page.Incidents[1].ID, "listed by opening time")
}

func TestDefaultResponder(t *testing.T) {
	t.Parallel()
	inc := &incident.Incident{Assignee: "bob", AssignmentGroup: "network-ops"}
	member := func(a itsm.Actor, group string) bool { return group == "network-ops" && a.ID == "nina" }
	for _, tc := range []struct {
		actor  string
		member func(itsm.Actor, string) bool
		want   bool
	}{
		{"bob", nil, true},
		{"nina", nil, false},
		{"nina", member, true},
		{"zed", member, false},
		{"", nil, false},
	} {
		require.Equal(t, tc.want, incident.DefaultResponder(tc.member)(itsm.Actor{ID: tc.actor}, inc), "%s", tc.actor)
	}
	require.False(t, incident.DefaultResponder(member)(itsm.Actor{ID: "nina"}, &incident.Incident{}), "no group, no member")
	require.False(t, incident.DefaultResponder(nil)(itsm.Actor{}, &incident.Incident{}), "nobody is the assignee of an unassigned incident")
}
