package postgres_test

import (
	"testing"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// TestConformance runs the shared storage conformance suite, each check
// on a schema of its own, in parallel.
func TestConformance(t *testing.T) {
	testURL(t)
	storagetest.TestIncidentStore(t, func(t *testing.T) incident.Store {
		t.Parallel()
		return newStore(t)
	})
}
