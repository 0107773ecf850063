package storagetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/stretchr/testify/require"
)

// t0 is the instant the fixtures are built around: whole seconds, UTC.
var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// cmpOpts compare records the way every adapter can honour: times by
// Equal (cmp calls Equal methods), empty and nil slices alike, and SLA
// targets by value.
var cmpOpts = cmp.Options{
	cmpopts.EquateEmpty(),
	cmp.Comparer(func(a, b sla.Target) bool { return a == b }),
}

// env is what one subtest works with.
type env struct {
	t     *testing.T
	ctx   context.Context
	store incident.Store
}

// fixture returns an incident numbered n, opened n minutes after t0, with
// every kind of field set so that round trips are checked thoroughly.
func fixture(n int) *incident.Incident {
	opened := t0.Add(time.Duration(n) * time.Minute)
	return &incident.Incident{
		ID:          fmt.Sprintf("inc-%05d", n),
		Number:      fmt.Sprintf("INC%07d", n),
		Title:       fmt.Sprintf("Incident %d", n),
		Description: "Users cannot reach the service.",
		Caller:      itsm.Actor{ID: "carol", Name: "Carol", Roles: []itsm.Role{"employee"}},
		Service:     "email",
		ConfigItem:  "mx-01",
		Category:    "network",
		Impact:      itsm.ImpactMedium,
		Urgency:     itsm.UrgencyMedium,
		Priority:    itsm.PriorityModerate,
		State:       incident.New,
		OpenedAt:    opened,
		UpdatedAt:   opened,
		ProblemIDs:  []string{"prb-1"},
		Journal: []incident.Entry{
			{Kind: incident.Comment, Author: "carol", At: opened, Text: "It is down."},
		},
	}
}

// full returns an incident with every field set, for round trips.
func full(n int) *incident.Incident {
	inc := fixture(n)
	at := inc.OpenedAt
	inc.PriorityOverridden = true
	inc.Priority = itsm.PriorityCritical
	inc.State = incident.Resolved
	inc.AssignmentGroup = "network-ops"
	inc.Assignee = "dave"
	inc.ResolutionCode = "solved"
	inc.ResolutionNotes = "Restarted the relay."
	inc.CancelReason = "none"
	inc.HoldReason = incident.AwaitingVendor
	inc.FirstResponseAt = at.Add(5 * time.Minute)
	inc.ResolvedAt = at.Add(2 * time.Hour)
	inc.ClosedAt = at.Add(50 * time.Hour)
	inc.UpdatedAt = at.Add(50 * time.Hour)
	inc.ReopenCount = 2
	inc.Major = true
	inc.ProblemIDs = []string{"prb-1", "prb-2"}
	inc.ChangeIDs = []string{"chg-9"}
	inc.Journal = append(inc.Journal, incident.Entry{Kind: incident.WorkNote, Author: "dave", At: at.Add(time.Hour), Text: "Relay hung."})
	return inc
}

// create stores incs in one transaction and fails the test on error.
func (e env) create(incs ...*incident.Incident) {
	e.t.Helper()
	err := e.store.InTx(e.ctx, func(ctx context.Context, tx incident.Tx) error {
		for _, inc := range incs {
			if err := tx.Create(ctx, inc); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(e.t, err)
}

// tx runs fn in a transaction and fails the test on error.
func (e env) tx(fn func(ctx context.Context, tx incident.Tx)) {
	e.t.Helper()
	err := e.store.InTx(e.ctx, func(ctx context.Context, tx incident.Tx) error {
		fn(ctx, tx)
		return nil
	})
	require.NoError(e.t, err)
}

// get reads the committed incident with id and fails the test on error.
func (e env) get(id string) *incident.Incident {
	e.t.Helper()
	inc, err := e.store.Get(e.ctx, id)
	require.NoError(e.t, err)
	return inc
}

// requireIncident fails the test unless got equals want field by field.
func requireIncident(t *testing.T, want, got *incident.Incident) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Fatalf("incident mismatch (-want +got):\n%s", diff)
	}
}

// ids returns the IDs of incs in order.
func ids(incs []*incident.Incident) []string {
	out := make([]string, len(incs))
	for i, inc := range incs {
		out[i] = inc.ID
	}
	return out
}

// newTimer returns a 24×7 resolution timer with the given business-time
// target and the default warnings (50 % and 75 %), started at start.
func newTimer(t *testing.T, target time.Duration, start time.Time) *sla.Timer {
	t.Helper()
	tm, err := sla.NewTimer(sla.AlwaysOpen(time.UTC), sla.BusinessTime(target), nil, "gold", sla.Metric("resolution"), itsm.PriorityHigh)
	require.NoError(t, err)
	require.NoError(t, tm.Start(start))
	return tm
}

// record builds the TimerRecord a service would save at saved, with the
// derived fields taken from tm.Status(saved) by incident.NewTimerRecord.
// While the breach is the next threshold, NextWakeAt lies a nanosecond
// after a whole second, which a store keeping microseconds cannot return;
// the records that checks read back avoid that case.
func record(id, incidentID string, tm *sla.Timer, saved time.Time) incident.TimerRecord {
	return incident.NewTimerRecord(id, incidentID, tm, saved)
}

// requireTimers fails the test unless got holds the same records as want,
// in order, with timers whose identity and history are equal.
func requireTimers(t *testing.T, want, got []incident.TimerRecord) {
	t.Helper()
	type flat struct {
		Rec      incident.TimerRecord
		Policy   string
		Metric   sla.Metric
		Priority itsm.Priority
		Target   sla.Target
		Events   []sla.TimerEvent
	}
	flatten := func(rs []incident.TimerRecord) []flat {
		out := make([]flat, len(rs))
		for i, r := range rs {
			out[i].Rec = r
			out[i].Rec.Timer = nil
			if r.Timer != nil {
				out[i].Policy, out[i].Metric, out[i].Priority = r.Timer.Policy(), r.Timer.Metric(), r.Timer.Priority()
				out[i].Target, out[i].Events = r.Timer.Target(), r.Timer.Events()
			}
		}
		return out
	}
	for _, r := range want {
		for _, at := range []time.Time{r.AtRiskAt, r.BreachAt, r.NextWakeAt} {
			require.Truef(t, at.Equal(at.Truncate(time.Microsecond)), "storagetest: fixture %s has a time finer than a microsecond", r.ID)
		}
	}
	require.Len(t, got, len(want))
	for i, r := range got {
		require.NotNilf(t, r.Timer, "timer record %d (%s) has no timer", i, r.ID)
	}
	if diff := cmp.Diff(flatten(want), flatten(got), cmpOpts); diff != "" {
		t.Fatalf("timer records mismatch (-want +got):\n%s", diff)
	}
}

// event returns a valid audit event for the incident with id.
func event(id, action string, at time.Time) itsm.Event {
	return itsm.Event{
		Kind: incident.Kind, RecordID: id,
		Actor:  itsm.Actor{ID: "dave", Name: "Dave", Roles: []itsm.Role{"agent"}},
		At:     at,
		Action: action,
		From:   string(incident.New), To: string(incident.InProgress),
		Changes: []itsm.Change{{Field: "state", Old: "new", New: "in_progress"}},
		Reason:  "picked up",
	}
}
