package sqlite_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/sqlite"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// openFresh opens a store on a new file in t's temporary directory, with
// no kind declared, and closes it when t ends.
func openFresh(t testing.TB, opts ...sqlite.Option) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "itsm.db")
	s, err := sqlite.Open(t.Context(), path, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s, path
}

// TestConformance runs the shared conformance suite over the suite's own
// kind, each check on its own database file; files share nothing, so
// checks run in parallel.
func TestConformance(t *testing.T) {
	storagetest.TestStore(t, func(t *testing.T) record.Store {
		t.Parallel()
		s, _ := openFresh(t)
		return s
	}, storagetest.CustomKind())
}

// TestConformanceJoined runs the suite on stores joined to an application
// transaction that commits when the check ends: everything goes through
// the savepoints of Join.
func TestConformanceJoined(t *testing.T) {
	if testing.Short() || sqlite.RaceEnabled {
		t.Skip("runs the whole suite a second time, too slow under the race detector")
	}
	storagetest.TestStore(t, func(t *testing.T) record.Store {
		t.Parallel()
		s, _ := openFresh(t)
		return &joinedStore{Store: s}
	}, storagetest.CustomKind())
}

// joinedStore runs each InTx of the Store in an application transaction
// of its own, through Join, so that the suite exercises the joined
// store's savepoints and reads.
type joinedStore struct {
	*sqlite.Store
}

func (j *joinedStore) InTx(ctx context.Context, fn func(ctx context.Context, tx record.Tx) error) error {
	tx, err := j.BeginTx(ctx)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback() // also when fn panics
		}
	}()
	if err := j.Join(tx).InTx(ctx, fn); err != nil {
		return err
	}
	committed = true
	return tx.Commit()
}

func TestTimerScenarios(t *testing.T) {
	storagetest.TestTimerScenarios(t, func(t *testing.T) record.Store {
		t.Parallel()
		s, _ := openFresh(t, sqlite.WithSync(sqlite.SyncNormal))
		return s
	})
}

// TestTimerWorker runs the shared wake-up worker check. Commits need not
// survive a power loss here, so the store syncs at checkpoints only.
func TestTimerWorker(t *testing.T) {
	t.Parallel()
	storagetest.TestTimerWorker(t, func(t *testing.T) storagetest.WorkerStore {
		s, _ := openFresh(t, sqlite.WithSync(sqlite.SyncNormal), sqlite.WithCalendars(storagetest.WorkerCalendars()))
		return s
	})
}

// twoStores is a WorkerStore whose worker passes alternate between two
// Stores on one file, as two processes would run them: they serialize on
// SQLite's write lock instead of on one writer connection.
type twoStores struct {
	*sqlite.Store
	other *sqlite.Store
	n     atomic.Uint64
}

func (s *twoStores) ProcessDueTimers(ctx context.Context, now time.Time, limit int) (storage.Batch, error) {
	if s.n.Add(1)%2 == 0 {
		return s.other.ProcessDueTimers(ctx, now, limit)
	}
	return s.Store.ProcessDueTimers(ctx, now, limit)
}

func TestTimerWorkerAcrossStores(t *testing.T) {
	t.Parallel()
	storagetest.TestTimerWorker(t, func(t *testing.T) storagetest.WorkerStore {
		opts := []sqlite.Option{sqlite.WithSync(sqlite.SyncNormal), sqlite.WithCalendars(storagetest.WorkerCalendars())}
		first, path := openFresh(t, opts...)
		second, err := sqlite.Open(t.Context(), path, opts...)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, second.Close()) })
		return &twoStores{Store: first, other: second}
	})
}
