package itsm

import (
	"slices"
	"strconv"
)

// Guard is a named condition a transition must meet. Check receives the
// record and the acting Actor and returns nil to allow the transition or an
// error whose text explains the refusal; that text becomes the Reason of a
// GuardFailure in the TransitionError, so it is never lost. A sentinel
// error (errors.New at package level) keeps a refusal free of allocations.
//
// Check must not modify the record, must be safe for concurrent use (a
// Lifecycle is shared by every record of its kind) and should be cheap and
// deterministic: Fire calls every guard of a transition once, Can stops at
// the first refusal, and Permitted calls the guards of every action
// available from the state.
type Guard[R any] struct {
	// Name identifies the guard in errors and in the Mermaid graph, such
	// as "no-open-tasks". It must not be empty and must be unique within
	// one transition.
	Name string
	// Check decides; it must not be nil.
	Check func(rec R, actor Actor) error
}

// Field is a field of the record that a transition requires to be set,
// such as the resolution code before an incident may be resolved.
type Field[R any] struct {
	// Name identifies the field in TransitionError.MissingFields and in
	// the Mermaid graph. It must not be empty and must be unique within
	// one transition.
	Name string
	// Present reports whether the field is set on the record; it must not
	// be nil, and it is subject to the same rules as Guard.Check.
	Present func(rec R) bool
}

// Transition declares that Action moves a record from any state in From to
// To, subject to Roles, Required and Guards. All three restrictions are
// optional; a transition without any is open to every actor.
type Transition[S ~string, A ~string, R any] struct {
	// Action is what the actor does, such as "resolve". The same action
	// may appear in several transitions as long as no state is listed
	// as a source twice for it.
	Action A
	// From lists the source states; at least one is required, and none
	// may be terminal.
	From []S
	// To is the target state. It may be one of From (a self-transition,
	// such as re-assigning a ticket without changing its state).
	To S
	// Roles lists the roles of which the actor must hold at least one.
	// Empty means any actor.
	Roles []Role
	// Required lists the fields that must be set on the record.
	Required []Field[R]
	// Guards lists further conditions, evaluated in order.
	Guards []Guard[R]
}

// Definition is the declarative description of a lifecycle, turned into a
// Lifecycle by NewLifecycle. NewLifecycle copies it, so the caller may
// reuse or change it afterwards.
type Definition[S ~string, A ~string, R any] struct {
	// Kind names the record type, such as "incident". It appears in
	// errors and must not be empty.
	Kind string
	// Initial is the state of a new record. It must be one of States and
	// must not be terminal.
	Initial S
	// States lists every state, terminal ones included, without
	// duplicates. Its order is the order of Lifecycle.States.
	States []S
	// Terminal lists the states a record never leaves, such as "closed".
	// Every terminal state must be one of States.
	Terminal []S
	// Categories gives every state its StateCategory; every state must
	// have one, and no other key may appear. Terminal states must be in
	// CategoryClosed or CategoryCancelled, and only they may be. Cross-kind
	// views, metrics and SLA rules use categories, so they need no state
	// names: "open work" is every record whose state's category is Open,
	// whatever the record type calls its states.
	Categories map[S]StateCategory
	// Transitions lists the permitted moves. The order of first
	// appearance of each action is the order of Lifecycle.Actions and of
	// Permitted.
	Transitions []Transition[S, A, R]
	// ID optionally returns the identifier of a record. When set, Fire
	// fills TransitionError.ID with it; it is called only when Fire
	// refuses, so it costs nothing on the success path. When nil the
	// caller may set the ID itself after errors.As.
	ID func(rec R) string
}

// edge is a transition compiled for Fire: the target as an interned index
// and the restrictions as they were declared.
type edge[R any] struct {
	to        int32
	open      bool // no roles, fields or guards
	roles     []Role
	roleNames []string
	required  []Field[R]
	guards    []Guard[R]
}

// smallTable is the largest number of states or actions looked up by a
// linear scan; larger sets use a map.
const smallTable = 8

