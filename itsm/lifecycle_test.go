package itsm_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
)

func init() {
	// Other test files of the package may declare -update as well; share
	// it rather than panic on a redefinition.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files in testdata")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

type tState string

type tAction string

type ticket struct {
	ID         string
	Assignee   string
	Resolution string
	OpenTasks  int
}

const (
	stNew        tState = "New"
	stAssigned   tState = "Assigned"
	stInProgress tState = "InProgress"
	stResolved   tState = "Resolved"
	stClosed     tState = "Closed"
	stCancelled  tState = "Cancelled"

	acAssign  tAction = "assign"
	acStart   tAction = "start"
	acResolve tAction = "resolve"
	acReopen  tAction = "reopen"
	acClose   tAction = "close"
	acCancel  tAction = "cancel"
)

var (
	agent = itsm.Actor{ID: "ana", Roles: []itsm.Role{"agent"}}
	lead  = itsm.Actor{ID: "lee", Roles: []itsm.Role{"lead", "agent"}}
	guest = itsm.Actor{ID: "gus"}
)

func noOpenTasks(t *ticket, _ itsm.Actor) error {
	if t.OpenTasks > 0 {
		return fmt.Errorf("%d tasks still open", t.OpenTasks)
	}
	return nil
}

func assigneeActs(t *ticket, a itsm.Actor) error {
	if t.Assignee != a.ID {
		return fmt.Errorf("only the assignee %q may do this", t.Assignee)
	}
	return nil
}

// ticketDefinition returns a fresh definition each call so that tests may
// change it.
func ticketDefinition() itsm.Definition[tState, tAction, *ticket] {
	return itsm.Definition[tState, tAction, *ticket]{
		Kind:     "ticket",
		Initial:  stNew,
		States:   []tState{stNew, stAssigned, stInProgress, stResolved, stClosed, stCancelled},
		Terminal: []tState{stClosed, stCancelled},
		ID:       func(t *ticket) string { return t.ID },
		Transitions: []itsm.Transition[tState, tAction, *ticket]{
			{Action: acAssign, From: []tState{stNew}, To: stAssigned, Roles: []itsm.Role{"agent", "lead"}},
			{Action: acStart, From: []tState{stAssigned}, To: stInProgress},
			{
				Action:   acResolve,
				From:     []tState{stInProgress},
				To:       stResolved,
				Roles:    []itsm.Role{"agent"},
				Required: []itsm.Field[*ticket]{{Name: "resolution", Present: func(t *ticket) bool { return t.Resolution != "" }}},
				Guards: []itsm.Guard[*ticket]{
					{Name: "no-open-tasks", Check: noOpenTasks},
					{Name: "assignee-acts", Check: assigneeActs},
				},
			},
			{Action: acReopen, From: []tState{stResolved}, To: stInProgress},
			{Action: acClose, From: []tState{stResolved}, To: stClosed},
			{Action: acCancel, From: []tState{stNew, stAssigned, stInProgress}, To: stCancelled, Roles: []itsm.Role{"lead"}},
		},
	}
}

func ticketLifecycle(t testing.TB) *itsm.Lifecycle[tState, tAction, *ticket] {
	t.Helper()
	l, err := itsm.NewLifecycle(ticketDefinition())
	require.NoError(t, err)
	return l
}

func readyTicket() *ticket {
	return &ticket{ID: "T-1", Assignee: agent.ID, Resolution: "fixed"}
}

func TestLifecycleAccessors(t *testing.T) {
	t.Parallel()
	l := ticketLifecycle(t)
	require.Equal(t, "ticket", l.Kind())
	require.Equal(t, stNew, l.Initial())
	require.Equal(t, []tState{stNew, stAssigned, stInProgress, stResolved, stClosed, stCancelled}, l.States())
	require.Equal(t, []tState{stClosed, stCancelled}, l.TerminalStates())
	require.Equal(t, []tAction{acAssign, acStart, acResolve, acReopen, acClose, acCancel}, l.Actions())
	require.True(t, l.IsTerminal(stClosed))
	require.False(t, l.IsTerminal(stResolved))
	require.False(t, l.IsTerminal("Nowhere"))
	require.True(t, l.HasState(stResolved))
	require.False(t, l.HasState("Nowhere"))
	require.True(t, l.HasAction(acReopen))
	require.False(t, l.HasAction("teleport"))

	to, ok := l.Target(stInProgress, acResolve)
	require.True(t, ok)
	require.Equal(t, stResolved, to)
	_, ok = l.Target(stNew, acResolve)
	require.False(t, ok)
	_, ok = l.Target("Nowhere", acResolve)
	require.False(t, ok)

	require.Equal(t, []tAction{acAssign, acCancel}, l.Available(stNew))
	require.Nil(t, l.Available(stClosed))
	require.Nil(t, l.Available("Nowhere"))
}

func TestLifecycleCopies(t *testing.T) {
	t.Parallel()
	def := ticketDefinition()
	l, err := itsm.NewLifecycle(def)
	require.NoError(t, err)

	// Changing the definition after the build changes nothing.
	def.States[0] = "Changed"
	def.Transitions[0].From[0] = stResolved
	def.Transitions[0].Roles[0] = "nobody"
	def.Transitions[2].Guards[0].Name = "renamed"
	require.Equal(t, stNew, l.States()[0])
	to, err := l.Fire(readyTicket(), stNew, acAssign, agent)
	require.NoError(t, err)
	require.Equal(t, stAssigned, to)

	// Neither does changing what the accessors returned.
	l.States()[0] = "Changed"
	l.Actions()[0] = "changed"
	l.TerminalStates()[0] = "Changed"
	tr := l.Transitions()
	require.Len(t, tr, 6)
	require.Equal(t, "no-open-tasks", tr[2].Guards[0].Name)
	tr[2].Guards[0].Name = "renamed"
	tr[0].From[0] = stResolved
	tr[0].Roles[0] = "nobody"
	require.Equal(t, stNew, l.Initial())
	require.Equal(t, acAssign, l.Actions()[0])
	require.Equal(t, stClosed, l.TerminalStates()[0])
	require.Equal(t, "no-open-tasks", l.Transitions()[2].Guards[0].Name)
	require.Equal(t, []tState{stNew}, l.Transitions()[0].From)
	require.Equal(t, []itsm.Role{"agent", "lead"}, l.Transitions()[0].Roles)
}

func TestNewLifecycleValidation(t *testing.T) {
	t.Parallel()
	type def = itsm.Definition[tState, tAction, *ticket]
	type tr = itsm.Transition[tState, tAction, *ticket]
	okGuard := itsm.Guard[*ticket]{Name: "g", Check: noOpenTasks}
	okField := itsm.Field[*ticket]{Name: "f", Present: func(*ticket) bool { return true }}
	// minimal returns a valid two-state definition to break.
	minimal := func() def {
		return def{
			Kind:     "x",
			Initial:  "A",
			States:   []tState{"A", "B"},
			Terminal: []tState{"B"},
			Transitions: []tr{
				{Action: "go", From: []tState{"A"}, To: "B"},
			},
		}
	}
	tests := []struct {
		name    string
		change  func(d *def)
		field   string
		message string
	}{
		{"empty kind", func(d *def) { d.Kind = "" }, "kind", "must not be empty"},
		{"no states", func(d *def) { d.States = nil; d.Terminal = nil; d.Initial = "A" }, "states", "must not be empty"},
		{"empty state", func(d *def) { d.States = append(d.States, "") }, "states[2]", "must not be empty"},
		{"duplicate state", func(d *def) { d.States = append(d.States, "A") }, "states[2]", `duplicate state "A"`},
		{"initial empty", func(d *def) { d.Initial = "" }, "initial", "must not be empty"},
		{"initial unknown", func(d *def) { d.Initial = "Z" }, "initial", `unknown state "Z"`},
		{"initial terminal", func(d *def) { d.Terminal = []tState{"A", "B"} }, "initial", `state "A" is terminal`},
		{"terminal empty", func(d *def) { d.Terminal = append(d.Terminal, "") }, "terminal[1]", "must not be empty"},
		{"terminal unknown", func(d *def) { d.Terminal = append(d.Terminal, "Z") }, "terminal[1]", `unknown state "Z"`},
		{"terminal duplicate", func(d *def) { d.Terminal = append(d.Terminal, "B") }, "terminal[1]", `duplicate terminal state "B"`},
		{"empty action", func(d *def) { d.Transitions = append(d.Transitions, tr{From: []tState{"A"}, To: "B"}) }, "transitions[1].action", "must not be empty"},
		{"no from", func(d *def) { d.Transitions = append(d.Transitions, tr{Action: "x", To: "B"}) }, "transitions[1].from", "must not be empty"},
		{"empty from", func(d *def) { d.Transitions[0].From = []tState{"A", ""} }, "transitions[0].from[1]", "must not be empty"},
		{"unknown from", func(d *def) { d.Transitions[0].From = []tState{"A", "Z"} }, "transitions[0].from[1]", `unknown state "Z"`},
		{"empty to", func(d *def) { d.Transitions = append(d.Transitions, tr{Action: "x", From: []tState{"A"}}) }, "transitions[1].to", "must not be empty"},
		{"unknown to", func(d *def) { d.Transitions = append(d.Transitions, tr{Action: "x", From: []tState{"A"}, To: "Z"}) }, "transitions[1].to", `unknown state "Z"`},
		{"exit from terminal", func(d *def) {
			d.Transitions = append(d.Transitions, tr{Action: "reopen", From: []tState{"B"}, To: "A"})
		}, "transitions[1].from[0]", `leaves terminal state "B"`},
		{"duplicate transition", func(d *def) {
			d.Transitions = append(d.Transitions, tr{Action: "go", From: []tState{"A"}, To: "A"})
		}, "transitions[1].from[0]", `duplicate transition: action "go" from state "A" is already defined`},
		{"duplicate source in one transition", func(d *def) { d.Transitions[0].From = []tState{"A", "A"} }, "transitions[0].from[1]", "duplicate transition"},
		{"empty role", func(d *def) { d.Transitions[0].Roles = []itsm.Role{"agent", ""} }, "transitions[0].roles[1]", "must not be empty"},
		{"unnamed field", func(d *def) {
			d.Transitions[0].Required = []itsm.Field[*ticket]{{Present: okField.Present}}
		}, "transitions[0].required[0].name", "must not be empty"},
		{"nil field", func(d *def) { d.Transitions[0].Required = []itsm.Field[*ticket]{{Name: "f"}} }, "transitions[0].required[0].present", "must not be nil"},
		{"duplicate field", func(d *def) { d.Transitions[0].Required = []itsm.Field[*ticket]{okField, okField} }, "transitions[0].required[1].name", `duplicate field "f"`},
		{"unnamed guard", func(d *def) { d.Transitions[0].Guards = []itsm.Guard[*ticket]{{Check: noOpenTasks}} }, "transitions[0].guards[0].name", "must not be empty"},
		{"nil guard", func(d *def) { d.Transitions[0].Guards = []itsm.Guard[*ticket]{{Name: "g"}} }, "transitions[0].guards[0].check", "must not be nil"},
		{"duplicate guard", func(d *def) { d.Transitions[0].Guards = []itsm.Guard[*ticket]{okGuard, okGuard} }, "transitions[0].guards[1].name", `duplicate guard "g"`},
		{"unreachable state", func(d *def) {
			d.States = append(d.States, "C")
			d.Transitions = append(d.Transitions, tr{Action: "back", From: []tState{"C"}, To: "A"})
		}, "states[2]", `state "C" is unreachable from initial state "A"`},
		{"dead end", func(d *def) {
			d.States = append(d.States, "C")
			d.Transitions = append(d.Transitions, tr{Action: "park", From: []tState{"A"}, To: "C"})
		}, "states[2]", `non-terminal state "C" has no transition out (dead end)`},
		{"initial is a dead end", func(d *def) { d.Transitions = nil }, "states[0]", `non-terminal state "A" has no transition out`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := minimal()
			_, err := itsm.NewLifecycle(d)
			require.NoError(t, err, "the unbroken definition must be valid")
			tc.change(&d)
			l, err := itsm.NewLifecycle(d)
			require.Nil(t, l)
			require.ErrorIs(t, err, itsm.ErrValidation)
			var ve *itsm.ValidationError
			require.ErrorAs(t, err, &ve)
			require.True(t, ve.Has(tc.field), "want a problem with %s, got %v", tc.field, ve.Fields)
			found := false
			for _, f := range ve.Fields {
				if f.Field == tc.field && strings.Contains(f.Message, tc.message) {
					found = true
				}
			}
			require.True(t, found, "want %q on %s, got %v", tc.message, tc.field, ve.Fields)
		})
	}
}

func TestNewLifecycleReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := itsm.NewLifecycle(itsm.Definition[tState, tAction, *ticket]{
		Initial:  "Done",
		States:   []tState{"Open", "Done", "Open", "Lost"},
		Terminal: []tState{"Done"},
		Transitions: []itsm.Transition[tState, tAction, *ticket]{
			{Action: "finish", From: []tState{"Open"}, To: "Done", Guards: []itsm.Guard[*ticket]{{Name: ""}}},
			{Action: "finish", From: []tState{"Open", "Done"}, To: "Nowhere"},
		},
	})
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "lifecycle", ve.Subject)
	require.Equal(t, []itsm.FieldError{
		{Field: "kind", Message: "must not be empty"},
		{Field: "states[2]", Message: `duplicate state "Open"`},
		{Field: "initial", Message: `state "Done" is terminal`},
		{Field: "transitions[0].guards[0].name", Message: "must not be empty"},
		{Field: "transitions[0].guards[0].check", Message: "must not be nil"},
		{Field: "transitions[1].to", Message: `unknown state "Nowhere"`},
		{Field: "transitions[1].from[0]", Message: `duplicate transition: action "finish" from state "Open" is already defined`},
		{Field: "transitions[1].from[1]", Message: `leaves terminal state "Done"`},
		{Field: "states[3]", Message: `non-terminal state "Lost" has no transition out (dead end)`},
	}, ve.Fields)
	require.Contains(t, err.Error(), "itsm: invalid lifecycle: kind: must not be empty; states[2]:")
}

