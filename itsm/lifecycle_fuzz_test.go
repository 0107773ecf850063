package itsm_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/itsmkit/itsmkit/itsm"
)

// lcFuzzReader hands out bytes of fuzz input, then zeros.
type lcFuzzReader []byte

func (r *lcFuzzReader) next() byte {
	if len(*r) == 0 {
		return 0
	}
	b := (*r)[0]
	*r = (*r)[1:]
	return b
}

var (
	lcFuzzStates  = []lcTState{"A", "B", "C", "D", "E", "F", "", "In Progress"}
	lcFuzzActions = []lcTAction{"go", "back", "stop", "x", ""}
	lcFuzzRoles   = []itsm.Role{"agent", "lead", ""}
)

// lcFuzzDefinition decodes a lifecycle definition, valid or not, from data.
// The record is an int; the guard refuses odd records and the field is
// present on positive ones.
func lcFuzzDefinition(data []byte) itsm.Definition[lcTState, lcTAction, *int] {
	r := lcFuzzReader(data)
	pick := func(n int) int { return int(r.next()) % n }
	def := itsm.Definition[lcTState, lcTAction, *int]{Kind: "fuzz"}
	for range 1 + pick(6) {
		def.States = append(def.States, lcFuzzStates[pick(len(lcFuzzStates))])
	}
	def.Initial = lcFuzzStates[pick(len(lcFuzzStates))]
	for range pick(3) {
		def.Terminal = append(def.Terminal, lcFuzzStates[pick(len(lcFuzzStates))])
	}
	for range pick(9) {
		t := itsm.Transition[lcTState, lcTAction, *int]{
			Action: lcFuzzActions[pick(len(lcFuzzActions))],
			To:     lcFuzzStates[pick(len(lcFuzzStates))],
		}
		for range pick(3) {
			t.From = append(t.From, lcFuzzStates[pick(len(lcFuzzStates))])
		}
		flags := r.next()
		if flags&1 != 0 {
			t.Roles = append(t.Roles, lcFuzzRoles[pick(len(lcFuzzRoles))])
		}
		if flags&2 != 0 {
			t.Guards = append(t.Guards, itsm.Guard[*int]{Name: "even", Check: func(n *int, _ itsm.Actor) error {
				if *n%2 != 0 {
					return errors.New("odd")
				}
				return nil
			}})
		}
		if flags&4 != 0 {
			t.Required = append(t.Required, itsm.Field[*int]{Name: "positive", Present: func(n *int) bool { return *n > 0 }})
		}
		if flags&8 != 0 {
			t.Guards = append(t.Guards, itsm.Guard[*int]{Name: ""})
		}
		def.Transitions = append(def.Transitions, t)
	}
	// Categories are decoded last so that the seeds keep their meaning.
	// Every state gets a consistent one (terminal ones closed, others
	// active), so the rest of the definition is explored; a further byte
	// may then break one category on purpose.
	def.Categories = make(map[lcTState]itsm.StateCategory, len(def.States))
	for _, s := range def.States {
		if slices.Contains(def.Terminal, s) {
			def.Categories[s] = itsm.CategoryClosed
		} else {
			def.Categories[s] = itsm.CategoryActive
		}
	}
	switch r.next() % 8 {
	case 1: // a state without a category
		delete(def.Categories, lcFuzzStates[pick(len(lcFuzzStates))])
	case 2: // any category, valid or not, matching or not
		def.Categories[lcFuzzStates[pick(len(lcFuzzStates))]] = itsm.StateCategory(pick(9))
	case 3: // a category for an unknown state
		def.Categories["Z"] = itsm.CategoryActive
	case 4: // another open or resolved category for a non-terminal state
		def.Categories[lcFuzzStates[pick(len(lcFuzzStates))]] = itsm.StateCategory(1 + pick(4))
	}
	return def
}