// Lifecycle is an immutable, validated transition table for one record
// type: S is its state type, A its action type and R the record that guards
// and required fields inspect (usually a pointer to the record struct).
//
// The record's current state is passed explicitly to Fire, Can and
// Permitted, so R needs no particular shape and the same Lifecycle can
// check a record before it exists. A Lifecycle is built once by
// NewLifecycle and is safe for concurrent use by any number of goroutines,
// provided the guards and fields it was given are. The zero Lifecycle is not
// usable.
//
// Every state belongs to one StateCategory (see Category and StatesIn), so
// code that handles several record types can ask whether a record is open
// or finished without knowing each type's state names.
//
// States and actions are interned into small integers when the lifecycle is
// built, and each (state, action) pair maps to its transition through a
// dense table, so Fire, Can and AppendPermitted allocate nothing unless an
// action is refused.
type Lifecycle[S ~string, A ~string, R any] struct {
	kind       string
	initial    int32
	states     []S
	terminal   []bool
	categories []StateCategory // parallel to states
	actions    []A
	stateIdx   map[S]int32 // nil when len(states) <= smallTable
	actionIdx  map[A]int32 // nil when len(actions) <= smallTable
	table      []int32     // [state*len(actions)+action] -> index into edges, or -1
	edges      []edge[R]
	def        []Transition[S, A, R] // deep copy, for Transitions and Mermaid
	terminals  []S
	id         func(R) string
}

