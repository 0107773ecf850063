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

func lcUpdateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

type lcTState string

type lcTAction string

type lcTicket struct {
	ID         string
	Assignee   string
	Resolution string
	OpenTasks  int
}

const (
	lcStNew        lcTState = "New"
	lcStAssigned   lcTState = "Assigned"
	lcStInProgress lcTState = "InProgress"
	lcStResolved   lcTState = "Resolved"
	lcStClosed     lcTState = "Closed"
	lcStCancelled  lcTState = "Cancelled"

	lcAcAssign  lcTAction = "assign"
	lcAcStart   lcTAction = "start"
	lcAcResolve lcTAction = "resolve"
	lcAcReopen  lcTAction = "reopen"
	lcAcClose   lcTAction = "close"
	lcAcCancel  lcTAction = "cancel"
)

var (
	lcAgent = itsm.Actor{ID: "ana", Roles: []itsm.Role{"agent"}}
	lcLead  = itsm.Actor{ID: "lee", Roles: []itsm.Role{"lead", "agent"}}
	lcGuest = itsm.Actor{ID: "gus"}
)

func lcNoOpenTasks(t *lcTicket, _ itsm.Actor) error {
	if t.OpenTasks > 0 {
		return fmt.Errorf("%d tasks still open", t.OpenTasks)
	}
	return nil
}

func lcAssigneeActs(t *lcTicket, a itsm.Actor) error {
	if t.Assignee != a.ID {
		return fmt.Errorf("only the assignee %q may do this", t.Assignee)
	}
	return nil
}

// lcTicketDefinition returns a fresh definition each call so that tests may
// change it.
func lcTicketDefinition() itsm.Definition[lcTState, lcTAction, *lcTicket] {
	return itsm.Definition[lcTState, lcTAction, *lcTicket]{
		Kind:     "ticket",
		Initial:  lcStNew,
		States:   []lcTState{lcStNew, lcStAssigned, lcStInProgress, lcStResolved, lcStClosed, lcStCancelled},
		Terminal: []lcTState{lcStClosed, lcStCancelled},
		Categories: map[lcTState]itsm.StateCategory{
			lcStNew:        itsm.CategoryNew,
			lcStAssigned:   itsm.CategoryActive,
			lcStInProgress: itsm.CategoryActive,
			lcStResolved:   itsm.CategoryResolved,
			lcStClosed:     itsm.CategoryClosed,
			lcStCancelled:  itsm.CategoryCancelled,
		},
		ID: func(t *lcTicket) string { return t.ID },
		Transitions: []itsm.Transition[lcTState, lcTAction, *lcTicket]{
			{Action: lcAcAssign, From: []lcTState{lcStNew}, To: lcStAssigned, Roles: []itsm.Role{"agent", "lead"}},
			{Action: lcAcStart, From: []lcTState{lcStAssigned}, To: lcStInProgress},
			{
				Action:   lcAcResolve,
				From:     []lcTState{lcStInProgress},
				To:       lcStResolved,
				Roles:    []itsm.Role{"agent"},
				Required: []itsm.Field[*lcTicket]{{Name: "resolution", Present: func(t *lcTicket) bool { return t.Resolution != "" }}},
				Guards: []itsm.Guard[*lcTicket]{
					{Name: "no-open-tasks", Check: lcNoOpenTasks},
					{Name: "assignee-acts", Check: lcAssigneeActs},
				},
			},
			{Action: lcAcReopen, From: []lcTState{lcStResolved}, To: lcStInProgress},
			{Action: lcAcClose, From: []lcTState{lcStResolved}, To: lcStClosed},
			{Action: lcAcCancel, From: []lcTState{lcStNew, lcStAssigned, lcStInProgress}, To: lcStCancelled, Roles: []itsm.Role{"lead"}},
		},
	}
}

func lcTicketLifecycle(t testing.TB) *itsm.Lifecycle[lcTState, lcTAction, *lcTicket] {
	t.Helper()
	l, err := itsm.NewLifecycle(lcTicketDefinition())
	require.NoError(t, err)
	return l
}

func lcReadyTicket() *lcTicket {
	return &lcTicket{ID: "T-1", Assignee: lcAgent.ID, Resolution: "fixed"}
}

