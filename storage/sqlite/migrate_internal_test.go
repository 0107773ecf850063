package sqlite

import (
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func TestLoadMigrationsChecksNames(t *testing.T) {
	t.Parallel()
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	ok, err := loadMigrations(fstest.MapFS{
		"migrations/0002_more.sql": file("B"), "migrations/0001_init.sql": file("A"), "migrations/README": file("x"),
	})
	require.NoError(t, err)
	require.Equal(t, []Migration{{1, "init", "A"}, {2, "more", "B"}}, ok)
	for name, fsys := range map[string]fstest.MapFS{
		"gap":       {"migrations/0001_a.sql": file("A"), "migrations/0003_c.sql": file("C")},
		"repeat":    {"migrations/0001_a.sql": file("A"), "migrations/001_b.sql": file("B")},
		"no number": {"migrations/init.sql": file("A")},
		"no name":   {"migrations/0001_.sql": file("A")},
		"zero":      {"migrations/0000_a.sql": file("A")},
		"empty":     {},
	} {
		_, err := loadMigrations(fsys)
		require.Error(t, err, name)
	}
}

// A later migration applies on top of the recorded ones, a failing one
// leaves nothing behind, and a program that knows fewer migrations than
// the database refuses it.
func TestMigrateForwardOnly(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "itsm.db"))
	require.NoError(t, err)
	defer s.Close()
	next := len(migrations) + 1
	bad := append(Migrations(), Migration{Version: next, Name: "bad", SQL: "CREATE TABLE extra (x INTEGER); SELECT * FROM missing"})
	require.ErrorContains(t, s.migrate(ctx, bad), "missing")
	v, err := s.CurrentSchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, len(migrations), v, "a failed migration is not recorded")
	var n int
	require.NoError(t, s.r.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE name = 'extra'").Scan(&n))
	require.Zero(t, n, "a failed migration leaves no table behind")

	good := append(Migrations(), Migration{Version: next, Name: "extra", SQL: "CREATE TABLE extra (x INTEGER) STRICT;"})
	require.NoError(t, s.migrate(ctx, good))
	require.NoError(t, s.migrate(ctx, good))
	v, err = s.CurrentSchemaVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, next, v)
	require.ErrorIs(t, s.Migrate(ctx), ErrSchemaTooNew)
}

// Readers cannot write, whatever they are asked.
func TestReadersAreReadOnly(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "itsm.db"))
	require.NoError(t, err)
	defer s.Close()
	_, err = s.r.ExecContext(t.Context(), "INSERT INTO number_sequences (kind, last) VALUES ('x', 1)")
	require.ErrorContains(t, err, "readonly")
}