// NewLifecycle validates def and builds its Lifecycle. It reports every
// problem at once as a *ValidationError (matching ErrValidation) whose
// field paths point into def, such as "transitions[2].from[0]". The checks
// are: an empty Kind; empty or duplicate state names; an Initial state that
// is empty, unknown or terminal; unknown or duplicate terminal states; a
// state without a category, an invalid category (the zero value included),
// a category for an unknown state, a terminal state whose category is
// neither closed nor cancelled, and a non-terminal state whose category is
// closed or cancelled (each reported as "categories.<state>", such as
// "categories.closed", in the order of States and then, for unknown
// states, in sorted order); an empty action; a transition without From;
// unknown From or To states; a transition out of a terminal state; the
// same action from the same state twice; empty roles; unnamed, duplicate
// or nil guards and fields; states not reachable from Initial; and
// non-terminal states with no way out.
func NewLifecycle[S ~string, A ~string, R any](def Definition[S, A, R]) (*Lifecycle[S, A, R], error) {
	subject := "lifecycle"
	if def.Kind != "" {
		subject += " " + def.Kind
	}
	v := &ValidationError{Subject: subject}
	if def.Kind == "" {
		v.Add("kind", "must not be empty")
	}

	l := &Lifecycle[S, A, R]{kind: def.Kind, initial: -1, id: def.ID}

	// States.
	index := make(map[S]int32, len(def.States))
	if len(def.States) == 0 {
		v.Add("states", "must not be empty")
	}
	for i, s := range def.States {
		switch _, dup := index[s]; {
		case s == "":
			v.Add(fieldIndex("states", i), "must not be empty")
		case dup:
			v.Add(fieldIndex("states", i), "duplicate state %q", s)
		default:
			index[s] = int32(len(l.states))
			l.states = append(l.states, s)
		}
	}
	l.terminal = make([]bool, len(l.states))
	for i, s := range def.Terminal {
		si, ok := index[s]
		switch {
		case s == "":
			v.Add(fieldIndex("terminal", i), "must not be empty")
		case !ok:
			v.Add(fieldIndex("terminal", i), "unknown state %q", s)
		case l.terminal[si]:
			v.Add(fieldIndex("terminal", i), "duplicate terminal state %q", s)
		default:
			l.terminal[si] = true
			l.terminals = append(l.terminals, s)
		}
	}
	if si, ok := index[def.Initial]; def.Initial == "" {
		v.Add("initial", "must not be empty")
	} else if !ok {
		v.Add("initial", "unknown state %q", def.Initial)
	} else if l.terminal[si] {
		v.Add("initial", "state %q is terminal", def.Initial)
	} else {
		l.initial = si
	}
	l.categories = validateCategories(v, def.Categories, l.states, l.terminal, index)

	// Actions, in order of first appearance.
	actIndex := make(map[A]int32)
	for i, t := range def.Transitions {
		if t.Action == "" {
			v.Add(fieldIndex("transitions", i)+".action", "must not be empty")
			continue
		}
		if _, ok := actIndex[t.Action]; !ok {
			actIndex[t.Action] = int32(len(l.actions))
			l.actions = append(l.actions, t.Action)
		}
	}

	// Transitions.
	l.table = make([]int32, len(l.states)*len(l.actions))
	for i := range l.table {
		l.table[i] = -1
	}
	outgoing := make([][]int32, len(l.states)) // adjacency for reachability
	for i, t := range def.Transitions {
		path := fieldIndex("transitions", i)
		to, toOK := index[t.To]
		switch {
		case t.To == "":
			v.Add(path+".to", "must not be empty")
		case !toOK:
			v.Add(path+".to", "unknown state %q", t.To)
		}
		if len(t.From) == 0 {
			v.Add(path+".from", "must not be empty")
		}
		validateRestrictions(v, path, t)

		ai, actOK := actIndex[t.Action]
		ei := int32(len(l.edges))
		for j, f := range t.From {
			fp := fieldIndex(path+".from", j)
			fi, ok := index[f]
			switch {
			case f == "":
				v.Add(fp, "must not be empty")
				continue
			case !ok:
				v.Add(fp, "unknown state %q", f)
				continue
			case l.terminal[fi]:
				v.Add(fp, "leaves terminal state %q", f)
				continue
			}
			if !actOK {
				continue
			}
			cell := &l.table[int(fi)*len(l.actions)+int(ai)]
			if *cell >= 0 {
				v.Add(fp, "duplicate transition: action %q from state %q is already defined", t.Action, f)
				continue
			}
			*cell = ei
			if toOK {
				outgoing[fi] = append(outgoing[fi], to)
			}
		}
		l.edges = append(l.edges, compileEdge(t, to))
		l.def = append(l.def, cloneTransition(t))
	}

	// Reachability and dead ends, over the transitions that were valid.
	if l.initial >= 0 {
		seen := make([]bool, len(l.states))
		seen[l.initial] = true
		queue := []int32{l.initial}
		for len(queue) > 0 {
			s := queue[0]
			queue = queue[1:]
			for _, n := range outgoing[s] {
				if !seen[n] {
					seen[n] = true
					queue = append(queue, n)
				}
			}
		}
		for si, ok := range seen {
			if !ok {
				v.Add(stateField(def.States, l.states[si]), "state %q is unreachable from initial state %q", l.states[si], def.Initial)
			}
		}
	}
	for si, s := range l.states {
		if !l.terminal[si] && len(outgoing[si]) == 0 {
			v.Add(stateField(def.States, s), "non-terminal state %q has no transition out (dead end)", s)
		}
	}

	if err := v.Err(); err != nil {
		return nil, err
	}
	if len(l.states) > smallTable {
		l.stateIdx = index
	}
	if len(l.actions) > smallTable {
		l.actionIdx = actIndex
	}
	return l, nil
}

// validateCategories checks the categories of def against its states and
// returns them parallel to states (0 where a category is missing or
// invalid; the Lifecycle is not built then).
func validateCategories[S ~string](v *ValidationError, cats map[S]StateCategory, states []S, terminal []bool, index map[S]int32) []StateCategory {
	out := make([]StateCategory, len(states))
	for si, s := range states {
		path := "categories." + string(s)
		c, ok := cats[s]
		switch {
		case !ok:
			v.Add(path, "state %q has no category", s)
		case !c.Valid():
			v.Add(path, "invalid category %d for state %q", int(c), s)
		case terminal[si] && !c.Terminal():
			v.Add(path, "terminal state %q must be in category closed or cancelled, not %s", s, c)
		case !terminal[si] && c.Terminal():
			v.Add(path, "non-terminal state %q must not be in terminal category %s", s, c)
		default:
			out[si] = c
		}
	}
	var unknown []S
	for s := range cats {
		if _, ok := index[s]; !ok {
			unknown = append(unknown, s)
		}
	}
	slices.Sort(unknown)
	for _, s := range unknown {
		v.Add("categories."+string(s), "category given for unknown state %q", s)
	}
	return out
}