func TestLifecycleAccessors(t *testing.T) {
	t.Parallel()
	l := lcTicketLifecycle(t)
	require.Equal(t, "ticket", l.Kind())
	require.Equal(t, lcStNew, l.Initial())
	require.Equal(t, []lcTState{lcStNew, lcStAssigned, lcStInProgress, lcStResolved, lcStClosed, lcStCancelled}, l.States())
	require.Equal(t, []lcTState{lcStClosed, lcStCancelled}, l.TerminalStates())
	require.Equal(t, []lcTAction{lcAcAssign, lcAcStart, lcAcResolve, lcAcReopen, lcAcClose, lcAcCancel}, l.Actions())
	require.True(t, l.IsTerminal(lcStClosed))
	require.False(t, l.IsTerminal(lcStResolved))
	require.False(t, l.IsTerminal("Nowhere"))
	require.True(t, l.HasState(lcStResolved))
	require.False(t, l.HasState("Nowhere"))
	require.True(t, l.HasAction(lcAcReopen))
	require.False(t, l.HasAction("teleport"))

	to, ok := l.Target(lcStInProgress, lcAcResolve)
	require.True(t, ok)
	require.Equal(t, lcStResolved, to)
	_, ok = l.Target(lcStNew, lcAcResolve)
	require.False(t, ok)
	_, ok = l.Target("Nowhere", lcAcResolve)
	require.False(t, ok)

	require.Equal(t, []lcTAction{lcAcAssign, lcAcCancel}, l.Available(lcStNew))
	require.Nil(t, l.Available(lcStClosed))
	require.Nil(t, l.Available("Nowhere"))
}

func TestLifecycleCopies(t *testing.T) {
	t.Parallel()
	def := lcTicketDefinition()
	l, err := itsm.NewLifecycle(def)
	require.NoError(t, err)

	// Changing the definition after the build changes nothing.
	def.States[0] = "Changed"
	def.Transitions[0].From[0] = lcStResolved
	def.Transitions[0].Roles[0] = "nobody"
	def.Transitions[2].Guards[0].Name = "renamed"
	def.Categories[lcStNew] = itsm.CategoryPending
	require.Equal(t, lcStNew, l.States()[0])
	require.Equal(t, itsm.CategoryNew, l.Category(lcStNew))
	to, err := l.Fire(lcReadyTicket(), lcStNew, lcAcAssign, lcAgent)
	require.NoError(t, err)
	require.Equal(t, lcStAssigned, to)

	// Neither does changing what the accessors returned.
	l.States()[0] = "Changed"
	l.Actions()[0] = "changed"
	l.TerminalStates()[0] = "Changed"
	tr := l.Transitions()
	require.Len(t, tr, 6)
	require.Equal(t, "no-open-tasks", tr[2].Guards[0].Name)
	tr[2].Guards[0].Name = "renamed"
	tr[0].From[0] = lcStResolved
	tr[0].Roles[0] = "nobody"
	require.Equal(t, lcStNew, l.Initial())
	require.Equal(t, lcAcAssign, l.Actions()[0])
	require.Equal(t, lcStClosed, l.TerminalStates()[0])
	require.Equal(t, "no-open-tasks", l.Transitions()[2].Guards[0].Name)
	require.Equal(t, []lcTState{lcStNew}, l.Transitions()[0].From)
	require.Equal(t, []itsm.Role{"agent", "lead"}, l.Transitions()[0].Roles)
}

