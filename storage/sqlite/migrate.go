package sqlite

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one embedded schema migration, from a file named like
// "migrations/0001_init.sql".
type Migration struct {
	// Version numbers the migrations from 1 without gaps.
	Version int
	// Name is the file name without the version and extension, such as
	// "init".
	Name string
	// SQL is the script, run as it is inside the migration transaction.
	SQL string
}

// migrations is the embedded list, checked once.
var migrations = mustLoadMigrations(migrationFiles)

// Migrations returns the embedded migrations in version order. Migrate
// applies them; they are exported for inspection and documentation.
func Migrations() []Migration { return slices.Clone(migrations) }

// SchemaVersion is the schema version this package creates: the version of
// the last embedded migration.
func SchemaVersion() int { return migrations[len(migrations)-1].Version }

func mustLoadMigrations(fsys fs.FS) []Migration {
	ms, err := loadMigrations(fsys)
	if err != nil {
		panic(err) // the embedded files are part of the program
	}
	return ms
}

// loadMigrations reads migrations/NNNN_name.sql files and checks that
// their versions run from 1 without gaps or repeats.
func loadMigrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".sql")
		num, label, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 || label == "" {
			return nil, fmt.Errorf("sqlite: migration file %s is not named NNNN_name.sql", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: label, SQL: string(b)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("sqlite: migration %d (%s) found where %d was expected", m.Version, m.Name, i+1)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("sqlite: no migrations embedded")
	}
	return out, nil
}

// ErrSchemaTooNew is matched by a *SchemaTooNewError: the database was
// migrated by a newer version of this package. Nothing was changed.
var ErrSchemaTooNew = errors.New("sqlite: database schema is newer than this program")

// SchemaTooNewError reports a database whose schema version is beyond
// SchemaVersion. It matches ErrSchemaTooNew.
type SchemaTooNewError struct {
	// Found is the database's schema version.
	Found int
	// Supported is SchemaVersion of this program.
	Supported int
}

// Error says which versions disagree.
func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("sqlite: database schema version %d is newer than version %d this program knows; upgrade the program", e.Found, e.Supported)
}

// Unwrap returns ErrSchemaTooNew.
func (e *SchemaTooNewError) Unwrap() error { return ErrSchemaTooNew }

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_at INTEGER NOT NULL
) STRICT`

// Migrate brings the schema to SchemaVersion by applying the embedded
// migrations it lacks, in order, all in one write transaction, and records
// each in the schema_migrations table. It is idempotent, and safe when
// several Stores or processes run it on one file at once: the write
// transaction (BEGIN IMMEDIATE) lets one of them migrate while the others
// wait for it (up to the busy timeout) and then find nothing to do.
// Migrations only go forward. A database at a newer version than this
// package knows yields a *SchemaTooNewError and changes nothing.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.migrate(ctx, migrations); err != nil {
		return err
	}
	return s.prepareStatements(ctx)
}

func (s *Store) migrate(ctx context.Context, ms []Migration) (err error) {
	t, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: begin: %w", mapErr(err))
	}
	defer func() {
		if err != nil {
			_ = t.Rollback()
		}
	}()
	if _, err := t.ExecContext(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", mapErr(err))
	}
	var cur int
	if err := t.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&cur); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", mapErr(err))
	}
	latest := ms[len(ms)-1].Version
	if cur > latest {
		return &SchemaTooNewError{Found: cur, Supported: latest}
	}
	for _, m := range ms[cur:] {
		if _, err := t.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("sqlite: migration %04d_%s: %w", m.Version, m.Name, mapErr(err))
		}
		if step := migrationSteps[m.Version]; step != nil {
			if err := step(ctx, t); err != nil {
				return fmt.Errorf("sqlite: migration %04d_%s: %w", m.Version, m.Name, err)
			}
		}
		if _, err := t.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.Version, m.Name, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("sqlite: record migration %04d_%s: %w", m.Version, m.Name, mapErr(err))
		}
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("sqlite: migrate: commit: %w", mapErr(err))
	}
	return nil
}

// CurrentSchemaVersion returns the database's schema version: the last
// migration recorded, 0 for a database never migrated.
func (s *Store) CurrentSchemaVersion(ctx context.Context) (int, error) {
	var exists int
	err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'").Scan(&exists)
	if err != nil || exists == 0 {
		return 0, mapErr(err)
	}
	var v int
	err = s.r.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v)
	return v, mapErr(err)
}