// MustNewLifecycle is like NewLifecycle but panics with the
// *ValidationError when def is invalid. It is meant for package-level
// variables holding a definition that is part of the program, like
// regexp.MustCompile; use NewLifecycle for definitions loaded at run time.
func MustNewLifecycle[S ~string, A ~string, R any](def Definition[S, A, R]) *Lifecycle[S, A, R] {
	l, err := NewLifecycle(def)
	if err != nil {
		panic(err)
	}
	return l
}

// validateRestrictions checks the roles, fields and guards of t.
func validateRestrictions[S ~string, A ~string, R any](v *ValidationError, path string, t Transition[S, A, R]) {
	for k, r := range t.Roles {
		if r == "" {
			v.Add(fieldIndex(path+".roles", k), "must not be empty")
		}
	}
	names := make(map[string]bool, len(t.Required)+len(t.Guards))
	for k, f := range t.Required {
		fp := fieldIndex(path+".required", k)
		switch {
		case f.Name == "":
			v.Add(fp+".name", "must not be empty")
		case names["f:"+f.Name]:
			v.Add(fp+".name", "duplicate field %q", f.Name)
		}
		names["f:"+f.Name] = true
		if f.Present == nil {
			v.Add(fp+".present", "must not be nil")
		}
	}
	for k, g := range t.Guards {
		gp := fieldIndex(path+".guards", k)
		switch {
		case g.Name == "":
			v.Add(gp+".name", "must not be empty")
		case names["g:"+g.Name]:
			v.Add(gp+".name", "duplicate guard %q", g.Name)
		}
		names["g:"+g.Name] = true
		if g.Check == nil {
			v.Add(gp+".check", "must not be nil")
		}
	}
}

func compileEdge[S ~string, A ~string, R any](t Transition[S, A, R], to int32) edge[R] {
	e := edge[R]{
		to:       to,
		roles:    slices.Clone(t.Roles),
		required: slices.Clone(t.Required),
		guards:   slices.Clone(t.Guards),
	}
	e.open = len(e.roles) == 0 && len(e.required) == 0 && len(e.guards) == 0
	for _, r := range e.roles {
		e.roleNames = append(e.roleNames, string(r))
	}
	return e
}

func cloneTransition[S ~string, A ~string, R any](t Transition[S, A, R]) Transition[S, A, R] {
	t.From = slices.Clone(t.From)
	t.Roles = slices.Clone(t.Roles)
	t.Required = slices.Clone(t.Required)
	t.Guards = slices.Clone(t.Guards)
	return t
}

// stateField returns the path of the first occurrence of s in states.
func stateField[S ~string](states []S, s S) string {
	return fieldIndex("states", slices.Index(states, s))
}

func fieldIndex(name string, i int) string {
	return name + "[" + strconv.Itoa(i) + "]"
}

// stateIndex interns s, returning -1 when the lifecycle does not know it.
func (l *Lifecycle[S, A, R]) stateIndex(s S) int32 {
	if l.stateIdx != nil {
		if i, ok := l.stateIdx[s]; ok {
			return i
		}
		return -1
	}
	for i, x := range l.states {
		if x == s {
			return int32(i)
		}
	}
	return -1
}

// actionIndex interns a, returning -1 when the lifecycle does not know it.
func (l *Lifecycle[S, A, R]) actionIndex(a A) int32 {
	if l.actionIdx != nil {
		if i, ok := l.actionIdx[a]; ok {
			return i
		}
		return -1
	}
	for i, x := range l.actions {
		if x == a {
			return int32(i)
		}
	}
	return -1
}

