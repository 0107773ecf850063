package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/internal/sqlrec"
)

// Defaults of Open.
const (
	// DefaultBusyTimeout is how long a connection waits for a lock held by
	// another connection (another Store or process on the same file)
	// before failing with an error that matches storage.ErrRetryable.
	DefaultBusyTimeout = 5 * time.Second
	// MinReaders is the smallest default size of the reader pool; the
	// default is the larger of MinReaders and runtime.GOMAXPROCS(0).
	MinReaders = 4
	// DefaultAutoCheckpoint is the default size of the write-ahead log, in
	// pages (4 KiB each by default), at which a commit copies the log back
	// into the database file (a checkpoint). SQLite's own default is 1000;
	// a larger log lets a checkpoint write each often-changed page once
	// for more commits, and checkpoints, each ending in a sync of the
	// database file, come four times less often. The log may grow to
	// about 16 MiB.
	DefaultAutoCheckpoint = 4000
)

// Sync is the durability of commits, SQLite's synchronous setting in WAL
// mode.
type Sync int

const (
	// SyncFull (the default) syncs the write-ahead log on every commit: a
	// commit that returned survives a power loss or an operating system
	// crash.
	SyncFull Sync = iota
	// SyncNormal syncs only at checkpoints. Commits are faster and the
	// database never corrupts, but the last commits before a power loss or
	// an operating system crash may be lost (a crash of the process alone
	// loses nothing).
	SyncNormal
)

// String returns "FULL" or "NORMAL".
func (s Sync) String() string {
	if s == SyncNormal {
		return "NORMAL"
	}
	return "FULL"
}

// Option configures Open.
type Option func(*config)

type config struct {
	calendars      sla.CalendarSource
	sync           Sync
	busyTimeout    time.Duration
	readers        int
	autoCheckpoint int
	migrate        bool
	sealKey        []byte
}

// WithCalendars sets the calendars that bind the SLA timers the wake-up
// worker (ProcessDueTimers) decodes, and the copies of unbound timers
// PutTimers judges to record their crossings. A due timer naming a
// calendar the source does not know is skipped by the worker's pass
// (storage.Batch.Skipped) and named by UnknownCalendars, so that a
// storage.Worker refuses to start; PutTimers saves such a timer without
// recording its crossings. Default: none.
func WithCalendars(src sla.CalendarSource) Option {
	return func(c *config) { c.calendars = src }
}

// WithSync sets the durability of commits; default SyncFull.
func WithSync(s Sync) Option {
	return func(c *config) { c.sync = s }
}

// WithBusyTimeout sets how long a connection waits for a lock held
// elsewhere; default DefaultBusyTimeout. Zero or less fails at once.
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) { c.busyTimeout = max(d, 0) }
}

// WithReaders sets the size of the reader pool; values below 1 select the
// default (see MinReaders).
func WithReaders(n int) Option {
	return func(c *config) { c.readers = n }
}

// WithAutoCheckpoint sets the size of the write-ahead log, in pages, at
// which a commit checkpoints; values below 1 select
// DefaultAutoCheckpoint. SQLite runs the checkpoint in the committing
// transaction's call, after the commit is durable.
func WithAutoCheckpoint(pages int) Option {
	return func(c *config) { c.autoCheckpoint = pages }
}

// WithoutMigrate makes Open leave the schema alone; call Store.Migrate
// before using the store. By default Open migrates.
func WithoutMigrate() Option {
	return func(c *config) { c.migrate = false }
}

// Store is a record.Store and a storage.TimerProcessor on one SQLite
// database file, for records of every declared kind. It is safe for
// concurrent use. See the package documentation for its connections,
// transactions and defaults.
type Store struct {
	w, r *sql.DB
	cfg  config
	reg  record.Registry
	// savepoints numbers the savepoints of joined transactions.
	savepoints atomic.Uint64
	// The prepared statements of the writer and of the readers, once the
	// schema exists (see prepareStatements).
	prepMu         sync.Mutex
	wStmts, rStmts atomic.Pointer[stmtSet]
}

var (
	_ record.Store           = (*Store)(nil)
	_ storage.TimerProcessor = (*Store)(nil)
)

// keys that Open sets on every connection and therefore refuses in the
// DSN.
var reservedKeys = []string{
	"_txlock", "_busy_timeout", "_timeout", "_journal_mode", "_journal",
	"_foreign_keys", "_fk", "_synchronous", "_sync", "_query_only",
}

