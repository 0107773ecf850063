package incident_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/itsm/itsmtest"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage/memory"
)

// A P2 incident logged on a Friday afternoon, worked on a 24×7 SLA.
func Example() {
	ctx := context.Background()
	clock := itsmtest.NewClock(time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC))
	policy, err := sla.ParsePolicy([]byte(`{"id":"standard","targets":{
		"response":  {"1":"PT15M","2":"PT30M","3":"PT1H","4":"PT4H","5":"PT8H"},
		"resolution":{"1":"PT4H","2":"PT8H","3":"PT24H","4":"PT72H","5":"PT120H"}}}`), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	svc, err := incident.NewService(ctx, memory.New(), incident.Config{
		Clock:    clock,
		Policies: incident.Policies{List: []*sla.Policy{policy}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	agent := itsm.Actor{ID: "alice"}

	inc, _ := svc.Open(ctx, agent, incident.OpenInput{
		Title: "Mail relay down", Service: "mail",
		Impact: itsm.ImpactMedium, Urgency: itsm.UrgencyHigh,
	})
	fmt.Println(inc.Number, inc.Priority.Label(), inc.State)

	clock.Advance(10 * time.Minute)
	inc, _ = svc.Assign(ctx, agent, inc.ID, incident.AssignInput{AssignmentGroup: "messaging", Version: inc.Version})
	fmt.Println(inc.State)

	// Resolving needs a code and notes.
	_, err = svc.Resolve(ctx, agent, inc.ID, incident.ResolveInput{})
	fmt.Println(errors.Is(err, itsm.ErrInvalidTransition))

	clock.Advance(2 * time.Hour)
	inc, _ = svc.Resolve(ctx, agent, inc.ID, incident.ResolveInput{Code: "solved", Notes: "restarted the relay"})
	timers, _ := svc.SLA(ctx, inc.ID)
	for _, t := range timers {
		fmt.Println(t.Record.Timer.Metric(), t.Status.Stage, t.Status.Elapsed)
	}
	history, _ := svc.History(ctx, inc.ID)
	for _, ev := range history {
		fmt.Println(ev.Sequence, ev.Action, ev.From, "→", ev.To)
	}
	// Output:
	// INC0001001 P2 new
	// in_progress
	// true
	// response met 10m0s
	// resolution met 2h10m0s
	// 1 open  → new
	// 2 assign new → in_progress
	// 3 resolve in_progress → resolved
}
