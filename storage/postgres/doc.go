// Package postgres is the PostgreSQL storage adapter of itsmkit, on
// github.com/jackc/pgx/v5 (pgxpool). Store implements incident.Store (so a
// Service can run on it), storage.TimerProcessor (so a storage.Worker can
// wake SLA timers from several application instances at once) and passes
// the storagetest conformance suite like the other adapters.
//
// # Setting up
//
// Open connects with a pgxpool; Migrate creates or upgrades the tables:
//
//	store, err := postgres.Open(ctx, "postgres://app@db/itsm", postgres.WithSchema("itsm"))
//	...
//	defer store.Close()
//	if err := store.Migrate(ctx); err != nil { ... }
//	svc, err := incident.NewService(store, incident.Config{...})
//
// # Schema
//
// All objects live in one schema (WithSchema, default "public"); every
// statement names its tables with that schema, so the connection's
// search_path does not matter. The schema is relational: incidents has a
// column for every scalar field of incident.Incident with an index per List
// filter ending in (opened_at, id), the List order; the journal
// (incident_journal) and the problem and change links (incident_problems,
// incident_changes) have one row per entry in order; sla_timers keeps each
// timer's history as jsonb beside its derived stage and instants, keyed by
// (incident_id, id) with incident_id referencing incidents, so that two
// incidents may each have a timer with the same ID and every timer's
// incident is stored (indexed for the breached and at-risk filters and, by
// (next_wake_at, id, incident_id), for TimersDue and the wake-up worker);
// sla_crossings records each threshold crossing once per (incident_id,
// timer_id, cycle, basis_points); number_sequences holds the number
// sequences; audit_events and audit_heads hold the audit trail. Zero times
// are NULL; times are timestamptz, kept to the microsecond and read back in
// UTC. IDs use the "C" collation so that the database orders them as Go
// compares strings. When the pg_trgm extension is installed or can be
// installed, a trigram index serves List's Text filter; otherwise Text
// searches scan.
//
// # Migrations
//
// Migrations are embedded SQL files, numbered and forward-only (see
// Migrations). Migrate applies the missing ones in one transaction under
// an advisory lock derived from the schema name, so several instances may
// call it at start-up at once. It refuses a schema recorded as newer than
// itself with ErrSchemaTooNew.
//
// # Transactions and isolation
//
// InTx runs fn in a READ COMMITTED transaction. That is enough because
// every check that must not race is made by a statement that locks what it
// checks:
//
//   - Update is UPDATE ... WHERE id = $1 AND version = $2. Of two
//     transactions updating from one version the second waits for the
//     first's row lock and then re-reads the row, finds the version changed
//     and updates nothing: it fails with an *itsm.ConflictError.
//   - NextNumber is INSERT ... ON CONFLICT DO UPDATE ... RETURNING on the
//     sequence's row, which stays locked until the transaction ends, so
//     numbers are unique; a rolled-back transaction gives its number back.
//   - AppendEvents locks the heads of the records it appends to (insert or
//     update, in key order), so sequences have no gaps or duplicates and
//     each hash chains to the previous event. Create and Update lock the
//     incident's head in the same statement, so the event that follows
//     them costs no extra round trip.
//   - Create uses INSERT ... ON CONFLICT DO NOTHING on the ID and number, so
//     a duplicate is reported (itsm.ErrConflict) without aborting the
//     transaction.
//   - PutTimers relies on the foreign key from sla_timers to incidents,
//     whose check sees the incidents committed by others and locks them.
//     When the transaction has not created or updated every incident of
//     the call itself, the statement runs at once under a savepoint, so
//     that a timer of a missing incident is refused (*itsm.NotFoundError)
//     without aborting the transaction.
//
// A transaction costs few round trips: BEGIN travels with its first
// statement, and the writes of PutTimers (for incidents the transaction
// created or updated) and AppendEvents travel with the next statement or
// with COMMIT (see Store.InTx). The service's Open takes
// three round trips, like a bare one-row insert in its own transaction:
// BEGIN with NextNumber, Create, and the timers, the event and COMMIT
// together.
//
// Reads outside a transaction are single statements (an incident's
// journal and links are aggregated in the same statement), so each sees
// one committed snapshot. Serialization failures and deadlocks, should they
// occur, and lost connections are reported as errors matching
// storage.ErrRetryable; nothing of such a transaction was committed and
// the whole operation may be tried again.
//
// # Connection poolers
//
// pgx prepares and caches statements per connection by default. Behind a
// proxy that pools transactions (such as PgBouncer in transaction mode),
// add default_query_exec_mode=exec (or simple_protocol) to the URL; the
// adapter's statements work in every mode, and Migrate's advisory lock is
// transaction-scoped, so it holds there too. (In simple_protocol mode a
// string with a NUL byte is refused as a protocol violation rather than
// as an *itsm.ValidationError.)
//
// # Joining the application's transaction
//
// Join returns a store bound to a pgx.Tx the application holds: an
// incident opened through incident.Service.WithStore(store.Join(tx))
// commits or rolls back with the application's own rows.
//
// # Audit trail
//
// audit_events is append-only: a trigger refuses UPDATE, DELETE and
// TRUNCATE. Each event carries the hash of the one before it
// (storage.EventHash) and audit_heads remembers the last one per record,
// so VerifyAuditTrail detects edited, deleted or reordered events even
// when someone with enough rights disables the trigger.
package postgres
