package postgres_test

import (
	"testing"

	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/postgres"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// TestConformance runs the shared conformance suite over the suite's own
// kind and the package's tickets, each check on a schema of its own, in
// parallel.
func TestConformance(t *testing.T) {
	testURL(t)
	storagetest.TestStore(t, func(t *testing.T) record.Store {
		t.Parallel()
		return migrated(t)
	}, storagetest.CustomKind(), ticketSchema())
}

// TestTimerScenarios runs the suite's SLA timer scenarios.
func TestTimerScenarios(t *testing.T) {
	testURL(t)
	storagetest.TestTimerScenarios(t, func(t *testing.T) record.Store {
		t.Parallel()
		return migrated(t)
	})
}

// TestTimerWorker runs the shared worker suite: concurrent
// ProcessDueTimers passes over a few thousand timers.
func TestTimerWorker(t *testing.T) {
	t.Parallel()
	testURL(t)
	storagetest.TestTimerWorker(t, func(t *testing.T) storagetest.WorkerStore {
		return migrated(t, postgres.WithCalendars(storagetest.WorkerCalendars()))
	})
}