func TestFire(t *testing.T) {
	t.Parallel()
	l := ticketLifecycle(t)
	tests := []struct {
		from   tState
		action tAction
		actor  itsm.Actor
		to     tState
	}{
		{stNew, acAssign, agent, stAssigned},
		{stNew, acAssign, lead, stAssigned},
		{stAssigned, acStart, guest, stInProgress},
		{stInProgress, acResolve, agent, stResolved},
		{stResolved, acReopen, guest, stInProgress},
		{stResolved, acClose, agent, stClosed},
		{stNew, acCancel, lead, stCancelled},
		{stAssigned, acCancel, lead, stCancelled},
		{stInProgress, acCancel, lead, stCancelled},
	}
	for _, tc := range tests {
		t.Run(string(tc.from)+"/"+string(tc.action), func(t *testing.T) {
			t.Parallel()
			rec := readyTicket()
			to, err := l.Fire(rec, tc.from, tc.action, tc.actor)
			require.NoError(t, err)
			require.Equal(t, tc.to, to)
			require.True(t, l.Can(rec, tc.from, tc.action, tc.actor))
			require.Contains(t, l.Permitted(rec, tc.from, tc.actor), tc.action)
		})
	}
}

func TestFireRefused(t *testing.T) {
	t.Parallel()
	l := ticketLifecycle(t)
	tests := []struct {
		name      string
		rec       *ticket
		from      tState
		action    tAction
		actor     itsm.Actor
		want      itsm.TransitionError
		forbidden bool
		text      string
	}{
		{
			name: "unknown action", rec: readyTicket(), from: stNew, action: "teleport", actor: agent,
			want: itsm.TransitionError{UnknownAction: true},
			text: "itsm: cannot teleport ticket T-1 in state New: unknown action",
		},
		{
			name: "unknown state", rec: readyTicket(), from: "Limbo", action: acStart, actor: agent,
			want: itsm.TransitionError{UnknownState: true},
			text: "itsm: cannot start ticket T-1 in state Limbo: unknown state",
		},
		{
			name: "unknown state and action", rec: readyTicket(), from: "Limbo", action: "teleport", actor: agent,
			want: itsm.TransitionError{UnknownState: true, UnknownAction: true},
			text: "itsm: cannot teleport ticket T-1 in state Limbo: unknown state; unknown action",
		},
		{
			name: "wrong state", rec: readyTicket(), from: stNew, action: acResolve, actor: agent,
			want: itsm.TransitionError{WrongState: true},
			text: "itsm: cannot resolve ticket T-1 in state New: not permitted from this state",
		},
		{
			name: "from terminal state", rec: readyTicket(), from: stClosed, action: acReopen, actor: lead,
			want: itsm.TransitionError{WrongState: true},
			text: "itsm: cannot reopen ticket T-1 in state Closed: not permitted from this state",
		},
		{
			name: "wrong role only", rec: readyTicket(), from: stNew, action: acCancel, actor: agent,
			want:      itsm.TransitionError{RolesRequired: []string{"lead"}},
			forbidden: true,
			text:      "itsm: cannot cancel ticket T-1 in state New: requires one of roles lead",
		},
		{
			name: "no roles at all", rec: readyTicket(), from: stNew, action: acAssign, actor: guest,
			want:      itsm.TransitionError{RolesRequired: []string{"agent", "lead"}},
			forbidden: true,
			text:      "itsm: cannot assign ticket T-1 in state New: requires one of roles agent, lead",
		},
		{
			name: "missing field", rec: &ticket{ID: "T-1", Assignee: "ana"}, from: stInProgress, action: acResolve, actor: agent,
			want: itsm.TransitionError{MissingFields: []string{"resolution"}},
			text: "itsm: cannot resolve ticket T-1 in state InProgress: missing resolution",
		},
		{
			name: "one guard", rec: &ticket{ID: "T-1", Assignee: "ana", Resolution: "fixed", OpenTasks: 2}, from: stInProgress, action: acResolve, actor: agent,
			want: itsm.TransitionError{Unmet: []itsm.GuardFailure{{Guard: "no-open-tasks", Reason: "2 tasks still open"}}},
			text: "itsm: cannot resolve ticket T-1 in state InProgress: no-open-tasks: 2 tasks still open",
		},
		{
			name: "several guards", rec: &ticket{ID: "T-1", Assignee: "bob", Resolution: "fixed", OpenTasks: 1}, from: stInProgress, action: acResolve, actor: agent,
			want: itsm.TransitionError{Unmet: []itsm.GuardFailure{
				{Guard: "no-open-tasks", Reason: "1 tasks still open"},
				{Guard: "assignee-acts", Reason: `only the assignee "bob" may do this`},
			}},
			text: `itsm: cannot resolve ticket T-1 in state InProgress: no-open-tasks: 1 tasks still open; assignee-acts: only the assignee "bob" may do this`,
		},
		{
			name: "every obstacle at once", rec: &ticket{ID: "T-1", Assignee: "bob", OpenTasks: 3}, from: stInProgress, action: acResolve, actor: guest,
			want: itsm.TransitionError{
				RolesRequired: []string{"agent"},
				MissingFields: []string{"resolution"},
				Unmet: []itsm.GuardFailure{
					{Guard: "no-open-tasks", Reason: "3 tasks still open"},
					{Guard: "assignee-acts", Reason: `only the assignee "bob" may do this`},
				},
			},
			text: `itsm: cannot resolve ticket T-1 in state InProgress: requires one of roles agent; missing resolution; ` +
				`no-open-tasks: 3 tasks still open; assignee-acts: only the assignee "bob" may do this`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			to, err := l.Fire(tc.rec, tc.from, tc.action, tc.actor)
			require.Error(t, err)
			require.Equal(t, tc.from, to, "a refused Fire returns the state unchanged")
			require.ErrorIs(t, err, itsm.ErrInvalidTransition)
			require.Equal(t, tc.forbidden, errors.Is(err, itsm.ErrForbidden))
			require.False(t, errors.Is(err, itsm.ErrValidation))
			var te *itsm.TransitionError
			require.ErrorAs(t, err, &te)
			want := tc.want
			want.Kind, want.ID, want.State, want.Action = "ticket", "T-1", string(tc.from), string(tc.action)
			require.Equal(t, &want, te)
			require.Equal(t, tc.forbidden, te.Forbidden())
			require.Equal(t, tc.text, err.Error())
			require.False(t, l.Can(tc.rec, tc.from, tc.action, tc.actor))
			require.NotContains(t, l.Permitted(tc.rec, tc.from, tc.actor), tc.action)
		})
	}
}

