package sqlite_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/sqlite"
)

func TestMigrations(t *testing.T) {
	t.Parallel()
	ms := sqlite.Migrations()
	require.NotEmpty(t, ms)
	for i, m := range ms {
		require.Equal(t, i+1, m.Version)
		require.NotEmpty(t, m.Name)
		require.NotEmpty(t, m.SQL)
	}
	require.Equal(t, "records", ms[1].Name)
	require.Equal(t, ms[len(ms)-1].Version, sqlite.SchemaVersion())
	ms[0].SQL = "changed"
	require.NotEqual(t, "changed", sqlite.Migrations()[0].SQL, "Migrations returns a copy")
}

func TestMigrateIdempotent(t *testing.T) {
	t.Parallel()
	s, path := openTemp(t) // Open migrates
	ctx := t.Context()
	v, err := s.CurrentSchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, sqlite.SchemaVersion(), v)
	require.NoError(t, s.Migrate(ctx))
	require.NoError(t, s.Migrate(ctx))
	require.Equal(t, len(sqlite.Migrations()), count(t, s, "SELECT count(*) FROM schema_migrations"))

	// Reopening migrates nothing and keeps the data.
	rec := open(t, s, "Printer on fire", testStart)
	again, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	defer again.Close()
	got, err := again.Get(ctx, rec.Ref())
	require.NoError(t, err)
	require.Equal(t, rec.Number, got.Number)
	require.Equal(t, len(sqlite.Migrations()), count(t, again, "SELECT count(*) FROM schema_migrations"))
}

func TestMigrateWithoutAutoMigrate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "itsm.db"), sqlite.WithoutMigrate())
	require.NoError(t, err)
	defer s.Close()
	v, err := s.CurrentSchemaVersion(ctx)
	require.NoError(t, err)
	require.Zero(t, v)
	ref := record.Ref{Kind: "incident", ID: "x"}
	_, err = s.Get(ctx, ref)
	require.Error(t, err, "no tables before Migrate")
	require.NoError(t, s.Migrate(ctx))
	v, err = s.CurrentSchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, sqlite.SchemaVersion(), v)
	_, err = s.Get(ctx, ref)
	require.ErrorIs(t, err, itsm.ErrNotFound)
}

// Several stores (as several processes would) migrate one new file at
// once: exactly one applies each migration, the others find nothing to do.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "itsm.db")
	const n = 8
	stores := make([]*sqlite.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			s, err := sqlite.Open(ctx, path, sqlite.WithoutMigrate())
			if err != nil {
				errs[i] = err
				return
			}
			stores[i] = s
			errs[i] = s.Migrate(ctx)
		})
	}
	close(start)
	wg.Wait()
	for i, s := range stores {
		require.NoError(t, errs[i], "store %d", i)
		defer s.Close()
	}
	require.Equal(t, len(sqlite.Migrations()), count(t, stores[0], "SELECT count(*) FROM schema_migrations"))
	for _, s := range stores {
		v, err := s.CurrentSchemaVersion(ctx)
		require.NoError(t, err)
		require.Equal(t, sqlite.SchemaVersion(), v)
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, path := openTemp(t)
	tx, err := s.BeginTx(ctx)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_the_future', 0)", sqlite.SchemaVersion()+1)
	require.NoError(t, err)
	require.NoError(t, tx.Commit())

	check := func(err error) {
		t.Helper()
		require.ErrorIs(t, err, sqlite.ErrSchemaTooNew)
		var tn *sqlite.SchemaTooNewError
		require.ErrorAs(t, err, &tn)
		require.Equal(t, sqlite.SchemaVersion()+1, tn.Found)
		require.Equal(t, sqlite.SchemaVersion(), tn.Supported)
	}
	check(s.Migrate(ctx))
	_, err = sqlite.Open(ctx, path)
	check(err)
	// Without migrating, Open does not look.
	other, err := sqlite.Open(ctx, path, sqlite.WithoutMigrate())
	require.NoError(t, err)
	require.NoError(t, other.Close())
}

func TestOpenRefusesBadDSN(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, dsn := range []string{
		"", "file:", ":memory:", "file::memory:?cache=shared", "file:x.db?mode=memory",
		filepath.Join(dir, "a.db") + "?_txlock=deferred",
		filepath.Join(dir, "b.db") + "?_journal_mode=DELETE",
		"file:" + filepath.Join(dir, "c.db") + "?_sync=OFF",
		filepath.Join(dir, "d.db") + "?%zz",
		filepath.Join(dir, "e.db") + "?_pragma=WAL_AutoCheckpoint (10)",
	} {
		_, err := sqlite.Open(context.Background(), dsn)
		require.ErrorIs(t, err, itsm.ErrValidation, "dsn %q", dsn)
	}
	// Other driver parameters pass through.
	s, err := sqlite.Open(t.Context(), "file:"+filepath.Join(dir, "ok.db")+"?_pragma=cache_size(-4096)")
	require.NoError(t, err)
	require.Equal(t, -4096, count(t, s, "PRAGMA cache_size"))
	require.Equal(t, sqlite.DefaultAutoCheckpoint, count(t, s, "PRAGMA wal_autocheckpoint"), "Open's pragma joins the DSN's")
	require.NoError(t, s.Close())
}

func TestOpenDefaults(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	require.Equal(t, 2, count(t, s, "PRAGMA synchronous"), "FULL")
	require.Equal(t, 1, count(t, s, "PRAGMA foreign_keys"))
	require.Equal(t, int(sqlite.DefaultBusyTimeout.Milliseconds()), count(t, s, "PRAGMA busy_timeout"))
	require.Equal(t, 1, count(t, s, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"))
	require.Equal(t, sqlite.DefaultAutoCheckpoint, count(t, s, "PRAGMA wal_autocheckpoint"))

	relaxed, _ := openTemp(t, sqlite.WithSync(sqlite.SyncNormal), sqlite.WithBusyTimeout(250), sqlite.WithAutoCheckpoint(500), sqlite.WithReaders(2))
	require.Equal(t, 500, count(t, relaxed, "PRAGMA wal_autocheckpoint"))
	zero, _ := openTemp(t, sqlite.WithAutoCheckpoint(0))
	require.Equal(t, sqlite.DefaultAutoCheckpoint, count(t, zero, "PRAGMA wal_autocheckpoint"), "0 selects the default")
	require.Equal(t, 1, count(t, relaxed, "PRAGMA synchronous"), "NORMAL")
	require.Equal(t, 0, count(t, relaxed, "PRAGMA busy_timeout"), "250ns rounds down to 0 ms")
	require.Equal(t, "FULL", sqlite.SyncFull.String())
	require.Equal(t, "NORMAL", sqlite.SyncNormal.String())
}
