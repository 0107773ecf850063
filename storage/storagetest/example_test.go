package storagetest_test

import (
	"testing"

	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/memory"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// An adapter runs the suite from an ordinary test in its own package,
// over the kinds it is meant to store. The factory gets each subtest's
// *testing.T: here stores share nothing, so it lets the checks run in
// parallel; an adapter on a shared database would skip t.Parallel, or
// give each subtest its own schema and drop it with t.Cleanup.
func ExampleTestStore() {
	testConformance := func(t *testing.T) {
		storagetest.TestStore(t, func(t *testing.T) record.Store {
			t.Parallel()
			return memory.New()
		}, storagetest.CustomKind())
	}
	_ = testConformance // a func TestConformance(t *testing.T) in the adapter's tests
}

// An adapter that runs the SLA wake-up work checks it with
// TestTimerWorker, configured with the calendars the suite's timers name.
func ExampleTestTimerWorker() {
	testWorker := func(t *testing.T) {
		storagetest.TestTimerWorker(t, func(t *testing.T) storagetest.WorkerStore {
			return memory.New(memory.WithCalendars(storagetest.WorkerCalendars()))
		})
	}
	_ = testWorker // a func TestTimerWorker(t *testing.T) in the adapter's tests
}