func TestFireWithoutIDFunc(t *testing.T) {
	t.Parallel()
	def := ticketDefinition()
	def.ID = nil
	l, err := itsm.NewLifecycle(def)
	require.NoError(t, err)
	_, err = l.Fire(readyTicket(), stNew, acResolve, agent)
	var te *itsm.TransitionError
	require.ErrorAs(t, err, &te)
	require.Empty(t, te.ID)
	require.Equal(t, "itsm: cannot resolve ticket in state New: not permitted from this state", err.Error())
	// The service layer that knows the record fills the ID in.
	te.ID = "T-9"
	require.Equal(t, "itsm: cannot resolve ticket T-9 in state New: not permitted from this state", err.Error())
}

func TestFireErrorDoesNotShareRoles(t *testing.T) {
	t.Parallel()
	l := ticketLifecycle(t)
	_, err := l.Fire(readyTicket(), stNew, acAssign, guest)
	var te *itsm.TransitionError
	require.ErrorAs(t, err, &te)
	te.RolesRequired[0] = "mutated"
	_, err = l.Fire(readyTicket(), stNew, acAssign, guest)
	require.ErrorAs(t, err, &te)
	require.Equal(t, []string{"agent", "lead"}, te.RolesRequired)
}

// countingDefinition has one transition whose two guards count their calls
// and refuse when told to.
func countingDefinition(calls *[2]atomic.Int32, refuse *[2]bool) itsm.Definition[tState, tAction, *ticket] {
	guard := func(i int) func(*ticket, itsm.Actor) error {
		return func(*ticket, itsm.Actor) error {
			calls[i].Add(1)
			if refuse[i] {
				return fmt.Errorf("guard %d refuses", i)
			}
			return nil
		}
	}
	return itsm.Definition[tState, tAction, *ticket]{
		Kind:     "counter",
		Initial:  "A",
		States:   []tState{"A", "B"},
		Terminal: []tState{"B"},
		Transitions: []itsm.Transition[tState, tAction, *ticket]{{
			Action: "go", From: []tState{"A"}, To: "B",
			Guards: []itsm.Guard[*ticket]{{Name: "g0", Check: guard(0)}, {Name: "g1", Check: guard(1)}},
		}},
	}
}