// lookup returns the edge for action from state, or nil with the reason.
func (l *Lifecycle[S, A, R]) lookup(from S, action A) (e *edge[R], unknownState, unknownAction bool) {
	si := l.stateIndex(from)
	ai := l.actionIndex(action)
	if si < 0 || ai < 0 {
		return nil, si < 0, ai < 0
	}
	ei := l.table[int(si)*len(l.actions)+int(ai)]
	if ei < 0 {
		return nil, false, false
	}
	return &l.edges[ei], false, false
}

// Fire checks whether actor may take action on rec, whose current state is
// from, and returns the target state. It does not change rec: storing the
// new state is the caller's job.
//
// When the action is refused Fire returns from unchanged and a
// *TransitionError that lists every obstacle at once: an unknown state or
// action, an action not defined from this state, the roles required when
// the actor holds none of them, every missing required field and every
// guard that refused, each guard evaluated exactly once and in declaration
// order. The error matches ErrInvalidTransition, and also ErrForbidden when
// the roles were the only obstacle. Its ID is filled by Definition.ID when
// that is set.
//
// On success Fire allocates nothing.
func (l *Lifecycle[S, A, R]) Fire(rec R, from S, action A, actor Actor) (S, error) {
	e, unknownState, unknownAction := l.lookup(from, action)
	if e == nil {
		te := l.newError(rec, from, action)
		te.UnknownState = unknownState
		te.UnknownAction = unknownAction
		te.WrongState = !unknownState && !unknownAction
		return from, te
	}
	if e.open {
		return l.states[e.to], nil
	}
	var te *TransitionError
	if len(e.roles) > 0 && !actor.HasAnyRole(e.roles...) {
		te = l.newError(rec, from, action)
		te.RolesRequired = slices.Clone(e.roleNames)
	}
	for i := range e.required {
		if !e.required[i].Present(rec) {
			if te == nil {
				te = l.newError(rec, from, action)
			}
			te.MissingFields = append(te.MissingFields, e.required[i].Name)
		}
	}
	for i := range e.guards {
		if err := e.guards[i].Check(rec, actor); err != nil {
			if te == nil {
				te = l.newError(rec, from, action)
			}
			te.Unmet = append(te.Unmet, GuardFailure{Guard: e.guards[i].Name, Reason: err.Error()})
		}
	}
	if te != nil {
		return from, te
	}
	return l.states[e.to], nil
}

func (l *Lifecycle[S, A, R]) newError(rec R, from S, action A) *TransitionError {
	te := &TransitionError{Kind: l.kind, State: string(from), Action: string(action)}
	if l.id != nil {
		te.ID = l.id(rec)
	}
	return te
}

// Can reports whether Fire would succeed. Unlike Fire it stops at the first
// obstacle, so not every guard necessarily runs. It allocates nothing.
func (l *Lifecycle[S, A, R]) Can(rec R, from S, action A, actor Actor) bool {
	e, _, _ := l.lookup(from, action)
	return e != nil && l.allows(e, rec, actor)
}

func (l *Lifecycle[S, A, R]) allows(e *edge[R], rec R, actor Actor) bool {
	if e.open {
		return true
	}
	if len(e.roles) > 0 && !actor.HasAnyRole(e.roles...) {
		return false
	}
	for i := range e.required {
		if !e.required[i].Present(rec) {
			return false
		}
	}
	for i := range e.guards {
		if e.guards[i].Check(rec, actor) != nil {
			return false
		}
	}
	return true
}

// Permitted returns the actions actor may take on rec in state from right
// now (those for which Can reports true), in the order of Actions; it is
// meant for building menus and buttons. It returns nil when there are none,
// including when from is unknown or terminal.
func (l *Lifecycle[S, A, R]) Permitted(rec R, from S, actor Actor) []A {
	return l.AppendPermitted(nil, rec, from, actor)
}