// Open opens (creating it if needed) the database at dsnOrPath, a file
// path or a "file:" URI, optionally with driver query parameters (see the
// package documentation for what Open sets itself and refuses), and
// migrates it unless WithoutMigrate is given. In-memory databases are
// refused: readers and the writer use separate connections and would not
// share one. The store knows no kind until Declare; the caller must Close
// it.
func Open(ctx context.Context, dsnOrPath string, opts ...Option) (*Store, error) {
	cfg := config{sync: SyncFull, busyTimeout: DefaultBusyTimeout, migrate: true}
	for _, o := range opts {
		o(&cfg)
	}
	if err := storage.CheckSealKey(cfg.sealKey); err != nil {
		return nil, err
	}
	if cfg.readers < 1 {
		cfg.readers = max(MinReaders, runtime.GOMAXPROCS(0))
	}
	if cfg.autoCheckpoint < 1 {
		cfg.autoCheckpoint = DefaultAutoCheckpoint
	}
	base, query, err := splitDSN(dsnOrPath)
	if err != nil {
		return nil, err
	}
	common := func(extra url.Values) string {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("_busy_timeout", strconv.FormatInt(cfg.busyTimeout.Milliseconds(), 10))
		q.Set("_foreign_keys", "1")
		for k, v := range extra {
			q[k] = v
		}
		return base + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", common(url.Values{
		"_txlock":       {"immediate"},
		"_journal_mode": {"WAL"},
		"_synchronous":  {cfg.sync.String()},
		"_pragma":       append(slices.Clone(query["_pragma"]), "wal_autocheckpoint("+strconv.Itoa(cfg.autoCheckpoint)+")"),
	}))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", dsnOrPath, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// The writer connects first, so that the file is in WAL mode before
	// any reader opens it.
	if err := connectWriter(ctx, w, cfg.busyTimeout); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", dsnOrPath, err)
	}
	r, err := sql.Open("sqlite", common(url.Values{
		"_txlock":     {"deferred"},
		"_query_only": {"1"},
	}))
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", dsnOrPath, err)
	}
	r.SetMaxOpenConns(cfg.readers)
	r.SetMaxIdleConns(cfg.readers)
	s := &Store{w: w, r: r, cfg: cfg}
	if cfg.migrate {
		if err := s.Migrate(ctx); err != nil {
			_ = s.Close()
			return nil, err
		}
	} else if v, err := s.CurrentSchemaVersion(ctx); err == nil && v == SchemaVersion() {
		// Already migrated: prepare now. Otherwise Migrate will.
		if err := s.prepareStatements(ctx); err != nil {
			_ = s.Close()
			return nil, err
		}
	}
	return s, nil
}

// splitDSN separates the database name from its query parameters and
// checks both.
func splitDSN(dsn string) (string, url.Values, error) {
	bad := func(format string, args ...any) (string, url.Values, error) {
		return "", nil, itsm.NewValidationError("sqlite store", "dsn", format, args...)
	}
	base, raw, _ := strings.Cut(dsn, "?")
	if strings.TrimSpace(base) == "" || base == "file:" {
		return bad("must name a database file")
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return bad("bad query parameters: %v", err)
	}
	if strings.Contains(base, ":memory:") || q.Get("mode") == "memory" {
		return bad("in-memory databases are not supported; use a file (for example in t.TempDir())")
	}
	for _, k := range reservedKeys {
		if q.Has(k) {
			return bad("parameter %s is set by Open; use an Option instead", k)
		}
	}
	for _, p := range q["_pragma"] {
		if name, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(p)), "("); strings.TrimSpace(name) == "wal_autocheckpoint" {
			return bad("pragma wal_autocheckpoint is set by Open; use WithAutoCheckpoint instead")
		}
	}
	return base, q, nil
}

// Close closes the reader pool and the writer connection. Transactions
// still open fail afterwards.
func (s *Store) Close() error {
	var errs []error
	for _, p := range []*stmtSet{s.rStmts.Load(), s.wStmts.Load()} {
		if p != nil {
			errs = append(errs, p.close())
		}
	}
	return errors.Join(append(errs, s.r.Close(), s.w.Close())...)
}

// Declare makes kinds known to the store, as record.Store documents: it
// creates the partial expression index of every filterable attribute
// (sqlrec.AttrIndexes; CREATE INDEX IF NOT EXISTS, in one write
// transaction, so several processes may declare at once) and then
// accepts the kinds' records and queries. Declaring a kind again replaces
// its schema; an index of an attribute that is no longer filterable is
// kept. A nil schema is an *itsm.ValidationError and then nothing is
// declared. Building an index reads every record, so declaring a new
// filterable attribute on a large database takes a while.
func (s *Store) Declare(ctx context.Context, schemas ...*record.Schema) error {
	if err := checkSchemas(schemas); err != nil {
		return err
	}
	if ddl := indexDDL(schemas); len(ddl) > 0 {
		err := s.write(ctx, func(c txConn) error { return execAll(ctx, c, ddl) })
		if err != nil {
			return err
		}
	}
	return s.reg.Declare(schemas...)
}

