// Package postgres is the PostgreSQL storage adapter of itsmkit, on
// github.com/jackc/pgx/v5 (pgxpool). Store implements record.Store for
// work records of every kind (so that the services of every practice run
// on it) and storage.TimerProcessor (so that a storage.Worker can wake SLA
// timers from several application instances at once), and it passes the
// storagetest conformance suite like the other adapters. A kind costs it
// no code: it stores what the kind's record.Schema declares.
//
// # Setting up
//
// Open connects with a pgxpool; Migrate creates or upgrades the tables;
// Declare makes the kinds known:
//
//	store, err := postgres.Open(ctx, "postgres://app@db/itsm", postgres.WithSchema("itsm"))
//	...
//	defer store.Close()
//	if err := store.Migrate(ctx); err != nil { ... }
//	if err := store.Declare(ctx, incidentSchema, problemSchema); err != nil { ... }
//
// # Schema
//
// All objects live in one schema (WithSchema, default "public"); every
// statement names its tables with that schema, so the connection's
// search_path does not matter. Kinds, IDs and numbers use the "C"
// collation, so that the database orders them as Go compares strings.
// Instants are timestamptz, kept in UTC to the microsecond and read back
// in UTC; zero times are NULL, absent strings empty.
//
//   - records: one row per work record of any kind, keyed by (kind, id)
//     and unique by (kind, number). doc (jsonb) holds the record's
//     canonical document (record.Record.Document); the header columns
//     (kind, id, number, title, description, state, state_category,
//     impact, urgency, priority, requester_id, assignment_group,
//     assignee, service, category, parent_kind, parent_id, major,
//     opened_at, updated_at, resolved_at, closed_at, version) are derived
//     from it on every write and serve filtering only. sla_wake_at,
//     sla_breach_at and sla_at_risk_at sum up the record's SLA timers
//     (the earliest wake-up, the earliest breach, the earliest at-risk
//     instant of a running or paused timer); PutTimers and the worker keep
//     them with sqlrec.RefreshSummary, and Create writes them with the
//     record when its timers are saved in the same transaction.
//   - Indexes on records, each led by kind and ending in the List order
//     (opened_at, id; resolved_at or closed_at, id for those orders), so
//     that a filtered page is read in order and stops at the page size:
//     records_opened_idx; records_state_idx, records_state_category_idx,
//     records_priority_idx; partial ones without the empty value for
//     assignee, assignment_group, service, category and requester_id;
//     parent (kind, parent_kind, parent_id, ...) without records that
//     have no parent; major
//     WHERE major; resolved and closed WHERE the instant is set; and
//     (sla_wake_at) WHERE sla_wake_at IS NOT NULL, from which TimersDue,
//     the worker and the SLA filters read the records with due timers. When the pg_trgm extension is installed or can be
//     installed, a trigram index serves the Text filter; otherwise Text
//     searches scan. Declare adds a partial expression index per
//     filterable attribute of a kind (sqlrec.AttrIndexes: the attribute's
//     expression, then opened_at and id, WHERE kind = '<kind>').
//   - record_config_items: a record's configuration items with its
//     opening instant, read in List order by the ConfigItem filter.
//   - record_journal: one row per journal entry, position from 0.
//   - record_links: typed links, in the order added (seq), read from
//     either end through an index per end.
//   - sla_timers: each timer's JSON (identity, target, whole history)
//     beside its policy, policy kind, metric, stage and derived instants,
//     keyed by (kind, record_id, id), with a foreign key to its record;
//     seq keeps the order in which timers were first saved. Each timer
//     also carries its record's opened_at and a generated phase (its
//     status just before its next wake-up: ok, at risk or breached), so
//     that the SLA filters read timers in List order: (kind, metric,
//     opened_at, record_id) and (kind, policy_kind, opened_at, record_id)
//     for every timer; (kind, opened_at, record_id) of the timers at risk
//     and of the breached ones, and (kind, metric, ...) of the breached
//     ones; and the breach instant of the breached ones. A new, running
//     timer lands in the key and the metric and policy kind indexes only.
//     The timers whose status at the instant asked about differs from
//     their phase had a wake-up at or before it: List finds them through
//     records_sla_wake_idx, which the worker keeps small. Without a worker
//     such records pile up and the SLA filters slow down, staying exact.
//   - sla_crossings: each threshold crossing once per (kind, record_id,
//     timer_id, cycle, basis_points).
//   - outbox and outbox_claims: the outbox messages and each consumer's
//     leases, acknowledgements and dead letters (see Outbox below).
//   - One sequence per kind, records_number_<kind>, which NextNumber takes
//     numbers from.
//   - audit_events, audit_heads, audit_log and audit_log_head: the audit
//     trail and the transparency log (see Audit trail).
//
// Bodies are kept as jsonb, so a body comes back as the same JSON value
// with its object keys in jsonb's order and jsonb's white space; text and
// documents that PostgreSQL cannot store (a NUL character) are refused as
// an *itsm.ValidationError before anything is written.
//
// # Migrations
//
// Migrations are embedded SQL files, numbered and forward-only (see
// Migrations). Migrate applies the missing ones in one transaction under
// an advisory lock derived from the schema name, so several instances may
// call it at start-up at once. It refuses a schema recorded as newer than
// itself with ErrSchemaTooNew. Migration 3 carries a database of
// versions 1 and 2 over to the record core: incidents become records of
// kind "incident" with the document the incident codec reads, their
// journal, problem and change links (caused_by and fixed_by links to
// records of kind "problem" and "change"), SLA timers and crossings move
// to the shared tables, the incident number sequence continues where it
// stopped, and the audit trail stays as it was and still verifies.
//
// # Transactions and isolation
//
// InTx runs fn in a READ COMMITTED transaction. That is enough because
// every check that must not race is made by a statement that locks what it
// checks, and only one lock in the write path is shared by all writers:
// the transparency log's head row, which a transaction that appended
// audit events takes with its COMMIT (see Audit trail), so that writers
// wait for each other only while they commit:
//
//   - NextNumber is nextval of the kind's sequence, which holds no lock:
//     concurrent transactions never wait for each other's numbers; a
//     rolled-back transaction leaves a gap.
//   - Update is UPDATE ... WHERE version = $n. Of two transactions
//     updating from one version the second waits for the first's row lock,
//     re-reads the row, finds the version changed and updates nothing: it
//     fails with an *itsm.ConflictError.
//   - Create looks for the ID and the number and sends the INSERT with the
//     next statement or COMMIT; should another transaction store the same
//     ID or number in between, the INSERT waits for it and fails, and so
//     does the transaction (itsm.ErrConflict).
//   - AppendJournal locks the record's row (FOR NO KEY UPDATE, which the
//     timers' foreign keys do not wait for) before it numbers entries;
//     Create and Update hold it already.
//   - AppendEvents locks the audit heads of its records (in key order), so
//     sequences have no gaps or duplicates and each hash chains to the
//     previous event; Update locks its record's head in the statement it
//     sends anyway, and a record Create makes has no head until its first
//     AppendEvents inserts one with the events.
//   - PutTimers relies on the foreign key from sla_timers to records. When
//     the transaction holds every record of the call (it created or
//     updated them), the timers are known to be stored and the write is
//     deferred; otherwise the records are locked and the timers written at
//     once under a savepoint, so that a timer of a missing record is
//     refused (*itsm.NotFoundError) without aborting the transaction.
//   - LockLinkTypes takes a transaction-level advisory lock per link type
//     (keyed by the schema and the type, in key order), so that
//     record.CheckCycle, which takes it before it reads the links of an
//     acyclic type, sees every link of the transactions that held it
//     before: two transactions cannot close a cycle between them.
//   - AddLinks and RemoveLinks check the ends and the links in the
//     statement that writes them, under a savepoint, so that a refused
//     call keeps nothing and leaves the transaction usable.
//
// A transaction costs few round trips: BEGIN travels with its first
// statement, and the writes that need no answer (Create's INSERT,
// PutTimers for held records, AppendJournal for held records,
// AppendEvents once the heads are locked) travel with the next statement
// or with COMMIT. Opening a record as a service does (NextNumber, Create,
// PutTimers, AppendEvents) takes three round trips, like a bare one-row
// insert in its own transaction: BEGIN with NextNumber, Create's check,
// and the writes with COMMIT.
//
// Reads outside a transaction are single statements (a record and its SLA
// summary are read by one), so each sees one committed snapshot; List,
// which reads the page and then its SLA summaries (sqlrec.Summaries), runs
// both in one read-only REPEATABLE READ transaction, in two round trips.
// Serialization failures and deadlocks, should they occur, and lost
// connections are reported as errors matching storage.ErrRetryable;
// nothing of such a transaction was committed and the whole operation may
// be tried again. A full disk is an error matching storage.ErrFull, a
// write in a read-only session or on a standby one matching
// storage.ErrReadOnly, and a damaged page or index one matching
// storage.ErrCorrupt.
//
// # Queries
//
// List runs the statement sqlrec.List builds, so that its rules are the
// SQLite adapter's, with two adjustments for PostgreSQL's planner. The
// condition on a record's timers (of the SLA filters) is kept a probe per
// record (OFFSET 0 in its subquery), which the planner would otherwise
// turn into a scan of every matching timer. And a query for several
// states, state categories or priorities, and no other indexed column,
// runs as one statement per value, sent together: PostgreSQL cannot read
// a column's index in List order for several values at once, and would
// otherwise walk the whole kind in List order. Each filterable attribute
// has a statistics object (see Declare), since the planner reads none of a
// partial index.
//
// # Outbox
//
// AppendEvents appends a message per event to the outbox, in the same
// transaction. Message IDs come from an identity column, so they grow in
// the order of appending, but concurrent transactions commit in another
// order: a reader that handed out "after message 7" could later miss
// message 6 of a transaction that committed after it read. So each message
// also records its transaction's ID (xid, a xid8 that pg_current_xact_id
// gives) and ReadOutbox reads in (xid, id) order, and only messages whose
// xid is below pg_snapshot_xmin(pg_current_snapshot()): the oldest
// transaction still running. Every transaction that could still append a
// message with a smaller xid has then ended, so a message committed later
// lands after every cursor already handed out (its xid is at least that
// xmin). The cursor encodes (xid, id). The price is latency: a message
// shows only once every transaction that began writing before its own has
// ended, in any schema and any database of the server; a long-running
// write transaction holds back the outbox until it ends. Inside a
// transaction that has written, ReadOutbox sees neither its own messages
// nor later ones.
//
// Claim leases the oldest messages (by ID) a consumer has not acknowledged
// and nobody holds a live lease on with one statement whose upsert
// (INSERT ... ON CONFLICT (consumer, message_id) DO UPDATE ... WHERE NOT
// acked AND lease_until <= now) takes a message only while its claim is
// free once it holds the claim's row lock, so two instances of a consumer
// never get the same message. Ack marks claims acknowledged. Defer and
// Bury upsert the claim in one statement that leaves an acknowledged or
// dead claim alone; dead_at marks a dead letter and last_error keeps the
// reason. Replay locks the dead claims it names before it looks at them,
// so that of two replays of one dead letter at once only one succeeds.
//
// # Statistics
//
// Every index of records is led by the kind, so a statement that looks a
// record up by kind and ID could read any of them; the planner picks the
// primary key once the table has statistics. Without any (autovacuum off,
// or a table filled before it first ran) a plan made while the table was
// nearly empty may read a kind's index instead, and pgx keeps each prepared
// statement's plan for the life of the connection. Keep autovacuum on, or
// run ANALYZE on the schema's tables after loading many records.
//
// List's statement is planned for the values of each call: it runs
// with plan_cache_mode set to force_custom_plan for the transaction, and
// the value in force before is put back after it, in the same round trip.
// A generic plan cannot tell which filter is selective nor which arm of
// an SLA filter is empty.
//
// # Connection poolers
//
// pgx prepares and caches statements per connection by default. Behind a
// proxy that pools transactions (such as PgBouncer in transaction mode),
// add default_query_exec_mode=exec (or simple_protocol) to the URL; the
// adapter's statements work in every mode, and Migrate's and Declare's
// advisory lock is transaction-scoped, so it holds there too.
//
// # Joining the application's transaction
//
// Join returns a store bound to a pgx.Tx the application holds: a record
// stored through a practice's service over store.Join(tx) commits or rolls
// back with the application's own rows, and so do outbox claims and
// acknowledgements made through it.
//
// # Audit trail
//
// audit_events is append-only: a trigger refuses UPDATE, DELETE and
// TRUNCATE. Each event carries the hash of the one before it
// (storage.EventHash) and audit_heads remembers the last one per record,
// so VerifyAuditTrail detects edited, deleted or reordered events when
// someone disables the trigger and leaves the hashes alone; it works on
// every schema version.
//
// audit_log is the schema's transparency log (see package storage): one
// entry per event, with its log index, the tree hashes appending it added
// (storage.EntryHashes) and, with WithAuditSeal, its seal;
// audit_log_head holds its size in one row. AppendEvents computes each
// event's leaf hash (and seal) and the transaction sends them with its
// COMMIT to the function audit_log_append, which locks the head row,
// numbers the entries after the last one and computes their tree hashes
// in the database (SHA-256, as tlog does), reading at most one earlier
// entry per level of the tree. The row lock, held from there to the
// commit, makes indexes follow commit order without gaps and costs no
// round trip; it also means that transactions appending events commit
// one after another. A log that lost an entry the new tree hashes need
// refuses the append, and the transaction fails with an error matching
// storage.ErrCorrupt. Triggers make the log append-only and its head grow
// only. Migration 6 puts the events of an older schema into the log in their
// stored order (kind, record ID, sequence).
//
// None of this stops the tables' owner, and the heads live in the schema
// too: AuditTree, ProveAuditTree, VerifyAuditSeals and VerifyAuditLog make
// the Store a storage.AuditLog, so that a storage.Checkpointer can sign
// checkpoints kept outside the database, and VerifyAuditLog against the
// latest one, in one REPEATABLE READ snapshot, finds what was changed
// (the package storage documentation lists what is found and what is
// not).
//
// # SLA wake-up
//
// ProcessDueTimers locks the records whose earliest wake-up is due with
// FOR NO KEY UPDATE SKIP LOCKED, so that workers in several processes take
// disjoint records and never wait for each other, records each crossing
// once with its audit event and outbox message, refreshes the timers and
// the records' SLA summaries, and commits. It delivers nothing: a
// deliverer reads the outbox after the commit. PutTimers records the
// crossings a timer had reached at its latest event too, so a timer
// stopped after its breach and before any pass has its breach recorded.
// Timers whose calendar the store does not know are skipped and reported
// (storage.Batch.Skipped); UnknownCalendars lists such calendars among
// the timers awaiting a wake-up, which a storage.Worker checks before it
// starts.
package postgres
