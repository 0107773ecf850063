package storagetest

import (
	"testing"

	"github.com/itsmkit/itsmkit/incident"
)

// TestIncidentStore checks that the stores made by newStore implement
// incident.Store as its documentation says. It runs every check as a
// subtest of t and calls newStore first thing in each subtest, with the
// subtest's *testing.T, expecting a fresh, empty store every time (see the
// package documentation for what the factory may do with t). A nil store
// fails the subtest.
//
// The checks need no particular clock and make no timing assertions; the
// concurrency checks start goroutines that use the store through InTx and
// the read methods only.
func TestIncidentStore(t *testing.T, newStore func(t *testing.T) incident.Store) {
	t.Helper()
	s := suite{newStore: newStore}
	groups := []struct {
		name  string
		tests []test
	}{
		{"Create", createTests},
		{"Get", getTests},
		{"Update", updateTests},
		{"Copies", copyTests},
		{"List", listTests},
		{"Events", eventTests},
		{"Tx", txTests},
		{"Timers", timerTests},
		{"Children", childrenTests},
		{"ResolvedBefore", resolvedTests},
		{"NextNumber", numberTests},
		{"Concurrency", concurrencyTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) { tc.run(s.env(t)) })
			}
		})
	}
}

// test is one conformance check.
type test struct {
	name string
	run  func(e env)
}

type suite struct {
	newStore func(t *testing.T) incident.Store
}

// env makes a fresh store for the subtest t.
func (s suite) env(t *testing.T) env {
	store := s.newStore(t)
	if store == nil {
		t.Fatal("storagetest: newStore returned a nil incident.Store")
	}
	return env{t: t, ctx: t.Context(), store: store}
}
