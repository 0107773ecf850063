package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/itsm/itsmtest"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage/sqlite"
)

// Open a database file, open an incident through the service and read it
// back.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "itsmkit-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	// Open migrates by default; Migrate is idempotent.
	store, err := sqlite.Open(ctx, filepath.Join(dir, "itsm.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		fmt.Println(err)
		return
	}

	policy, err := sla.ParsePolicy([]byte(`{"id":"standard","targets":{
		"response":  {"1":"PT15M","2":"PT30M","3":"PT1H","4":"PT4H","5":"PT8H"},
		"resolution":{"1":"PT4H","2":"PT8H","3":"PT24H","4":"PT72H","5":"PT120H"}}}`), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	svc, err := incident.NewService(store, incident.Config{
		Clock:    itsmtest.NewClock(time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)),
		Policies: incident.Policies{List: []*sla.Policy{policy}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	opened, err := svc.Open(ctx, itsm.Actor{ID: "alice"}, incident.OpenInput{
		Title: "Mail relay down", Service: "mail", Impact: itsm.ImpactMedium, Urgency: itsm.UrgencyHigh,
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	inc, err := store.GetByNumber(ctx, opened.Number)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(inc.Number, inc.Title, inc.State, inc.Priority.Label(), inc.OpenedAt)
	timers, _ := store.Timers(ctx, inc.ID)
	for _, r := range timers {
		fmt.Println(r.Timer.Metric(), r.Stage, "breaches at", r.BreachAt)
	}
	history, _ := store.History(ctx, inc.ID)
	for _, ev := range history {
		fmt.Println(ev.Sequence, ev.Action, ev.Actor.ID, "→", ev.To)
	}
	fmt.Println("audit trail intact:", store.VerifyAuditTrail(ctx) == nil)
	// Output:
	// INC0001001 Mail relay down new P2 2026-11-20 15:00:00 +0000 UTC
	// response running breaches at 2026-11-20 15:30:00 +0000 UTC
	// resolution running breaches at 2026-11-20 23:00:00 +0000 UTC
	// 1 open alice → new
	// audit trail intact: true
}
