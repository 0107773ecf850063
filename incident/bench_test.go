package incident_test

import (
	"context"
	"testing"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
)

func BenchmarkOpen(b *testing.B) {
	f := newFixture(b, memoryStore)
	ctx := context.Background()
	in := incident.OpenInput{Title: "Mail is down", Impact: itsm.ImpactMedium, Urgency: itsm.UrgencyHigh}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.svc.Open(ctx, agent, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLifecycle opens, assigns, holds, resumes, resolves and closes
// one incident per iteration.
func BenchmarkLifecycle(b *testing.B) {
	f := newFixture(b, memoryStore)
	ctx := context.Background()
	in := incident.OpenInput{Title: "Mail is down", Impact: itsm.ImpactMedium, Urgency: itsm.UrgencyHigh}
	b.ReportAllocs()
	for b.Loop() {
		inc, err := f.svc.Open(ctx, agent, in)
		if err == nil {
			_, err = f.svc.Assign(ctx, agent, inc.ID, incident.AssignInput{Assignee: "bob"})
		}
		if err == nil {
			_, err = f.svc.Hold(ctx, agent, inc.ID, incident.HoldInput{Reason: incident.AwaitingCaller})
		}
		if err == nil {
			_, err = f.svc.Resume(ctx, agent, inc.ID, 0)
		}
		if err == nil {
			_, err = f.svc.Resolve(ctx, agent, inc.ID, incident.ResolveInput{Code: "solved", Notes: "n"})
		}
		if err == nil {
			_, err = f.svc.Close(ctx, agent, inc.ID, 0)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