// checkSchemas refuses nil schemas, as record.Registry.Declare does,
// before anything is written.
func checkSchemas(schemas []*record.Schema) error {
	for i, sc := range schemas {
		if sc == nil {
			return itsm.NewValidationError("record schemas", "["+strconv.Itoa(i)+"]", "must not be nil")
		}
	}
	return nil
}

// indexDDL returns the statements that create the attribute indexes of
// schemas.
func indexDDL(schemas []*record.Schema) []string {
	var out []string
	for _, sc := range schemas {
		out = append(out, sqlrec.AttrIndexes(sq, sc)...)
	}
	return out
}

func execAll(ctx context.Context, q querier, stmts []string) error {
	for _, st := range stmts {
		if _, err := q.ExecContext(ctx, st); err != nil {
			return fmt.Errorf("sqlite: declare: %w", mapErr(err))
		}
	}
	return nil
}

// BeginTx starts a transaction on the store's writer connection (BEGIN
// IMMEDIATE, so it holds the database's write lock until it ends), for an
// application that wants its own rows and record changes to commit
// together: it runs its SQL on the returned *sql.Tx, works on records
// through Join(tx), and commits or rolls back the *sql.Tx itself.
//
// The store has one writer connection, so while the returned transaction
// is open every other write through the Store (InTx, Declare, Claim, Ack,
// ProcessDueTimers, Migrate, another BeginTx) waits for it; never call
// them on the same goroutine before ending the transaction. Reads through
// the Store are not blocked and see the committed state.
func (s *Store) BeginTx(ctx context.Context) (*sql.Tx, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: begin: %w", mapErr(err))
	}
	return tx, nil
}

// write runs fn in one write transaction on the writer connection and
// commits it when fn returns nil; otherwise, or when fn panics, it rolls
// back and passes the error (or panic) on.
func (s *Store) write(ctx context.Context, fn func(c txConn) error) error {
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", mapErr(err))
	}
	committed := false
	defer func() {
		if !committed {
			_ = sqlTx.Rollback()
		}
	}()
	if err := fn(s.writerConn(sqlTx)); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return fmt.Errorf("sqlite: commit: %w", mapErr(err))
	}
	committed = true
	return nil
}

// InTx runs fn in one write transaction (BEGIN IMMEDIATE on the writer
// connection), as record.Store documents: when fn returns nil the
// transaction commits; when it returns an error or panics, it rolls back
// and the error (or panic) is passed on. Transactions of one Store run one
// after another; InTx waits for the writer connection or until ctx is
// done. A busy database (another Store or process holding the lock past
// the busy timeout) yields an error matching storage.ErrRetryable. The Tx
// handed to fn fails with ErrTxDone once InTx has returned. A nil fn is an
// *itsm.ValidationError.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx record.Tx) error) error {
	if fn == nil {
		return itsm.NewValidationError("transaction", "fn", "must not be nil")
	}
	var t *tx
	defer func() {
		if t != nil {
			t.done.Store(true)
		}
	}()
	return s.write(ctx, func(c txConn) error {
		t = s.newTx(c)
		err := fn(ctx, t)
		t.done.Store(true)
		return err
	})
}

// Claim hands up to limit outbox messages to consumer for lease, as
// record.Store documents, in one write transaction: one statement takes
// the consumer's oldest messages that it has neither acknowledged nor
// buried and that hold no live lease (one whose end lies after now, as
// Claim or Defer set it), so concurrent
// claimers never get the same message. Arguments are checked with
// record.CheckClaim (an *itsm.ValidationError). Each Message carries its
// Attempts. The claim scans the outbox from its first message, so its
// cost grows with the messages consumer has acknowledged.
func (s *Store) Claim(ctx context.Context, consumer string, now time.Time, lease time.Duration, limit int) ([]record.Message, error) {
	if err := record.CheckClaim(consumer, now, lease, limit); err != nil {
		return nil, err
	}
	var out []record.Message
	err := s.write(ctx, func(c txConn) (err error) {
		out, err = claim(ctx, c, consumer, now, lease, limit)
		return err
	})
	return out, err
}