func TestGuardEvaluation(t *testing.T) {
	t.Parallel()
	var calls [2]atomic.Int32
	refuse := [2]bool{true, true}
	l, err := itsm.NewLifecycle(countingDefinition(&calls, &refuse))
	require.NoError(t, err)

	// Fire runs every guard exactly once, even after the first refusal.
	_, err = l.Fire(nil, "A", "go", agent)
	require.Error(t, err)
	require.Equal(t, int32(1), calls[0].Load())
	require.Equal(t, int32(1), calls[1].Load())

	// Can stops at the first refusal.
	require.False(t, l.Can(nil, "A", "go", agent))
	require.Equal(t, int32(2), calls[0].Load())
	require.Equal(t, int32(1), calls[1].Load())

	// Guards do not run when the state is wrong.
	_, err = l.Fire(nil, "B", "go", agent)
	require.Error(t, err)
	require.Equal(t, int32(2), calls[0].Load())
}

func TestPermitted(t *testing.T) {
	t.Parallel()
	l := ticketLifecycle(t)
	tests := []struct {
		name  string
		rec   *ticket
		from  tState
		actor itsm.Actor
		want  []tAction
	}{
		{"agent on new", readyTicket(), stNew, agent, []tAction{acAssign}},
		{"lead on new", readyTicket(), stNew, lead, []tAction{acAssign, acCancel}},
		{"guest on new", readyTicket(), stNew, guest, nil},
		{"assignee on work", readyTicket(), stInProgress, agent, []tAction{acResolve}},
		{"other agent on work", readyTicket(), stInProgress, itsm.Actor{ID: "bob", Roles: []itsm.Role{"agent"}}, nil},
		{"unresolved work", &ticket{Assignee: "ana"}, stInProgress, agent, nil},
		{"resolved", readyTicket(), stResolved, guest, []tAction{acReopen, acClose}},
		{"terminal", readyTicket(), stClosed, lead, nil},
		{"unknown state", readyTicket(), "Limbo", lead, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, l.Permitted(tc.rec, tc.from, tc.actor))
			buf := []tAction{"keep"}
			require.Equal(t, append([]tAction{"keep"}, tc.want...), l.AppendPermitted(buf, tc.rec, tc.from, tc.actor))
		})
	}
}

