package sqlite_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/itsm/itsmtest"
	"github.com/itsmkit/itsmkit/sla"
)

// standardPolicy is a 24×7 policy with response and resolution targets,
// so that every incident opened under it gets two timers.
const standardPolicy = `{"id":"standard","targets":{
	"response":  {"1":"PT15M","2":"PT30M","3":"PT1H","4":"PT4H","5":"PT8H"},
	"resolution":{"1":"PT4H","2":"PT8H","3":"PT24H","4":"PT72H","5":"PT120H"}}}`

// testStart is the instant the tests' clocks start at.
var testStart = time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)

// newService returns an incident service over store with the standard
// policy and a test clock.
func newService(t testing.TB, store incident.Store) (*incident.Service, *itsmtest.Clock) {
	t.Helper()
	pol, err := sla.ParsePolicy([]byte(standardPolicy), nil)
	require.NoError(t, err)
	clock := itsmtest.NewClock(testStart)
	svc, err := incident.NewService(store, incident.Config{Clock: clock, Policies: incident.Policies{List: []*sla.Policy{pol}}})
	require.NoError(t, err)
	return svc, clock
}

var agent = itsm.Actor{ID: "alice", Name: "Alice", Roles: []itsm.Role{"agent"}}

// openInput is a valid OpenInput with the given title.
func openInput(title string) incident.OpenInput {
	return incident.OpenInput{Title: title, Service: "mail", Impact: itsm.ImpactMedium, Urgency: itsm.UrgencyHigh}
}