// Ack acknowledges messages for consumer, as record.Store documents, in
// one write transaction: an ID that is not in the outbox is an
// *itsm.NotFoundError (Kind "outbox message") and then nothing of the
// call is acknowledged. A message need not be claimed to be acknowledged.
// A consumer name that is empty or longer than record.MaxIDLen is an
// *itsm.ValidationError.
func (s *Store) Ack(ctx context.Context, consumer string, ids ...int64) error {
	if err := checkConsumer(consumer); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	return s.write(ctx, func(c txConn) error { return ack(ctx, c, consumer, ids) })
}

// Join returns a record.Store that works inside tx, a transaction the
// application holds (see BeginTx): its reads go through tx and see tx's
// uncommitted writes, and its InTx, Claim, Ack and Declare run inside tx
// under a SAVEPOINT, so that a failed call rolls back only its own writes
// and leaves tx usable. Nothing is committed until the application commits
// tx; rolling tx back discards the record changes with the application's
// own. The returned store shares the Store's declared kinds; it must not
// be used after tx ends, nor from several goroutines at once (a *sql.Tx
// runs one statement at a time).
func (s *Store) Join(tx *sql.Tx) record.Store {
	// No prepared statements: tx may come from another *sql.DB, whose
	// transactions cannot use this store's statements.
	return &joined{reader: reader{q: txConn{tx: tx}, reg: &s.reg}, s: s, tx: tx}
}

// joined is the record.Store of Store.Join.
type joined struct {
	reader
	s  *Store
	tx *sql.Tx
}

// savepoint runs fn inside the joined transaction, under a savepoint that
// is released when fn returns nil and rolled back when it returns an
// error or panics.
func (j *joined) savepoint(ctx context.Context, fn func() error) (err error) {
	name := "itsmkit_join_" + strconv.FormatUint(j.s.savepoints.Add(1), 10)
	if _, err := j.tx.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
		return fmt.Errorf("sqlite: savepoint: %w", mapErr(err))
	}
	released := false
	defer func() {
		if !released {
			// Undo fn's writes; the application's transaction goes on.
			// context.WithoutCancel: the rollback must run even when ctx
			// is done.
			bg := context.WithoutCancel(ctx)
			_, rbErr := j.tx.ExecContext(bg, "ROLLBACK TO "+name)
			_, relErr := j.tx.ExecContext(bg, "RELEASE "+name)
			if err != nil && (rbErr != nil || relErr != nil) {
				err = errors.Join(err, fmt.Errorf("sqlite: roll back to savepoint: %w", errors.Join(rbErr, relErr)))
			}
		}
	}()
	if err := fn(); err != nil {
		return err
	}
	if _, err := j.tx.ExecContext(ctx, "RELEASE "+name); err != nil {
		return fmt.Errorf("sqlite: release savepoint: %w", mapErr(err))
	}
	released = true
	return nil
}

// Declare creates the attribute indexes inside the joined transaction and
// declares the kinds to the Store once they exist.
func (j *joined) Declare(ctx context.Context, schemas ...*record.Schema) error {
	if err := checkSchemas(schemas); err != nil {
		return err
	}
	if ddl := indexDDL(schemas); len(ddl) > 0 {
		if err := j.savepoint(ctx, func() error { return execAll(ctx, j.reader.q, ddl) }); err != nil {
			return err
		}
	}
	return j.s.reg.Declare(schemas...)
}

// InTx runs fn inside the joined transaction, under a savepoint.
func (j *joined) InTx(ctx context.Context, fn func(ctx context.Context, tx record.Tx) error) error {
	if fn == nil {
		return itsm.NewValidationError("transaction", "fn", "must not be nil")
	}
	t := j.s.newTx(j.reader.q)
	defer t.done.Store(true)
	return j.savepoint(ctx, func() error {
		err := fn(ctx, t)
		t.done.Store(true)
		return err
	})
}

// Claim claims messages inside the joined transaction.
func (j *joined) Claim(ctx context.Context, consumer string, now time.Time, lease time.Duration, limit int) ([]record.Message, error) {
	if err := record.CheckClaim(consumer, now, lease, limit); err != nil {
		return nil, err
	}
	var out []record.Message
	err := j.savepoint(ctx, func() (err error) {
		out, err = claim(ctx, j.reader.q, consumer, now, lease, limit)
		return err
	})
	return out, err
}

// Ack acknowledges messages inside the joined transaction.
func (j *joined) Ack(ctx context.Context, consumer string, ids ...int64) error {
	if err := checkConsumer(consumer); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	return j.savepoint(ctx, func() error { return ack(ctx, j.reader.q, consumer, ids) })
}

