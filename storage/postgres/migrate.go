package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrSchemaTooNew is matched (errors.Is) by the *SchemaVersionError that
// Migrate returns when the schema was migrated by a newer version of this
// package than the running one.
var ErrSchemaTooNew = errors.New("postgres: schema is newer than this version of the adapter")

// SchemaVersionError reports a schema whose recorded version is higher than
// the newest migration this package knows. Migrate changes nothing then; the
// application must be upgraded instead. It matches ErrSchemaTooNew.
type SchemaVersionError struct {
	// Schema is the schema's name.
	Schema string
	// Found is the highest version recorded in its schema_migrations.
	Found int
	// Known is the newest migration this package has.
	Known int
}

// Error says which versions clash.
func (e *SchemaVersionError) Error() string {
	return fmt.Sprintf("postgres: schema %q is at version %d, newer than version %d this adapter knows", e.Schema, e.Found, e.Known)
}

// Unwrap returns ErrSchemaTooNew.
func (e *SchemaVersionError) Unwrap() error { return ErrSchemaTooNew }

// Migration is one embedded schema migration.
type Migration struct {
	// Version numbers migrations from 1 without gaps, from the file name
	// prefix (0001_init.sql is version 1).
	Version int
	// Name is the file name without the version prefix and extension.
	Name string
	sql  string
}

// Migrations returns the embedded migrations in version order.
func Migrations() []Migration { return slices.Clone(loadedMigrations) }

var loadedMigrations = mustLoadMigrations()

// mustLoadMigrations reads migrations/NNNN_name.sql. A malformed name or a
// gap in the numbering is a bug in this package, so it panics at init.
func mustLoadMigrations() []Migration {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			panic("postgres: malformed migration file name " + name)
		}
		body, err := migrationFiles.ReadFile(path.Join("migrations", name))
		if err != nil {
			panic(err)
		}
		out = append(out, Migration{Version: v, Name: rest, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			panic(fmt.Sprintf("postgres: migration %d is missing", i+1))
		}
	}
	return out
}

// migrationLockKey is the advisory lock key that serialises migrations of
// one schema: the same for every Store of that schema, different (with
// overwhelming likelihood) for other schemas.
func migrationLockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("itsmkit/storage/postgres migrate " + schema))
	return int64(h.Sum64())
}

// Migrate brings the Store's schema up to the newest embedded migration.
// It runs in one transaction: it takes a transaction-scoped advisory lock
// derived from the schema name (so concurrent Migrate calls from several
// processes run one after another and the later ones find nothing to do),
// creates the schema and the schema_migrations table when missing, applies
// every migration newer than the recorded version in order, and records
// each. Either all of them are applied or none.
//
// Migrate is idempotent. Migrations are forward-only: there is no down
// migration. When the schema records a version newer than this package
// knows it returns a *SchemaVersionError matching ErrSchemaTooNew and
// changes nothing.
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrateTo(ctx, loadedMigrations[len(loadedMigrations)-1].Version)
}

// migrateTo is Migrate up to version target only; the upgrade tests use
// it to build a schema of an older version.
func (s *Store) migrateTo(ctx context.Context, target int) error {
	tx, err := s.pool.BeginTx(ctx, txOptions)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", mapError(err, "", ""))
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := s.migrate(ctx, tx, target); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: commit: %w", mapError(err, "", ""))
	}
	return nil
}

func (s *Store) migrate(ctx context.Context, tx pgx.Tx, target int) error {
	fail := func(step string, err error) error {
		return fmt.Errorf("postgres: migrate schema %q: %s: %w", s.schema, step, mapError(err, "", ""))
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey(s.schema)); err != nil {
		return fail("lock", err)
	}
	// Objects below are created in the schema; SET LOCAL ends with the
	// transaction.
	setup := "CREATE SCHEMA IF NOT EXISTS " + s.q.schema + ";\n" +
		"SET LOCAL search_path TO " + s.q.schema + ";\n" +
		`CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`
	if _, err := tx.Exec(ctx, setup); err != nil {
		return fail("create schema", err)
	}
	var current int
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return fail("read version", err)
	}
	known := loadedMigrations[len(loadedMigrations)-1].Version
	if current > known {
		return &SchemaVersionError{Schema: s.schema, Found: current, Known: known}
	}
	for _, m := range loadedMigrations[current:max(current, target)] {
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fail(fmt.Sprintf("apply %04d_%s", m.Version, m.Name), err)
		}
		if step := migrationSteps[m.Version]; step != nil {
			if err := step(ctx, tx); err != nil {
				return fail(fmt.Sprintf("apply %04d_%s", m.Version, m.Name), err)
			}
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
			return fail(fmt.Sprintf("record %04d_%s", m.Version, m.Name), err)
		}
	}
	return nil
}

// SchemaVersion returns the highest migration version recorded in the
// Store's schema, or 0 when the schema has not been migrated.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var exists bool
	err := s.pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", s.q.schema+".schema_migrations").Scan(&exists)
	if err != nil {
		return 0, mapError(err, "", "")
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+s.q.schema+".schema_migrations").Scan(&v); err != nil {
		return 0, mapError(err, "", "")
	}
	return v, nil
}
