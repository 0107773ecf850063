// Command quickstart is the first program to run with itsmkit: it derives
// priorities from the ITIL impact × urgency matrix and walks a ticket
// through a lifecycle, showing a refused transition on the way.
//
//	go run ./examples/quickstart
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/itsmkit/itsmkit/itsm"
)

type (
	state  string
	action string
)

// ticket is the record the lifecycle's guards and required fields inspect.
type ticket struct {
	Assignee   string
	Resolution string
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	matrix := itsm.DefaultPriorityMatrix()
	fmt.Fprintln(w, "Priority matrix (ITIL default):")
	fmt.Fprintln(w, matrix)
	p, err := matrix.Priority(itsm.ImpactHigh, itsm.UrgencyMedium)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nA high-impact, medium-urgency outage is %s (%s).\n", p.Label(), p)

	lc, err := ticketLifecycle()
	if err != nil {
		return err
	}

	agent := itsm.Actor{ID: "alice", Name: "Alice", Roles: []itsm.Role{"service-desk"}}
	t := &ticket{}
	s := lc.Initial()
	fmt.Fprintf(w, "\nTicket lifecycle, starting in %q:\n", s)

	// Starting work without an assignee is refused, with the reason.
	if _, err := lc.Fire(t, s, "start", agent); err != nil {
		fmt.Fprintf(w, "  refused: %v (invalid transition: %t)\n", err, errors.Is(err, itsm.ErrInvalidTransition))
	}
	t.Assignee = agent.ID
	for _, step := range []struct {
		act  action
		edit func()
	}{
		{"start", nil},
		{"resolve", func() { t.Resolution = "restarted the mail relay" }},
		{"close", nil},
	} {
		if step.edit != nil {
			step.edit()
		}
		next, err := lc.Fire(t, s, step.act, agent)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %-8s %s → %s\n", step.act, s, next)
		s = next
	}
	fmt.Fprintf(w, "  %q is terminal: %t\n", s, lc.IsTerminal(s))
	fmt.Fprintln(w, "\nThe lifecycle as Mermaid:")
	fmt.Fprint(w, lc.Mermaid())
	return nil
}

// ticketLifecycle is a four-state ticket lifecycle: work needs an
// assignee, resolving needs a resolution, and only the service desk closes.
func ticketLifecycle() (*itsm.Lifecycle[state, action, *ticket], error) {
	return itsm.NewLifecycle(itsm.Definition[state, action, *ticket]{
		Kind:     "ticket",
		Initial:  "new",
		States:   []state{"new", "in_progress", "resolved", "closed"},
		Terminal: []state{"closed"},
		Transitions: []itsm.Transition[state, action, *ticket]{
			{Action: "start", From: []state{"new"}, To: "in_progress",
				Required: []itsm.Field[*ticket]{{Name: "assignee", Present: func(t *ticket) bool { return t.Assignee != "" }}}},
			{Action: "resolve", From: []state{"in_progress"}, To: "resolved",
				Required: []itsm.Field[*ticket]{{Name: "resolution", Present: func(t *ticket) bool { return t.Resolution != "" }}}},
			{Action: "reopen", From: []state{"resolved"}, To: "in_progress"},
			{Action: "close", From: []state{"resolved"}, To: "closed", Roles: []itsm.Role{"service-desk"}},
		},
	})
}