// read runs fn in a read transaction on a reader connection, so that its
// queries see one committed snapshot.
func (s *Store) read(ctx context.Context, fn func(r reader) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin read: %w", mapErr(err))
	}
	defer func() { _ = t.Rollback() }()
	return fn(reader{q: s.readerConn(t), reg: &s.reg})
}

// readValue runs one read method of reader in a read transaction.
func readValue[T any](ctx context.Context, s *Store, fn func(r reader) (T, error)) (T, error) {
	var out T
	err := s.read(ctx, func(r reader) (err error) { out, err = fn(r); return err })
	return out, err
}

// Get returns the committed record ref names with its SLA summary, or an
// *itsm.NotFoundError; a malformed ref is an *itsm.ValidationError.
func (s *Store) Get(ctx context.Context, ref record.Ref) (*record.Record, error) {
	return readValue(ctx, s, func(r reader) (*record.Record, error) { return r.Get(ctx, ref) })
}

// GetByNumber returns the committed record of kind with number, or an
// *itsm.NotFoundError whose ID is the number; a malformed kind or an
// empty number is an *itsm.ValidationError.
func (s *Store) GetByNumber(ctx context.Context, kind, number string) (*record.Record, error) {
	return readValue(ctx, s, func(r reader) (*record.Record, error) { return r.GetByNumber(ctx, kind, number) })
}

// List returns one page of the committed records that match q (the rules
// of record.Query.Match, in SQL built by sqlrec.List), each with its SLA
// summary, in q's order from just after q.After. A query its declared
// kind's Schema.CheckQuery refuses, or of an undeclared kind, is an
// *itsm.ValidationError.
func (s *Store) List(ctx context.Context, q record.Query) (record.Page, error) {
	return readValue(ctx, s, func(r reader) (record.Page, error) { return r.List(ctx, q) })
}

// Journal returns the committed journal of the record, oldest first;
// empty when there is none.
func (s *Store) Journal(ctx context.Context, ref record.Ref) ([]record.Entry, error) {
	return readValue(ctx, s, func(r reader) ([]record.Entry, error) { return r.Journal(ctx, ref) })
}

// Links returns the committed links of which the record is either end, in
// the order they were added; empty when there are none.
func (s *Store) Links(ctx context.Context, ref record.Ref) ([]record.Link, error) {
	return readValue(ctx, s, func(r reader) ([]record.Link, error) { return r.Links(ctx, ref) })
}

// Timers returns the committed SLA timers of the record in the order they
// were first saved, with unbound calendars; empty when there are none.
func (s *Store) Timers(ctx context.Context, ref record.Ref) ([]record.TimerRecord, error) {
	return readValue(ctx, s, func(r reader) ([]record.TimerRecord, error) { return r.Timers(ctx, ref) })
}

// TimersDue returns up to limit committed timers of any record whose
// NextWakeAt is set and not after before, earliest first (then by timer
// ID, record kind and record ID); a limit of 0 or less yields none.
func (s *Store) TimersDue(ctx context.Context, before time.Time, limit int) ([]record.TimerRecord, error) {
	return readValue(ctx, s, func(r reader) ([]record.TimerRecord, error) { return r.TimersDue(ctx, before, limit) })
}

// History returns the committed audit events of the record in sequence
// order; empty when there are none.
func (s *Store) History(ctx context.Context, ref record.Ref) ([]itsm.Event, error) {
	return readValue(ctx, s, func(r reader) ([]itsm.Event, error) { return r.History(ctx, ref) })
}

// ReadOutbox returns up to limit committed outbox messages after the
// cursor, in commit order (the single writer commits in ID order), and
// the cursor to read on from; see record.Reader. A malformed cursor is an
// *itsm.ValidationError.
func (s *Store) ReadOutbox(ctx context.Context, after string, limit int) (record.OutboxPage, error) {
	return readValue(ctx, s, func(r reader) (record.OutboxPage, error) { return r.ReadOutbox(ctx, after, limit) })
}

// connectWriter makes the writer's connection. Setting up a connection can
// meet a lock that SQLite does not wait for: switching a new file to WAL
// needs it exclusively, and so does recovering the WAL after a crash. So
// while the error is retryable, it tries again until busy has passed, as a
// busy handler would.
func connectWriter(ctx context.Context, w *sql.DB, busy time.Duration) error {
	deadline := time.Now().Add(busy)
	for {
		err := mapErr(w.PingContext(ctx))
		if err == nil || !storage.IsRetryable(err) || !time.Now().Before(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
