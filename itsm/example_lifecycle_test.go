package itsm_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/itsmkit/itsmkit/itsm"
)

// TicketState is the state of a Ticket.
type TicketState string

// TicketAction is something an actor does to a Ticket.
type TicketAction string

// Ticket is the record the lifecycle's guards and required fields inspect.
type Ticket struct {
	ID         string
	Resolution string
	OpenTasks  int
}

// ticketLifecycle is built once and shared by every ticket.
var ticketLifecycle = itsm.MustNewLifecycle(itsm.Definition[TicketState, TicketAction, *Ticket]{
	Kind:     "ticket",
	Initial:  "Open",
	States:   []TicketState{"Open", "Working", "Resolved", "Closed"},
	Terminal: []TicketState{"Closed"},
	Categories: map[TicketState]itsm.StateCategory{
		"Open":     itsm.CategoryNew,
		"Working":  itsm.CategoryActive,
		"Resolved": itsm.CategoryResolved,
		"Closed":   itsm.CategoryClosed,
	},
	ID: func(t *Ticket) string { return t.ID },
	Transitions: []itsm.Transition[TicketState, TicketAction, *Ticket]{
		{Action: "start", From: []TicketState{"Open"}, To: "Working"},
		{
			Action:   "resolve",
			From:     []TicketState{"Working"},
			To:       "Resolved",
			Roles:    []itsm.Role{"agent"},
			Required: []itsm.Field[*Ticket]{{Name: "resolution", Present: func(t *Ticket) bool { return t.Resolution != "" }}},
			Guards: []itsm.Guard[*Ticket]{{Name: "no-open-tasks", Check: func(t *Ticket, _ itsm.Actor) error {
				if t.OpenTasks > 0 {
					return fmt.Errorf("%d open tasks", t.OpenTasks)
				}
				return nil
			}}},
		},
		{Action: "reopen", From: []TicketState{"Resolved"}, To: "Working"},
		{Action: "close", From: []TicketState{"Resolved"}, To: "Closed"},
		{Action: "cancel", From: []TicketState{"Open", "Working"}, To: "Closed", Roles: []itsm.Role{"lead"}},
	},
})

// Example_lifecycle defines a small ticket lifecycle, fires actions on a
// ticket, shows a refusal with every reason at once, lists the actions an
// actor may take and renders the graph.
func Example_lifecycle() {
	ana := itsm.Actor{ID: "ana", Roles: []itsm.Role{"agent"}}
	t := &Ticket{ID: "T-7", OpenTasks: 1}

	state := ticketLifecycle.Initial()
	state, err := ticketLifecycle.Fire(t, state, "start", ana)
	fmt.Println(state, err)

	// Resolving now fails for two reasons, reported together.
	_, err = ticketLifecycle.Fire(t, state, "resolve", itsm.Actor{ID: "gus"})
	fmt.Println(err)
	var te *itsm.TransitionError
	if errors.As(err, &te) {
		fmt.Println("missing:", te.MissingFields, "roles:", te.RolesRequired, "guards:", len(te.Unmet))
	}
	fmt.Println(errors.Is(err, itsm.ErrInvalidTransition), errors.Is(err, itsm.ErrForbidden))

	// With the roles as the only obstacle the refusal is also ErrForbidden.
	_, err = ticketLifecycle.Fire(t, state, "cancel", ana)
	fmt.Println(errors.Is(err, itsm.ErrForbidden), err)

	fmt.Println("permitted:", ticketLifecycle.Permitted(t, state, ana))
	t.Resolution, t.OpenTasks = "replaced the disk", 0
	fmt.Println("permitted:", ticketLifecycle.Permitted(t, state, ana))
	state, err = ticketLifecycle.Fire(t, state, "resolve", ana)
	fmt.Println(state, err)

	fmt.Print(ticketLifecycle.Mermaid())
	// Output:
	// Working <nil>
	// itsm: cannot resolve ticket T-7 in state Working: requires one of roles agent; missing resolution; no-open-tasks: 1 open tasks
	// missing: [resolution] roles: [agent] guards: 1
	// true false
	// true itsm: cannot cancel ticket T-7 in state Working: requires one of roles lead
	// permitted: []
	// permitted: [resolve]
	// Resolved <nil>
	// stateDiagram-v2
	//     [*] --> Open
	//     Open --> Working : start
	//     Working --> Resolved : resolve [needs resolution, no-open-tasks] (roles: agent)
	//     Resolved --> Working : reopen
	//     Resolved --> Closed : close
	//     Open --> Closed : cancel (roles: lead)
	//     Working --> Closed : cancel (roles: lead)
	//     Closed --> [*]
}

// ExampleLifecycle_Category maps each state to its category, which code
// that spans record types uses instead of state names: here to tell which
// states count as open work, and to find the states of one category.
func ExampleLifecycle_Category() {
	for _, s := range ticketLifecycle.States() {
		c := ticketLifecycle.Category(s)
		fmt.Printf("%-8s %-8s open=%t terminal=%t\n", s, c, c.Open(), c.Terminal())
	}
	fmt.Println("resolved:", ticketLifecycle.StatesIn(itsm.CategoryResolved))
	fmt.Println("pending:", ticketLifecycle.StatesIn(itsm.CategoryPending))

	// A state the lifecycle does not know, such as one a newer version
	// renamed, has no category.
	fmt.Println(ticketLifecycle.Category("Archived").Valid())

	// Categories travel as text, in JSON or in a database column.
	b, _ := json.Marshal(map[string]itsm.StateCategory{"category": ticketLifecycle.Category("Working")})
	fmt.Println(string(b))
	// Output:
	// Open     new      open=true terminal=false
	// Working  active   open=true terminal=false
	// Resolved resolved open=false terminal=false
	// Closed   closed   open=false terminal=true
	// resolved: [Resolved]
	// pending: []
	// false
	// {"category":"active"}
}
