// Package sqlite is itsmkit's embedded storage adapter: a Store keeps work
// records of every kind (incidents, problems, changes, a kind an
// application defines), their journals, links, SLA timers, the audit log,
// the outbox and number sequences in one SQLite database file, through
// modernc.org/sqlite (pure Go, no cgo). It implements record.Store and
// storage.TimerProcessor, imports no practice package, and passes the
// conformance suites of package storagetest. A kind costs it no code: the
// application declares the kind's record.Schema (Store.Declare) and the
// store accepts its records and queries and indexes its filterable
// attributes.
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
//     a record and its SLA summary come from one snapshot.
//   - Open migrates the schema (see Migrate); WithoutMigrate leaves that
//     to the caller.
//   - No kinds: Declare them after Open, in every process (the schemas
//     live in the program, the indexes in the file).
//   - No calendars: the wake-up worker needs WithCalendars to bind the
//     timers it decodes, including timers made with sla.NewTimer on
//     sla.AlwaysOpen, whose calendar is named "24x7".
//
// # Schema
//
// The schema is created by embedded, versioned, forward-only migrations
// (migrations/NNNN_name.sql, see Migrations) that Migrate applies in one
// transaction and records in schema_migrations. Migration 0002 carries a
// database of the incident-only schema 0001 over: its incidents become
// records of kind "incident" with their journal, problem and change links
// ("caused_by" and "fixed_by"), timers and crossings, the number sequence
// goes on, and the audit log stays as it is, so its trail still verifies.
// The tables, which storage/postgres shares (their List, SLA summary and
// attribute index statements come from storage/internal/sqlrec):
//
//   - records: one row per record, keyed by (kind, id) and unique by
//     (kind, number). doc holds the record's canonical JSON document
//     (record.Record.Document) and is what reads decode; the header
//     columns (number, title, description, state, state_category,
//     impact, urgency, priority, requester_id, assignment_group, assignee,
//     service, category, parent_kind, parent_id, major, opened_at,
//     updated_at, resolved_at, closed_at, version) are derived from it on
//     every write and serve filtering only. sla_wake_at, sla_breach_at
//     and sla_at_risk_at sum up the record's SLA timers (earliest next
//     wake-up, earliest breach, earliest at-risk instant of a running or
//     paused timer); every save of timers, by PutTimers or by the wake-up
//     worker, refreshes them in the same transaction.
//   - Indexes on records, each led by kind and ending in the List order
//     (opened_at, id), so that a page is read in order from the index and
//     stops after its rows: (kind, opened_at, id); state, state_category
//     and priority each followed by the order; partial indexes leaving out
//     the empty value for assignee, assignment_group, service, category
//     and requester_id, and for the parent (parent_kind, parent_id); major
//     records (WHERE major = 1); (kind, resolved_at, id) and (kind,
//     closed_at, id) of the records that have the instant, for those List
//     orders; and (sla_wake_at) of the records with a wake-up, across
//     kinds, for TimersDue, the worker and the SLA filters (see
//     sla_timers). Declare adds a partial expression index
//     per filterable attribute of a kind: (json_extract(doc,
//     '$.attrs.<name>'), opened_at, id) WHERE kind = '<kind>'.
//   - record_config_items: one row per configuration item of a record,
//     with the record's opened_at, indexed by (kind, config_item,
//     opened_at, record_id) so that the ConfigItem filter reads in List
//     order.
//   - record_journal: the journal entries of each record, by position.
//   - record_links: typed, directed links, unique by type and ends, in the
//     order they were added, indexed from both ends.
//   - sla_timers: the timer as its JSON (identity, target, warnings,
//     history) plus its policy, policy kind, metric and the derived stage,
//     at_risk_at, breach_at and next_wake_at, unique by record and ID, in
//     the order of the first save. Triggers refuse a timer of a record
//     that is not stored (also on connections without foreign keys, such
//     as an application's transaction given to Join) and moving a timer
//     to another record. Each timer also carries its record's
//     opened_at and a generated phase (its status just before its next
//     wake-up: ok, at risk or breached), so that the SLA filters read
//     timers in List order: (kind, metric, opened_at, record_id) and
//     (kind, policy_kind, opened_at, record_id) for every timer; (kind,
//     opened_at, record_id) of the timers at risk and of the breached
//     ones, and (kind, metric, ...) of the breached ones; and the breach
//     instant of the breached ones. A new, running timer lands in the key
//     and the metric and policy kind indexes only. The timers whose status
//     at the instant asked about differs from their phase had a wake-up
//     at or before it: List finds them from the records' sla_wake_at,
//     which the worker keeps small. Without a worker such records pile
//     up and the SLA filters slow down, staying exact.
//   - sla_crossings: the crossings recorded, unique by record, timer,
//     cycle and basis points: by the worker, and by PutTimers for the
//     thresholds a timer had reached at its latest event. Each has its
//     audit event (storage.Crossing.Event) in audit_events and the outbox,
//     appended in the same transaction.
//   - number_sequences: the last value of each kind's sequence.
//   - audit_events, audit_heads, audit_log and audit_log_head: see Audit
//     log below.
//   - outbox: one message per audit event appended (the event's JSON),
//     in the transaction that appended it; outbox_claims: what each
//     consumer claimed (lease end, attempts), acknowledged and buried
//     (dead_at, last_error).
//
// Instants are stored as INTEGER microseconds since the Unix epoch and read
// back in UTC, so a time keeps its instant to the microsecond but not its
// location; NULL stands for the zero time of optional fields. Times are
// truncated to the microsecond, except a timer's NextWakeAt, which is
// rounded up: the breach wakes one nanosecond after the due time, and
// truncating it would make the timer due again at that very instant.
// Queries compare with their instants rounded up (see the dialect's
// Time); the SLA filters compare with whole microseconds that select, of
// stored whole microseconds, what the comparison with the exact
// Query.Now selects.
//
// List runs the statement sqlrec.List builds for the query. A filter on
// several values of one indexed column (states, state categories,
// priorities, a filterable attribute) keeps no List order in that
// column's index, so when no other indexed filter serves the query, List
// runs one statement per value, each reading its value's index in List
// order and stopping after a page, and merges them; only the records of
// the page are decoded. Filters that no index serves in List order walk
// the kind from the cursor on until the page is full: the SLA metric and
// policy kind filters without breached or at risk, ranges of attributes,
// attributes that are not filterable, and text. On large databases,
// memory-mapped reads (_pragma=mmap_size(N) in the DSN) save a system
// call per page read.
//
// List's text filter calls a Go function registered with the driver
// (itsmkit_contains_fold) that folds case like strings.ToLower, so that
// it agrees with record.Query.Match on non-ASCII text too. It scans the
// records the other filters leave; combine it with an indexed filter on
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
//
// audit_log is the store's transparency log (see package storage): one
// entry per event, in commit order from log index 0, with the tree hashes
// appending it added (storage.EntryHashes) and, with WithAuditSeal, its
// seal; audit_log_head holds its size. AppendEvents appends the entries
// with the events, in the same savepoint, reading the few earlier tree
// hashes it needs; the single writer makes the indexes follow commit
// order without gaps. A log that lost an entry the new tree hashes need
// refuses the append with an error matching storage.ErrCorrupt. Triggers
// make the log append-only and its head grow only. Migration 5 puts the events of an older database into the
// log in their stored order (kind, record ID, sequence).
//
// None of the triggers stops someone who can write to the file, and the
// heads live in the file too: AuditTree, ProveAuditTree, VerifyAuditSeals
// and VerifyAuditLog make the Store a storage.AuditLog, so that a
// storage.Checkpointer can sign checkpoints kept outside the file, and
// VerifyAuditLog against the latest one finds what was changed (the
// package storage documentation lists what is found and what is not).
// VerifyAuditTrail checks the per-record chains alone, on any schema
// version.
//
// # Outbox
//
// The single writer commits in the order of the outbox's IDs, so
// ReadOutbox reads by ID from an opaque cursor (the last ID read) and a
// message committed later never lands before it. Claim takes a consumer's
// oldest messages that it has not acknowledged and that hold no live
// lease with one INSERT ... ON CONFLICT DO UPDATE ... RETURNING, so two
// claimers never get one message; Ack marks messages acknowledged.
// Defer, Bury and Replay change one claim row each (dead_at marks a dead
// letter, last_error keeps the reason) in a write transaction, and
// DeadLetters reads the dead claims through a partial index.
//
// Statements that run often are prepared once per Store (after the schema
// is migrated) and reused by every transaction. A transaction reads a
// record's audit head once, and not at all for a record it created
// itself; the audit triggers catch a head that changed behind its back,
// and the events are then appended again after the head is read.
//
// # Transactions
//
// InTx runs on the writer connection, so writes of one Store never
// conflict; several Stores or processes on one file serialize on SQLite's
// write lock. An application that keeps its own tables in the same file
// can make them commit with record changes: BeginTx gives it a
// transaction on the writer connection, and Join(tx) a record.Store
// working inside it.
//
// # Errors
//
// A missing record is an *itsm.NotFoundError, a stale version an
// *itsm.ConflictError, a UNIQUE or PRIMARY KEY violation an error matching
// itsm.ErrConflict, bad input an *itsm.ValidationError (and nothing is
// written), SQLITE_BUSY or SQLITE_LOCKED an error matching
// storage.ErrRetryable, a full disk or a reached max_page_count one
// matching storage.ErrFull, a read-only file or connection one matching
// storage.ErrReadOnly, and a damaged file or one that is not a database
// one matching storage.ErrCorrupt. A transaction refused for any of them
// keeps nothing.
package sqlite