// chain builds a lifecycle S0 -> S1 -> ... -> Sn with one action per step,
// large enough that states and actions are looked up by map.
func chain(t testing.TB, n int) *itsm.Lifecycle[tState, tAction, *ticket] {
	t.Helper()
	def := itsm.Definition[tState, tAction, *ticket]{Kind: "chain", Initial: "S0"}
	for i := 0; i <= n; i++ {
		def.States = append(def.States, tState(fmt.Sprintf("S%d", i)))
	}
	def.Terminal = []tState{def.States[n]}
	for i := 0; i < n; i++ {
		def.Transitions = append(def.Transitions, itsm.Transition[tState, tAction, *ticket]{
			Action: tAction(fmt.Sprintf("a%d", i)), From: []tState{def.States[i]}, To: def.States[i+1],
		})
	}
	l, err := itsm.NewLifecycle(def)
	require.NoError(t, err)
	return l
}

func TestLargeLifecycle(t *testing.T) {
	t.Parallel()
	const n = 40
	l := chain(t, n)
	s := l.Initial()
	for i := 0; i < n; i++ {
		a := tAction(fmt.Sprintf("a%d", i))
		require.Equal(t, []tAction{a}, l.Permitted(nil, s, guest))
		next, err := l.Fire(nil, s, a, guest)
		require.NoError(t, err)
		s = next
	}
	require.Equal(t, tState(fmt.Sprintf("S%d", n)), s)
	require.True(t, l.IsTerminal(s))
	require.True(t, l.HasState("S7") && l.HasState("S39") && !l.HasState("S41"))

	_, err := l.Fire(nil, "S3", "a4", guest)
	var te *itsm.TransitionError
	require.ErrorAs(t, err, &te)
	require.True(t, te.WrongState)
	_, err = l.Fire(nil, "S3", "a99", guest)
	require.ErrorAs(t, err, &te)
	require.True(t, te.UnknownAction)
	_, err = l.Fire(nil, "S99", "a3", guest)
	require.ErrorAs(t, err, &te)
	require.True(t, te.UnknownState)
}

