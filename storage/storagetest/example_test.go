package storagetest_test

import (
	"testing"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/storage/memory"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// An adapter runs the suite from an ordinary test in its own package. The
// factory gets each subtest's *testing.T: here stores share nothing, so it
// lets the checks run in parallel; an adapter on a shared database would
// skip t.Parallel, or give each subtest its own schema and drop it with
// t.Cleanup.
func ExampleTestIncidentStore() {
	testConformance := func(t *testing.T) {
		storagetest.TestIncidentStore(t, func(t *testing.T) incident.Store {
			t.Parallel()
			return memory.New()
		})
	}
	_ = testConformance // a func TestConformance(t *testing.T) in the adapter's tests
}