// AppendPermitted appends the actions Permitted would return to dst and
// returns the extended slice, so that a caller can reuse a buffer and
// avoid allocating.
func (l *Lifecycle[S, A, R]) AppendPermitted(dst []A, rec R, from S, actor Actor) []A {
	si := l.stateIndex(from)
	if si < 0 {
		return dst
	}
	row := l.table[int(si)*len(l.actions) : int(si+1)*len(l.actions)]
	for ai, ei := range row {
		if ei >= 0 && l.allows(&l.edges[ei], rec, actor) {
			dst = append(dst, l.actions[ai])
		}
	}
	return dst
}

// Available returns the actions defined from state from, in the order of
// Actions, whatever the record and the actor; nil when from is unknown or
// terminal. Use Permitted to honour roles, fields and guards.
func (l *Lifecycle[S, A, R]) Available(from S) []A {
	si := l.stateIndex(from)
	if si < 0 {
		return nil
	}
	var out []A
	for ai, ei := range l.table[int(si)*len(l.actions) : int(si+1)*len(l.actions)] {
		if ei >= 0 {
			out = append(out, l.actions[ai])
		}
	}
	return out
}

// Target returns the state action leads to from state from, ignoring roles,
// fields and guards, and false when the action is not defined from that
// state (or either is unknown).
func (l *Lifecycle[S, A, R]) Target(from S, action A) (S, bool) {
	e, _, _ := l.lookup(from, action)
	if e == nil {
		var zero S
		return zero, false
	}
	return l.states[e.to], true
}

// Kind returns the record kind given in the definition, such as
// "incident".
func (l *Lifecycle[S, A, R]) Kind() string { return l.kind }

// Initial returns the state of a new record.
func (l *Lifecycle[S, A, R]) Initial() S { return l.states[l.initial] }

// States returns a copy of all states in definition order, terminal ones
// included.
func (l *Lifecycle[S, A, R]) States() []S { return slices.Clone(l.states) }

// TerminalStates returns a copy of the terminal states in definition order.
func (l *Lifecycle[S, A, R]) TerminalStates() []S { return slices.Clone(l.terminals) }

// Actions returns a copy of all actions in order of first appearance in
// the definition's transitions.
func (l *Lifecycle[S, A, R]) Actions() []A { return slices.Clone(l.actions) }

// HasState reports whether s is a state of the lifecycle, for example to
// validate a state read from storage or from a request.
func (l *Lifecycle[S, A, R]) HasState(s S) bool { return l.stateIndex(s) >= 0 }

// HasAction reports whether a is an action of the lifecycle.
func (l *Lifecycle[S, A, R]) HasAction(a A) bool { return l.actionIndex(a) >= 0 }

// Category returns the category of state s, and 0 (an invalid
// StateCategory) when the lifecycle does not know s. It allocates nothing.
func (l *Lifecycle[S, A, R]) Category(s S) StateCategory {
	if si := l.stateIndex(s); si >= 0 {
		return l.categories[si]
	}
	return 0
}

// StatesIn returns a copy of the states in category c, in definition order,
// and nil when there are none, including when c is not valid.
func (l *Lifecycle[S, A, R]) StatesIn(c StateCategory) []S {
	var out []S
	for si, x := range l.categories {
		if x == c && c.Valid() {
			out = append(out, l.states[si])
		}
	}
	return out
}

// Categories returns a copy of the category of every state, as declared in
// Definition.Categories; changing it does not affect the Lifecycle.
func (l *Lifecycle[S, A, R]) Categories() map[S]StateCategory {
	out := make(map[S]StateCategory, len(l.states))
	for si, s := range l.states {
		out[s] = l.categories[si]
	}
	return out
}

// IsTerminal reports whether s is a terminal state; it is false for a state
// the lifecycle does not know.
func (l *Lifecycle[S, A, R]) IsTerminal(s S) bool {
	si := l.stateIndex(s)
	return si >= 0 && l.terminal[si]
}

// Transitions returns a copy of the definition's transitions in their
// original order; changing it does not affect the Lifecycle.
func (l *Lifecycle[S, A, R]) Transitions() []Transition[S, A, R] {
	out := make([]Transition[S, A, R], len(l.def))
	for i, t := range l.def {
		out[i] = cloneTransition(t)
	}
	return out
}