func TestNewLifecycleValidation(t *testing.T) {
	t.Parallel()
	type def = itsm.Definition[lcTState, lcTAction, *lcTicket]
	type tr = itsm.Transition[lcTState, lcTAction, *lcTicket]
	okGuard := itsm.Guard[*lcTicket]{Name: "g", Check: lcNoOpenTasks}
	okField := itsm.Field[*lcTicket]{Name: "f", Present: func(*lcTicket) bool { return true }}
	// minimal returns a valid two-state definition to break.
	minimal := func() def {
		return def{
			Kind:       "x",
			Initial:    "A",
			States:     []lcTState{"A", "B"},
			Terminal:   []lcTState{"B"},
			Categories: map[lcTState]itsm.StateCategory{"A": itsm.CategoryActive, "B": itsm.CategoryClosed},
			Transitions: []tr{
				{Action: "go", From: []lcTState{"A"}, To: "B"},
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
		{"initial terminal", func(d *def) { d.Terminal = []lcTState{"A", "B"} }, "initial", `state "A" is terminal`},
		{"terminal empty", func(d *def) { d.Terminal = append(d.Terminal, "") }, "terminal[1]", "must not be empty"},
		{"terminal unknown", func(d *def) { d.Terminal = append(d.Terminal, "Z") }, "terminal[1]", `unknown state "Z"`},
		{"terminal duplicate", func(d *def) { d.Terminal = append(d.Terminal, "B") }, "terminal[1]", `duplicate terminal state "B"`},
		{"empty action", func(d *def) { d.Transitions = append(d.Transitions, tr{From: []lcTState{"A"}, To: "B"}) }, "transitions[1].action", "must not be empty"},
		{"no from", func(d *def) { d.Transitions = append(d.Transitions, tr{Action: "x", To: "B"}) }, "transitions[1].from", "must not be empty"},
		{"empty from", func(d *def) { d.Transitions[0].From = []lcTState{"A", ""} }, "transitions[0].from[1]", "must not be empty"},
		{"unknown from", func(d *def) { d.Transitions[0].From = []lcTState{"A", "Z"} }, "transitions[0].from[1]", `unknown state "Z"`},
		{"empty to", func(d *def) { d.Transitions = append(d.Transitions, tr{Action: "x", From: []lcTState{"A"}}) }, "transitions[1].to", "must not be empty"},
		{"unknown to", func(d *def) { d.Transitions = append(d.Transitions, tr{Action: "x", From: []lcTState{"A"}, To: "Z"}) }, "transitions[1].to", `unknown state "Z"`},
		{"exit from terminal", func(d *def) {
			d.Transitions = append(d.Transitions, tr{Action: "reopen", From: []lcTState{"B"}, To: "A"})
		}, "transitions[1].from[0]", `leaves terminal state "B"`},
		{"duplicate transition", func(d *def) {
			d.Transitions = append(d.Transitions, tr{Action: "go", From: []lcTState{"A"}, To: "A"})
		}, "transitions[1].from[0]", `duplicate transition: action "go" from state "A" is already defined`},
		{"duplicate source in one transition", func(d *def) { d.Transitions[0].From = []lcTState{"A", "A"} }, "transitions[0].from[1]", "duplicate transition"},
		{"empty role", func(d *def) { d.Transitions[0].Roles = []itsm.Role{"agent", ""} }, "transitions[0].roles[1]", "must not be empty"},
		{"unnamed field", func(d *def) {
			d.Transitions[0].Required = []itsm.Field[*lcTicket]{{Present: okField.Present}}
		}, "transitions[0].required[0].name", "must not be empty"},
		{"nil field", func(d *def) { d.Transitions[0].Required = []itsm.Field[*lcTicket]{{Name: "f"}} }, "transitions[0].required[0].present", "must not be nil"},
		{"duplicate field", func(d *def) { d.Transitions[0].Required = []itsm.Field[*lcTicket]{okField, okField} }, "transitions[0].required[1].name", `duplicate field "f"`},
		{"unnamed guard", func(d *def) { d.Transitions[0].Guards = []itsm.Guard[*lcTicket]{{Check: lcNoOpenTasks}} }, "transitions[0].guards[0].name", "must not be empty"},
		{"nil guard", func(d *def) { d.Transitions[0].Guards = []itsm.Guard[*lcTicket]{{Name: "g"}} }, "transitions[0].guards[0].check", "must not be nil"},
		{"duplicate guard", func(d *def) { d.Transitions[0].Guards = []itsm.Guard[*lcTicket]{okGuard, okGuard} }, "transitions[0].guards[1].name", `duplicate guard "g"`},
		{"unreachable state", func(d *def) {
			d.States = append(d.States, "C")
			d.Transitions = append(d.Transitions, tr{Action: "back", From: []lcTState{"C"}, To: "A"})
		}, "states[2]", `state "C" is unreachable from initial state "A"`},
		{"dead end", func(d *def) {
			d.States = append(d.States, "C")
			d.Transitions = append(d.Transitions, tr{Action: "park", From: []lcTState{"A"}, To: "C"})
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

func TestNewLifecycleCategories(t *testing.T) {
	t.Parallel()
	type def = itsm.Definition[lcTState, lcTAction, *lcTicket]
	type tr = itsm.Transition[lcTState, lcTAction, *lcTicket]
	// minimal returns a valid definition A -go-> B, A -drop-> X with B
	// closed and X cancelled.
	minimal := func() def {
		return def{
			Kind:     "x",
			Initial:  "A",
			States:   []lcTState{"A", "B", "X"},
			Terminal: []lcTState{"B", "X"},
			Categories: map[lcTState]itsm.StateCategory{
				"A": itsm.CategoryActive, "B": itsm.CategoryClosed, "X": itsm.CategoryCancelled,
			},
			Transitions: []tr{
				{Action: "go", From: []lcTState{"A"}, To: "B"},
				{Action: "drop", From: []lcTState{"A"}, To: "X"},
			},
		}
	}
	type fe = itsm.FieldError
	tests := []struct {
		name   string
		change func(d *def)
		want   []fe
	}{
		{"no categories", func(d *def) { d.Categories = nil }, []fe{
			{Field: "categories.A", Message: `state "A" has no category`},
			{Field: "categories.B", Message: `state "B" has no category`},
			{Field: "categories.X", Message: `state "X" has no category`},
		}},
		{"terminal state without category", func(d *def) { delete(d.Categories, "B") }, []fe{
			{Field: "categories.B", Message: `state "B" has no category`},
		}},
		{"added state without category", func(d *def) {
			d.States = append(d.States, "C")
			d.Transitions = append(d.Transitions,
				tr{Action: "park", From: []lcTState{"A"}, To: "C"}, tr{Action: "go", From: []lcTState{"C"}, To: "B"})
		}, []fe{
			{Field: "categories.C", Message: `state "C" has no category`},
		}},
		{"zero category", func(d *def) { d.Categories["A"] = 0 }, []fe{
			{Field: "categories.A", Message: `invalid category 0 for state "A"`},
		}},
		{"category out of range", func(d *def) { d.Categories["A"] = 7 }, []fe{
			{Field: "categories.A", Message: `invalid category 7 for state "A"`},
		}},
		{"invalid category on a terminal state", func(d *def) { d.Categories["X"] = 255 }, []fe{
			{Field: "categories.X", Message: `invalid category 255 for state "X"`},
		}},
		{"category for unknown states, sorted", func(d *def) {
			d.Categories["Z"] = itsm.CategoryActive
			d.Categories["M"] = 0
		}, []fe{
			{Field: "categories.M", Message: `category given for unknown state "M"`},
			{Field: "categories.Z", Message: `category given for unknown state "Z"`},
		}},
		{"category for the empty state", func(d *def) { d.Categories[""] = itsm.CategoryNew }, []fe{
			{Field: "categories.", Message: `category given for unknown state ""`},
		}},
		{"terminal state resolved", func(d *def) { d.Categories["B"] = itsm.CategoryResolved }, []fe{
			{Field: "categories.B", Message: `terminal state "B" must be in category closed or cancelled, not resolved`},
		}},
		{"terminal state active", func(d *def) { d.Categories["X"] = itsm.CategoryActive }, []fe{
			{Field: "categories.X", Message: `terminal state "X" must be in category closed or cancelled, not active`},
		}},
		{"non-terminal state closed", func(d *def) { d.Categories["A"] = itsm.CategoryClosed }, []fe{
			{Field: "categories.A", Message: `non-terminal state "A" must not be in terminal category closed`},
		}},
		{"non-terminal state cancelled", func(d *def) { d.Categories["A"] = itsm.CategoryCancelled }, []fe{
			{Field: "categories.A", Message: `non-terminal state "A" must not be in terminal category cancelled`},
		}},
		{"state made non-terminal keeps its closed category", func(d *def) { d.Terminal = []lcTState{"X"} }, []fe{
			{Field: "categories.B", Message: `non-terminal state "B" must not be in terminal category closed`},
			{Field: "states[1]", Message: `non-terminal state "B" has no transition out (dead end)`},
		}},
		{"every category problem at once", func(d *def) {
			d.Categories = map[lcTState]itsm.StateCategory{"B": itsm.CategoryPending, "X": 0, "Q": itsm.CategoryClosed}
		}, []fe{
			{Field: "categories.A", Message: `state "A" has no category`},
			{Field: "categories.B", Message: `terminal state "B" must be in category closed or cancelled, not pending`},
			{Field: "categories.X", Message: `invalid category 0 for state "X"`},
			{Field: "categories.Q", Message: `category given for unknown state "Q"`},
		}},
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
			require.Equal(t, "lifecycle x", ve.Subject)
			require.Equal(t, tc.want, ve.Fields)
		})
	}
}

func TestLifecycleCategoryAccessors(t *testing.T) {
	t.Parallel()
	l := lcTicketLifecycle(t)
	want := map[lcTState]itsm.StateCategory{
		lcStNew:        itsm.CategoryNew,
		lcStAssigned:   itsm.CategoryActive,
		lcStInProgress: itsm.CategoryActive,
		lcStResolved:   itsm.CategoryResolved,
		lcStClosed:     itsm.CategoryClosed,
		lcStCancelled:  itsm.CategoryCancelled,
	}
	for s, c := range want {
		require.Equal(t, c, l.Category(s), "state %s", s)
		require.Equal(t, l.IsTerminal(s), l.Category(s).Terminal(), "state %s", s)
	}
	require.Zero(t, l.Category("Nowhere"))
	require.Zero(t, l.Category(""))
	require.Equal(t, want, l.Categories())

	require.Equal(t, []lcTState{lcStNew}, l.StatesIn(itsm.CategoryNew))
	require.Equal(t, []lcTState{lcStAssigned, lcStInProgress}, l.StatesIn(itsm.CategoryActive), "definition order")
	require.Nil(t, l.StatesIn(itsm.CategoryPending), "no state in the category")
	require.Equal(t, []lcTState{lcStResolved}, l.StatesIn(itsm.CategoryResolved))
	require.Equal(t, []lcTState{lcStClosed}, l.StatesIn(itsm.CategoryClosed))
	require.Equal(t, []lcTState{lcStCancelled}, l.StatesIn(itsm.CategoryCancelled))
	require.Nil(t, l.StatesIn(0))
	require.Nil(t, l.StatesIn(42))

	// The categories partition the states.
	var all []lcTState
	for _, c := range itsm.StateCategories() {
		all = append(all, l.StatesIn(c)...)
	}
	require.ElementsMatch(t, l.States(), all)

	// The results are copies.
	l.StatesIn(itsm.CategoryActive)[0] = "Changed"
	m := l.Categories()
	m[lcStNew] = itsm.CategoryPending
	delete(m, lcStClosed)
	require.Equal(t, []lcTState{lcStAssigned, lcStInProgress}, l.StatesIn(itsm.CategoryActive))
	require.Equal(t, want, l.Categories())
	require.Equal(t, itsm.CategoryNew, l.Category(lcStNew))

	// The map lookup of a large lifecycle gives the same answers.
	big := lcChain(t, 20)
	require.Equal(t, itsm.CategoryNew, big.Category("S0"))
	require.Equal(t, itsm.CategoryActive, big.Category("S12"))
	require.Equal(t, itsm.CategoryClosed, big.Category("S20"))
	require.Zero(t, big.Category("S21"))
	require.Equal(t, []lcTState{"S20"}, big.StatesIn(itsm.CategoryClosed))
	require.Len(t, big.StatesIn(itsm.CategoryActive), 19)
	require.Len(t, big.Categories(), 21)
}

func TestMustNewLifecycle(t *testing.T) {
	t.Parallel()
	require.Equal(t, lcTicketLifecycle(t).Mermaid(), itsm.MustNewLifecycle(lcTicketDefinition()).Mermaid())
	def := lcTicketDefinition()
	def.Initial = lcStClosed
	require.PanicsWithError(t, `itsm: invalid lifecycle ticket: initial: state "Closed" is terminal`, func() {
		itsm.MustNewLifecycle(def)
	})
}

func TestNewLifecycleReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := itsm.NewLifecycle(itsm.Definition[lcTState, lcTAction, *lcTicket]{
		Initial:  "Done",
		States:   []lcTState{"Open", "Done", "Open", "Lost"},
		Terminal: []lcTState{"Done"},
		Categories: map[lcTState]itsm.StateCategory{
			"Open": itsm.CategoryActive, "Done": itsm.CategoryResolved, "Ghost": itsm.CategoryNew, "Attic": 9,
		},
		Transitions: []itsm.Transition[lcTState, lcTAction, *lcTicket]{
			{Action: "finish", From: []lcTState{"Open"}, To: "Done", Guards: []itsm.Guard[*lcTicket]{{Name: ""}}},
			{Action: "finish", From: []lcTState{"Open", "Done"}, To: "Nowhere"},
		},
	})
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "lifecycle", ve.Subject)
	require.Equal(t, []itsm.FieldError{
		{Field: "kind", Message: "must not be empty"},
		{Field: "states[2]", Message: `duplicate state "Open"`},
		{Field: "initial", Message: `state "Done" is terminal`},
		{Field: "categories.Done", Message: `terminal state "Done" must be in category closed or cancelled, not resolved`},
		{Field: "categories.Lost", Message: `state "Lost" has no category`},
		{Field: "categories.Attic", Message: `category given for unknown state "Attic"`},
		{Field: "categories.Ghost", Message: `category given for unknown state "Ghost"`},
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
	l := lcTicketLifecycle(t)
	tests := []struct {
		from   lcTState
		action lcTAction
		actor  itsm.Actor
		to     lcTState
	}{
		{lcStNew, lcAcAssign, lcAgent, lcStAssigned},
		{lcStNew, lcAcAssign, lcLead, lcStAssigned},
		{lcStAssigned, lcAcStart, lcGuest, lcStInProgress},
		{lcStInProgress, lcAcResolve, lcAgent, lcStResolved},
		{lcStResolved, lcAcReopen, lcGuest, lcStInProgress},
		{lcStResolved, lcAcClose, lcAgent, lcStClosed},
		{lcStNew, lcAcCancel, lcLead, lcStCancelled},
		{lcStAssigned, lcAcCancel, lcLead, lcStCancelled},
		{lcStInProgress, lcAcCancel, lcLead, lcStCancelled},
	}
	for _, tc := range tests {
		t.Run(string(tc.from)+"/"+string(tc.action), func(t *testing.T) {
			t.Parallel()
			rec := lcReadyTicket()
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
	l := lcTicketLifecycle(t)
	tests := []struct {
		name      string
		rec       *lcTicket
		from      lcTState
		action    lcTAction
		actor     itsm.Actor
		want      itsm.TransitionError
		forbidden bool
		text      string
	}{
		{
			name: "unknown action", rec: lcReadyTicket(), from: lcStNew, action: "teleport", actor: lcAgent,
			want: itsm.TransitionError{UnknownAction: true},
			text: "itsm: cannot teleport ticket T-1 in state New: unknown action",
		},
		{
			name: "unknown state", rec: lcReadyTicket(), from: "Limbo", action: lcAcStart, actor: lcAgent,
			want: itsm.TransitionError{UnknownState: true},
			text: "itsm: cannot start ticket T-1 in state Limbo: unknown state",
		},
		{
			name: "unknown state and action", rec: lcReadyTicket(), from: "Limbo", action: "teleport", actor: lcAgent,
			want: itsm.TransitionError{UnknownState: true, UnknownAction: true},
			text: "itsm: cannot teleport ticket T-1 in state Limbo: unknown state; unknown action",
		},
		{
			name: "wrong state", rec: lcReadyTicket(), from: lcStNew, action: lcAcResolve, actor: lcAgent,
			want: itsm.TransitionError{WrongState: true},
			text: "itsm: cannot resolve ticket T-1 in state New: not permitted from this state",
		},
		{
			name: "from terminal state", rec: lcReadyTicket(), from: lcStClosed, action: lcAcReopen, actor: lcLead,
			want: itsm.TransitionError{WrongState: true},
			text: "itsm: cannot reopen ticket T-1 in state Closed: not permitted from this state",
		},
		{
			name: "wrong role only", rec: lcReadyTicket(), from: lcStNew, action: lcAcCancel, actor: lcAgent,
			want:      itsm.TransitionError{RolesRequired: []string{"lead"}},
			forbidden: true,
			text:      "itsm: cannot cancel ticket T-1 in state New: requires one of roles lead",
		},
		{
			name: "no roles at all", rec: lcReadyTicket(), from: lcStNew, action: lcAcAssign, actor: lcGuest,
			want:      itsm.TransitionError{RolesRequired: []string{"agent", "lead"}},
			forbidden: true,
			text:      "itsm: cannot assign ticket T-1 in state New: requires one of roles agent, lead",
		},
		{
			name: "missing field", rec: &lcTicket{ID: "T-1", Assignee: "ana"}, from: lcStInProgress, action: lcAcResolve, actor: lcAgent,
			want: itsm.TransitionError{MissingFields: []string{"resolution"}},
			text: "itsm: cannot resolve ticket T-1 in state InProgress: missing resolution",
		},
		{
			name: "one guard", rec: &lcTicket{ID: "T-1", Assignee: "ana", Resolution: "fixed", OpenTasks: 2}, from: lcStInProgress, action: lcAcResolve, actor: lcAgent,
			want: itsm.TransitionError{Unmet: []itsm.GuardFailure{{Guard: "no-open-tasks", Reason: "2 tasks still open"}}},
			text: "itsm: cannot resolve ticket T-1 in state InProgress: no-open-tasks: 2 tasks still open",
		},
		{
			name: "several guards", rec: &lcTicket{ID: "T-1", Assignee: "bob", Resolution: "fixed", OpenTasks: 1}, from: lcStInProgress, action: lcAcResolve, actor: lcAgent,
			want: itsm.TransitionError{Unmet: []itsm.GuardFailure{
				{Guard: "no-open-tasks", Reason: "1 tasks still open"},
				{Guard: "assignee-acts", Reason: `only the assignee "bob" may do this`},
			}},
			text: `itsm: cannot resolve ticket T-1 in state InProgress: no-open-tasks: 1 tasks still open; assignee-acts: only the assignee "bob" may do this`,
		},
		{
			name: "every obstacle at once", rec: &lcTicket{ID: "T-1", Assignee: "bob", OpenTasks: 3}, from: lcStInProgress, action: lcAcResolve, actor: lcGuest,
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
	def := lcTicketDefinition()
	def.ID = nil
	l, err := itsm.NewLifecycle(def)
	require.NoError(t, err)
	_, err = l.Fire(lcReadyTicket(), lcStNew, lcAcResolve, lcAgent)
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
	l := lcTicketLifecycle(t)
	_, err := l.Fire(lcReadyTicket(), lcStNew, lcAcAssign, lcGuest)
	var te *itsm.TransitionError
	require.ErrorAs(t, err, &te)
	te.RolesRequired[0] = "mutated"
	_, err = l.Fire(lcReadyTicket(), lcStNew, lcAcAssign, lcGuest)
	require.ErrorAs(t, err, &te)
	require.Equal(t, []string{"agent", "lead"}, te.RolesRequired)
}

// lcCountingDefinition has one transition whose two guards count their calls
// and refuse when told to.
func lcCountingDefinition(calls *[2]atomic.Int32, refuse *[2]bool) itsm.Definition[lcTState, lcTAction, *lcTicket] {
	guard := func(i int) func(*lcTicket, itsm.Actor) error {
		return func(*lcTicket, itsm.Actor) error {
			calls[i].Add(1)
			if refuse[i] {
				return fmt.Errorf("guard %d refuses", i)
			}
			return nil
		}
	}
	return itsm.Definition[lcTState, lcTAction, *lcTicket]{
		Kind:       "counter",
		Initial:    "A",
		States:     []lcTState{"A", "B"},
		Terminal:   []lcTState{"B"},
		Categories: map[lcTState]itsm.StateCategory{"A": itsm.CategoryNew, "B": itsm.CategoryClosed},
		Transitions: []itsm.Transition[lcTState, lcTAction, *lcTicket]{{
			Action: "go", From: []lcTState{"A"}, To: "B",
			Guards: []itsm.Guard[*lcTicket]{{Name: "g0", Check: guard(0)}, {Name: "g1", Check: guard(1)}},
		}},
	}
}

func TestGuardEvaluation(t *testing.T) {
	t.Parallel()
	var calls [2]atomic.Int32
	refuse := [2]bool{true, true}
	l, err := itsm.NewLifecycle(lcCountingDefinition(&calls, &refuse))
	require.NoError(t, err)

	// Fire runs every guard exactly once, even after the first refusal.
	_, err = l.Fire(nil, "A", "go", lcAgent)
	require.Error(t, err)
	require.Equal(t, int32(1), calls[0].Load())
	require.Equal(t, int32(1), calls[1].Load())

	// Can stops at the first refusal.
	require.False(t, l.Can(nil, "A", "go", lcAgent))
	require.Equal(t, int32(2), calls[0].Load())
	require.Equal(t, int32(1), calls[1].Load())

	// Guards do not run when the state is wrong.
	_, err = l.Fire(nil, "B", "go", lcAgent)
	require.Error(t, err)
	require.Equal(t, int32(2), calls[0].Load())
}

func TestPermitted(t *testing.T) {
	t.Parallel()
	l := lcTicketLifecycle(t)
	tests := []struct {
		name  string
		rec   *lcTicket
		from  lcTState
		actor itsm.Actor
		want  []lcTAction
	}{
		{"agent on new", lcReadyTicket(), lcStNew, lcAgent, []lcTAction{lcAcAssign}},
		{"lead on new", lcReadyTicket(), lcStNew, lcLead, []lcTAction{lcAcAssign, lcAcCancel}},
		{"guest on new", lcReadyTicket(), lcStNew, lcGuest, nil},
		{"assignee on work", lcReadyTicket(), lcStInProgress, lcAgent, []lcTAction{lcAcResolve}},
		{"other agent on work", lcReadyTicket(), lcStInProgress, itsm.Actor{ID: "bob", Roles: []itsm.Role{"agent"}}, nil},
		{"unresolved work", &lcTicket{Assignee: "ana"}, lcStInProgress, lcAgent, nil},
		{"resolved", lcReadyTicket(), lcStResolved, lcGuest, []lcTAction{lcAcReopen, lcAcClose}},
		{"terminal", lcReadyTicket(), lcStClosed, lcLead, nil},
		{"unknown state", lcReadyTicket(), "Limbo", lcLead, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, l.Permitted(tc.rec, tc.from, tc.actor))
			buf := []lcTAction{"keep"}
			require.Equal(t, append([]lcTAction{"keep"}, tc.want...), l.AppendPermitted(buf, tc.rec, tc.from, tc.actor))
		})
	}
}

// lcChain builds a lifecycle S0 -> S1 -> ... -> Sn with one action per step,
// large enough that states and actions are looked up by map.
func lcChain(t testing.TB, n int) *itsm.Lifecycle[lcTState, lcTAction, *lcTicket] {
	t.Helper()
	def := itsm.Definition[lcTState, lcTAction, *lcTicket]{
		Kind: "chain", Initial: "S0", Categories: map[lcTState]itsm.StateCategory{},
	}
	for i := 0; i <= n; i++ {
		s := lcTState(fmt.Sprintf("S%d", i))
		def.States = append(def.States, s)
		def.Categories[s] = itsm.CategoryActive
	}
	def.Terminal = []lcTState{def.States[n]}
	def.Categories[def.States[0]] = itsm.CategoryNew
	def.Categories[def.States[n]] = itsm.CategoryClosed
	for i := 0; i < n; i++ {
		def.Transitions = append(def.Transitions, itsm.Transition[lcTState, lcTAction, *lcTicket]{
			Action: lcTAction(fmt.Sprintf("a%d", i)), From: []lcTState{def.States[i]}, To: def.States[i+1],
		})
	}
	l, err := itsm.NewLifecycle(def)
	require.NoError(t, err)
	return l
}

func TestLargeLifecycle(t *testing.T) {
	t.Parallel()
	const n = 40
	l := lcChain(t, n)
	s := l.Initial()
	for i := 0; i < n; i++ {
		a := lcTAction(fmt.Sprintf("a%d", i))
		require.Equal(t, []lcTAction{a}, l.Permitted(nil, s, lcGuest))
		next, err := l.Fire(nil, s, a, lcGuest)
		require.NoError(t, err)
		s = next
	}
	require.Equal(t, lcTState(fmt.Sprintf("S%d", n)), s)
	require.True(t, l.IsTerminal(s))
	require.True(t, l.HasState("S7") && l.HasState("S39") && !l.HasState("S41"))

	_, err := l.Fire(nil, "S3", "a4", lcGuest)
	var te *itsm.TransitionError
	require.ErrorAs(t, err, &te)
	require.True(t, te.WrongState)
	_, err = l.Fire(nil, "S3", "a99", lcGuest)
	require.ErrorAs(t, err, &te)
	require.True(t, te.UnknownAction)
	_, err = l.Fire(nil, "S99", "a3", lcGuest)
	require.ErrorAs(t, err, &te)
	require.True(t, te.UnknownState)
}

func TestFireAllocatesNothing(t *testing.T) {
	l := lcTicketLifecycle(t)
	rec := lcReadyTicket()
	buf := make([]lcTAction, 0, 8)
	tests := []struct {
		name string
		f    func()
	}{
		{"open transition", func() { _, _ = l.Fire(rec, lcStAssigned, lcAcStart, lcAgent) }},
		{"roles, field and guards", func() { _, _ = l.Fire(rec, lcStInProgress, lcAcResolve, lcAgent) }},
		{"Can", func() { _ = l.Can(rec, lcStInProgress, lcAcResolve, lcAgent) }},
		{"AppendPermitted", func() { buf = l.AppendPermitted(buf[:0], rec, lcStInProgress, lcAgent) }},
		{"Category", func() { _ = l.Category(lcStResolved) }},
		{"map lookup", func() {
			big := lcChain(t, 20)
			f := func() { _, _ = big.Fire(nil, "S12", "a12", lcGuest) }
			require.Zero(t, testing.AllocsPerRun(100, f))
			require.Zero(t, testing.AllocsPerRun(100, func() { _ = big.Category("S12") }))
		}},
	}
	for _, tc := range tests {
		if tc.name == "map lookup" {
			tc.f()
			continue
		}
		to, err := l.Fire(rec, lcStInProgress, lcAcResolve, lcAgent)
		require.NoError(t, err, "the success path is measured")
		require.Equal(t, lcStResolved, to)
		require.Zero(t, testing.AllocsPerRun(100, tc.f), tc.name)
	}
}

func TestLifecycleConcurrentUse(t *testing.T) {
	t.Parallel()
	l := lcTicketLifecycle(t)
	const workers = 16
	const rounds = 200
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := &lcTicket{ID: fmt.Sprintf("T-%d", w), Assignee: lcAgent.ID, Resolution: "fixed"}
			for r := 0; r < rounds; r++ {
				s := l.Initial()
				for _, a := range []lcTAction{lcAcAssign, lcAcStart, lcAcResolve, lcAcReopen, lcAcResolve, lcAcClose} {
					next, err := l.Fire(rec, s, a, lcAgent)
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
				_, err := l.Fire(rec, lcStNew, lcAcCancel, lcAgent)
				var te *itsm.TransitionError
				if !errors.As(err, &te) || !te.Forbidden() || te.ID != rec.ID {
					errs <- fmt.Errorf("worker %d: unexpected refusal %v", w, err)
					return
				}
				_ = l.Permitted(rec, lcStInProgress, lcAgent)
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
	odd, err := itsm.NewLifecycle(itsm.Definition[lcTState, lcTAction, *lcTicket]{
		Kind:     "odd",
		Initial:  "In Progress",
		States:   []lcTState{"In Progress", "s0", "state", "Wait;ing", `Say "hi"`, "Done"},
		Terminal: []lcTState{"Done"},
		Categories: map[lcTState]itsm.StateCategory{
			"In Progress": itsm.CategoryActive, "s0": itsm.CategoryActive, "state": itsm.CategoryPending,
			"Wait;ing": itsm.CategoryPending, `Say "hi"`: itsm.CategoryResolved, "Done": itsm.CategoryClosed,
		},
		Transitions: []itsm.Transition[lcTState, lcTAction, *lcTicket]{
			{Action: "to s0", From: []lcTState{"In Progress"}, To: "s0"},
			{Action: "to state", From: []lcTState{"s0"}, To: "state", Roles: []itsm.Role{"a;b"}},
			{Action: "wait\nlonger", From: []lcTState{"state"}, To: "Wait;ing"},
			{Action: "greet", From: []lcTState{"Wait;ing"}, To: `Say "hi"`},
			{Action: "finish", From: []lcTState{`Say "hi"`, "In Progress"}, To: "Done"},
		},
	})
	require.NoError(t, err)
	tests := []struct {
		golden string
		got    string
	}{
		{"lifecycle_ticket.mmd", lcTicketLifecycle(t).Mermaid()},
		{"lifecycle_odd_names.mmd", odd.Mermaid()},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			path := filepath.Join("testdata", tc.golden)
			if lcUpdateGolden() {
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
	first := lcTicketLifecycle(t).Mermaid()
	for i := 0; i < 20; i++ {
		require.Equal(t, first, lcTicketLifecycle(t).Mermaid())
	}
}
