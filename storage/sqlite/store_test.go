package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/storage/sqlite"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// openTemp opens a fresh store on a new file in t's temporary directory
// and closes it when t ends.
func openTemp(t testing.TB, opts ...sqlite.Option) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "itsm.db")
	s, err := sqlite.Open(t.Context(), path, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s, path
}

// TestConformance runs the shared storage conformance suite, each check on
// its own database file; files share nothing, so checks run in parallel.
func TestConformance(t *testing.T) {
	storagetest.TestIncidentStore(t, func(t *testing.T) incident.Store {
		t.Parallel()
		s, _ := openTemp(t)
		return s
	})
}

// TestTimerWorker runs the shared wake-up worker check. Commits need not
// survive a power loss here, so the store syncs at checkpoints only.
func TestTimerWorker(t *testing.T) {
	t.Parallel()
	storagetest.TestTimerWorker(t, func(t *testing.T) storagetest.WorkerStore {
		s, _ := openTemp(t, sqlite.WithSync(sqlite.SyncNormal), sqlite.WithCalendars(storagetest.WorkerCalendars()))
		return s
	})
}
