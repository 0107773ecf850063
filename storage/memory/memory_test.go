package memory_test

import (
	"testing"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/storage/memory"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// TestConformance runs the shared storage conformance suite. Memory stores
// share nothing, so every check runs in parallel.
func TestConformance(t *testing.T) {
	storagetest.TestIncidentStore(t, func(t *testing.T) incident.Store {
		t.Parallel()
		return memory.New()
	})
}
