// Package sqlite is itsmkit's embedded storage adapter: a Store keeps
// incidents, their SLA timers, the audit log and number sequences in one
// SQLite database file, through modernc.org/sqlite (pure Go, no cgo). It
// implements incident.Store and storage.TimerProcessor, and passes the
// conformance suites of package storagetest.
//
// # Opening
//
// Open takes a file path or a "file:" URI. In-memory databases are
// refused, since the writer and the readers use separate connections. The
// DSN may carry other modernc.org/sqlite parameters (such as
// _pragma=cache_size(-65536)), but not the ones Open sets itself
// (_txlock, _busy_timeout, _journal_mode, _foreign_keys, _synchronous,
// _query_only and their aliases, and _pragma=wal_autocheckpoint); use the
// Options instead. The defaults:
//
//   - journal_mode=WAL: readers never wait for the writer, and the writer
//     never waits for readers.
//   - synchronous=FULL (SyncFull): a commit that returned survives a power
//     loss. WithSync(SyncNormal) syncs only at checkpoints: faster, never
//     corrupt, but the last commits may be lost on power loss or an
//     operating system crash (not on a crash of the process).
//   - foreign_keys=ON.
//   - wal_autocheckpoint of DefaultAutoCheckpoint pages (WithAutoCheckpoint),
//     four times SQLite's default: fewer checkpoints, each syncing the
//     database file once for more commits.
//   - busy_timeout of DefaultBusyTimeout (5 s; WithBusyTimeout): how long a
//     connection waits for a lock another Store or process holds before
//     failing with an error matching storage.ErrRetryable.
//   - One writer connection whose transactions start with BEGIN
//     IMMEDIATE, so a transaction holds the write lock from its first
//     statement and never fails half-way for a lock; InTx calls queue for
//     it in the order database/sql hands out the connection.
//   - A separate pool of read-only connections (query_only=ON) for the
//     Store's read methods, of max(MinReaders, GOMAXPROCS) connections
//     (WithReaders). Each read method runs in its own read transaction, so
//     an incident and its journal and links come from one snapshot.
//   - Open migrates the schema (see Migrate); WithoutMigrate leaves that
//     to the caller.
//   - No calendars: the timers 24×7 policies create bind themselves; the
//     wake-up worker needs WithCalendars for timers on named calendars,
//     including timers made directly with sla.NewTimer on sla.AlwaysOpen,
//     whose calendar is named "24x7".
//
// # Schema
//
// The schema is relational, created by embedded, versioned, forward-only
// migrations (migrations/NNNN_name.sql, see Migrations) that Migrate
// applies in one transaction and records in schema_migrations:
//
//   - incidents: one column per scalar field; caller roles as a JSON
//     array. Indexes for List order and paging (opened_at, id), and for
//     each equality filter followed by the List order: state, priority,
//     assignee, assignment_group, service (these three leave out the empty
//     value, which List never looks for); parent_id for Children; a
//     partial index for ResolvedBefore. Three more columns sum up the
//     incident's SLA timers (earliest next wake-up, earliest breach,
//     earliest at-risk instant of a running or paused timer), each with
//     its index: the wake-up worker and the Breached and AtRisk filters
//     find incidents through them, one index entry per incident rather
//     than one per timer.
//   - incident_journal, incident_problems, incident_changes: one row per
//     entry or link, ordered by position.
//   - sla_timers: the timer as its JSON (identity, target, warnings,
//     history) plus the derived stage, at_risk_at, breach_at and
//     next_wake_at columns, unique by incident and ID, in the order of
//     the first save. Triggers refuse a timer of an incident that is not
//     stored and keep the incident's SLA summary (what the view
//     sla_summary computes) up to date whenever a timer is saved, so the
//     summary is right whoever writes the timers.
//   - sla_crossings: the crossings the worker recorded, unique by
//     incident, timer, cycle and basis points.
//   - number_sequences: the last value of each sequence kind.
//   - audit_events and audit_heads: see below.
//
// Instants are stored as INTEGER microseconds since the Unix epoch and read
// back in UTC, so a time keeps its instant to the microsecond but not its
// location; NULL stands for the zero time of optional fields. Times are
// truncated to the microsecond, except a timer's NextWakeAt, which is
// rounded up: the breach wakes one nanosecond after the due time, and
// truncating it would make the timer due again at that very instant.
//
// List's text filter calls a Go function registered with the driver
// (itsmkit_contains_fold) that folds case like strings.ToLower, so that
// it agrees with incident.Query.Match on non-ASCII text too. It scans the
// incidents the other filters leave; combine it with an indexed filter on
// large databases.
//
// # Audit log
//
// audit_events holds one row per event, keyed by kind, record ID and
// sequence, with the actor, time, action, states, changes (JSON), reason,
// and the previous and own hash (storage.EventHash, chained per record).
// Triggers make it append-only (UPDATE and DELETE abort), refuse an event
// that does not follow its record's head, and move the head in
// audit_heads in the same statement; heads only move forward.
// VerifyAuditTrail detects what someone bypassing the triggers changed.
//
// Statements that run often are prepared once per Store (after the schema
// is migrated) and reused by every transaction.
//
// # Transactions
//
// InTx runs on the writer connection, so writes of one Store never
// conflict; several Stores or processes on one file serialize on SQLite's
// write lock. An application that keeps its own tables in the same file
// can make them commit with incident changes: BeginTx gives it a
// transaction on the writer connection, and Join(tx) an incident.Store
// working inside it (incident.Service.WithStore uses it).
//
// # Errors
//
// A missing incident is an *itsm.NotFoundError, a stale version an
// *itsm.ConflictError, a UNIQUE or PRIMARY KEY violation an error matching
// itsm.ErrConflict, and SQLITE_BUSY or SQLITE_LOCKED an error matching
// storage.ErrRetryable.
package sqlite