// FuzzLifecycle builds arbitrary definitions. Building never panics and
// either fails with a *ValidationError or yields a lifecycle on which Fire,
// Can, Permitted, Available and Target agree for every state and action.
func FuzzLifecycle(f *testing.F) {
	// A -go-> B -stop-> C with roles, a guard and a field; a spaced state
	// name with a role; and a definition with problems.
	f.Add([]byte{2, 0, 1, 2, 0, 1, 2, 3, 0, 1, 1, 0, 3, 0, 1, 0, 1, 1, 4, 2, 2, 2, 0, 1, 0}, 2, byte(1))
	f.Add([]byte{2, 7, 0, 2, 7, 1, 2, 2, 0, 0, 1, 7, 2, 2, 2, 1, 0, 1, 1}, 3, byte(2))
	f.Add([]byte{1, 0, 0, 0, 1, 0, 1, 1, 1, 0}, -1, byte(3))
	f.Fuzz(func(t *testing.T, data []byte, rec int, roles byte) {
		def := lcFuzzDefinition(data)
		l, err := itsm.NewLifecycle(def)
		if err != nil {
			var ve *itsm.ValidationError
			if !errors.As(err, &ve) || len(ve.Fields) == 0 || !errors.Is(err, itsm.ErrValidation) {
				t.Fatalf("want a non-empty *ValidationError, got %#v", err)
			}
			if l != nil {
				t.Fatal("a lifecycle returned with an error")
			}
			return
		}
		var actor itsm.Actor
		for i, r := range lcFuzzRoles[:2] {
			if roles&(1<<i) != 0 {
				actor.Roles = append(actor.Roles, r)
			}
		}
		var inCategories int
		for _, c := range itsm.StateCategories() {
			inCategories += len(l.StatesIn(c))
		}
		if inCategories != len(l.States()) || len(l.Categories()) != len(l.States()) {
			t.Fatalf("categories %v do not partition states %v", l.Categories(), l.States())
		}
		for _, s := range lcFuzzStates {
			c := l.Category(s)
			if c.Valid() != l.HasState(s) || c.Terminal() != l.IsTerminal(s) {
				t.Fatalf("state %q: category %v, known %v, terminal %v", s, c, l.HasState(s), l.IsTerminal(s))
			}
		}
		g := l.Mermaid()
		if !strings.HasPrefix(g, "stateDiagram-v2\n") || !strings.Contains(g, "\n    [*] --> ") {
			t.Fatalf("no initial edge in\n%s", g)
		}
		for _, s := range lcFuzzStates {
			permitted := l.Permitted(&rec, s, actor)
			available := l.Available(s)
			for _, a := range lcFuzzActions {
				to, err := l.Fire(&rec, s, a, actor)
				can := l.Can(&rec, s, a, actor)
				target, defined := l.Target(s, a)
				if (err == nil) != can || can != slices.Contains(permitted, a) {
					t.Fatalf("%s/%s: Fire err %v, Can %v, Permitted %v disagree", s, a, err, can, permitted)
				}
				if defined != slices.Contains(available, a) {
					t.Fatalf("%s/%s: Target defined %v, Available %v disagree", s, a, defined, available)
				}
				if err == nil {
					if !defined || to != target || !l.HasState(to) {
						t.Fatalf("%s/%s: Fire went to %q, Target says %q %v", s, a, to, target, defined)
					}
					continue
				}
				var te *itsm.TransitionError
				if !errors.As(err, &te) || !errors.Is(err, itsm.ErrInvalidTransition) || to != s {
					t.Fatalf("%s/%s: bad refusal %#v, state %q", s, a, err, to)
				}
				if te.UnknownState == l.HasState(s) || te.UnknownAction == l.HasAction(a) {
					t.Fatalf("%s/%s: unknown flags wrong in %#v", s, a, te)
				}
				if defined == (te.UnknownState || te.UnknownAction || te.WrongState) {
					t.Fatalf("%s/%s: defined %v but refusal %#v", s, a, defined, te)
				}
				if defined && len(te.RolesRequired)+len(te.MissingFields)+len(te.Unmet) == 0 {
					t.Fatalf("%s/%s: refusal without a reason %#v", s, a, te)
				}
			}
		}
	})
}
