package memory_test

import (
	"testing"

	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/memory"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// TestConformance runs the shared conformance suite over the suite's own
// kind and this package's. Memory stores share nothing, so every check
// runs in parallel.
func TestConformance(t *testing.T) {
	t.Parallel()
	storagetest.TestStore(t, func(t *testing.T) record.Store {
		t.Parallel()
		return memory.New()
	}, storagetest.CustomKind(), ticketSchema)
}

// TestTimerWorker runs the suite's checks of the SLA wake-up work.
func TestTimerWorker(t *testing.T) {
	t.Parallel()
	storagetest.TestTimerWorker(t, func(t *testing.T) storagetest.WorkerStore {
		return memory.New(memory.WithCalendars(storagetest.WorkerCalendars()))
	})
}

// TestTimerScenarios runs the suite's golden timer scenarios through the
// store.
func TestTimerScenarios(t *testing.T) {
	t.Parallel()
	storagetest.TestTimerScenarios(t, func(t *testing.T) record.Store { return memory.New() })
}