func TestFireAllocatesNothing(t *testing.T) {
	l := ticketLifecycle(t)
	rec := readyTicket()
	buf := make([]tAction, 0, 8)
	tests := []struct {
		name string
		f    func()
	}{
		{"open transition", func() { _, _ = l.Fire(rec, stAssigned, acStart, agent) }},
		{"roles, field and guards", func() { _, _ = l.Fire(rec, stInProgress, acResolve, agent) }},
		{"Can", func() { _ = l.Can(rec, stInProgress, acResolve, agent) }},
		{"AppendPermitted", func() { buf = l.AppendPermitted(buf[:0], rec, stInProgress, agent) }},
		{"map lookup", func() {
			big := chain(t, 20)
			f := func() { _, _ = big.Fire(nil, "S12", "a12", guest) }
			require.Zero(t, testing.AllocsPerRun(100, f))
		}},
	}
	for _, tc := range tests {
		if tc.name == "map lookup" {
			tc.f()
			continue
		}
		to, err := l.Fire(rec, stInProgress, acResolve, agent)
		require.NoError(t, err, "the success path is measured")
		require.Equal(t, stResolved, to)
		require.Zero(t, testing.AllocsPerRun(100, tc.f), tc.name)
	}
}

func TestLifecycleConcurrentUse(t *testing.T) {
	t.Parallel()
	l := ticketLifecycle(t)
	const workers = 16
	const rounds = 200
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := &ticket{ID: fmt.Sprintf("T-%d", w), Assignee: agent.ID, Resolution: "fixed"}
			for r := 0; r < rounds; r++ {
				s := l.Initial()
				for _, a := range []tAction{acAssign, acStart, acResolve, acReopen, acResolve, acClose} {
					next, err := l.Fire(rec, s, a, agent)
					if err != nil {
						errs <- err
						return
					}
					s = next
				}
				if !l.IsTerminal(s) {
					errs <- fmt.Errorf("worker %d ended in %s", w, s)
					return
				}
				_, err := l.Fire(rec, stNew, acCancel, agent)
				var te *itsm.TransitionError
				if !errors.As(err, &te) || !te.Forbidden() || te.ID != rec.ID {
					errs <- fmt.Errorf("worker %d: unexpected refusal %v", w, err)
					return
				}
				_ = l.Permitted(rec, stInProgress, agent)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestMermaidGolden(t *testing.T) {
	t.Parallel()
	odd, err := itsm.NewLifecycle(itsm.Definition[tState, tAction, *ticket]{
		Kind:     "odd",
		Initial:  "In Progress",
		States:   []tState{"In Progress", "s0", "state", "Wait;ing", `Say "hi"`, "Done"},
		Terminal: []tState{"Done"},
		Transitions: []itsm.Transition[tState, tAction, *ticket]{
			{Action: "to s0", From: []tState{"In Progress"}, To: "s0"},
			{Action: "to state", From: []tState{"s0"}, To: "state", Roles: []itsm.Role{"a;b"}},
			{Action: "wait\nlonger", From: []tState{"state"}, To: "Wait;ing"},
			{Action: "greet", From: []tState{"Wait;ing"}, To: `Say "hi"`},
			{Action: "finish", From: []tState{`Say "hi"`, "In Progress"}, To: "Done"},
		},
	})
	require.NoError(t, err)
	tests := []struct {
		golden string
		got    string
	}{
		{"lifecycle_ticket.mmd", ticketLifecycle(t).Mermaid()},
		{"lifecycle_odd_names.mmd", odd.Mermaid()},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			path := filepath.Join("testdata", tc.golden)
			if updateGolden() {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, os.WriteFile(path, []byte(tc.got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -run TestMermaidGolden -update to create it")
			require.Equal(t, string(want), tc.got)
		})
	}
}

func TestMermaidDeterministic(t *testing.T) {
	t.Parallel()
	first := ticketLifecycle(t).Mermaid()
	for i := 0; i < 20; i++ {
		require.Equal(t, first, ticketLifecycle(t).Mermaid())
	}
}
