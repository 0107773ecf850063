package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/itsm/itsmtest"
	"github.com/itsmkit/itsmkit/sla"
)

// t0 is a Monday morning, whole seconds in UTC.
var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

var agent = itsm.Actor{ID: "alice", Name: "Alice", Roles: []itsm.Role{"agent"}}

// testIncident returns a minimal incident numbered n, opened n minutes
// after t0.
func testIncident(n int) *incident.Incident {
	at := t0.Add(time.Duration(n) * time.Minute)
	return &incident.Incident{
		ID: fmt.Sprintf("inc-%05d", n), Number: fmt.Sprintf("INC%07d", n), Title: fmt.Sprintf("Incident %d", n),
		Caller: agent, Impact: itsm.ImpactMedium, Urgency: itsm.UrgencyMedium, Priority: itsm.PriorityModerate,
		State: incident.New, OpenedAt: at, UpdatedAt: at,
	}
}

// goldPolicy is a 24×7 policy with response and resolution targets.
const goldPolicy = `{"id":"gold","name":"Gold",
 "targets":{
  "response":  {"1":"PT15M","2":"PT30M","3":"PT1H","4":"PT4H","5":"P1D"},
  "resolution":{"1":"PT4H","2":"PT8H","3":"P2D","4":"P5D","5":"P10D"}}}`

// newService returns an incident service over store with the gold policy
// and a clock at t0.
func newService(t testing.TB, store incident.Store) (*incident.Service, *itsmtest.Clock) {
	t.Helper()
	pol, err := sla.ParsePolicy([]byte(goldPolicy), nil)
	require.NoError(t, err)
	clock := itsmtest.NewClock(t0)
	svc, err := incident.NewService(store, incident.Config{Clock: clock, Policies: incident.Policies{List: []*sla.Policy{pol}}})
	require.NoError(t, err)
	return svc, clock
}

var openInput = incident.OpenInput{Title: "Mail is down", Description: "Nobody can send mail",
	Service: "email", Impact: itsm.ImpactMedium, Urgency: itsm.UrgencyHigh}

// incidentQueryAll lists the largest page.
var incidentQueryAll = incident.Query{Limit: incident.MaxPageSize}

// mustTimer returns a running 24×7 resolution timer started at t0.
func mustTimer(t testing.TB) *sla.Timer {
	t.Helper()
	tm, err := sla.NewTimer(sla.AlwaysOpen(time.UTC), sla.BusinessTime(4*time.Hour), nil, "gold", sla.MetricResolution, itsm.PriorityHigh)
	require.NoError(t, err)
	require.NoError(t, tm.Start(t0))
	return tm
}
