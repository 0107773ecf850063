package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
	"github.com/itsmkit/itsmkit/storage/internal/sqlrec"
)

// DefaultSchema is the schema a Store uses when WithSchema is not given.
const DefaultSchema = "public"

// ErrTxDone is returned by every method of a transaction's record.Tx
// called after InTx has returned, which the record.Store contract
// forbids; nothing is read or written.
var ErrTxDone = errors.New("postgres: transaction has already committed or rolled back")

// Store keeps work records of every kind, their journals, links, SLA
// timers, audit trails, outbox and number sequences in PostgreSQL. It
// implements record.Store and storage.TimerProcessor. Create it with Open
// (or New over a pool of your own), call Migrate once per schema version
// and Declare for the kinds it stores, and Close it when done. A Store is
// safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool
	schema  string
	cals    sla.CalendarSource
	q       queries
	reg     record.Registry
	sealKey []byte // WithAuditSeal
}

var (
	_ record.Store           = (*Store)(nil)
	_ storage.TimerProcessor = (*Store)(nil)
)

// Option configures a Store made by Open or New.
type Option func(*options)

type options struct {
	schema   string
	cals     sla.CalendarSource
	poolConf func(*pgxpool.Config)
	sealKey  []byte
}

// WithSchema makes the Store create its tables in, and read them from, the
// schema called name instead of DefaultSchema. The name must be a plain
// lower-case SQL identifier: a letter or underscore, then letters, digits
// or underscores, at most 63 bytes; Open and New refuse any other with an
// *itsm.ValidationError. Migrate creates the schema when it is missing.
// Several Stores (and applications) can share one database this way.
func WithSchema(name string) Option { return func(o *options) { o.schema = name } }

// WithCalendars sets the calendar source that ProcessDueTimers binds timers
// with, for timers whose policy names a business calendar, and that
// PutTimers binds a copy of an unbound timer with to record its crossings.
// 24×7 timers bind themselves and need none. A due timer whose calendar
// the source does not know is skipped by ProcessDueTimers
// (storage.Batch.Skipped) and named by UnknownCalendars, so that a
// storage.Worker refuses to start; PutTimers saves such a timer without
// recording its crossings.
func WithCalendars(src sla.CalendarSource) Option { return func(o *options) { o.cals = src } }

// WithPoolConfig lets Open adjust the pgxpool configuration parsed from the
// URL (pool size, connection lifetime, tracing) before the pool is made. It
// has no effect on New.
func WithPoolConfig(fn func(*pgxpool.Config)) Option { return func(o *options) { o.poolConf = fn } }

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

func buildOptions(opts []Option) (options, error) {
	o := options{schema: DefaultSchema}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if !identRE.MatchString(o.schema) {
		return o, itsm.NewValidationError("postgres store", "schema",
			"%q is not a lower-case SQL identifier of at most 63 bytes", o.schema)
	}
	if err := storage.CheckSealKey(o.sealKey); err != nil {
		return o, err
	}
	return o, nil
}

// Open connects to the database at url (a PostgreSQL URL or keyword/value
// string, as pgxpool.ParseConfig accepts, including pool_* parameters) and
// returns a Store over a new connection pool, which Close closes. It checks
// the connection before returning. It does not create or migrate any
// table: call Migrate, then Declare.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	if o.poolConf != nil {
		o.poolConf(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", mapError(err, "", ""))
	}
	return newStore(pool, true, o), nil
}

// New returns a Store over pool, which the caller keeps owning: Close does
// not close it. WithPoolConfig has no effect here. The Store knows no kind
// until Declare.
func New(pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, itsm.NewValidationError("postgres store", "pool", "must not be nil")
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	return newStore(pool, false, o), nil
}

func newStore(pool *pgxpool.Pool, own bool, o options) *Store {
	return &Store{pool: pool, ownPool: own, schema: o.schema, cals: o.cals, q: newQueries(o.schema), sealKey: o.sealKey}
}

// Close closes the connection pool when Open made it, waiting for
// connections in use to be returned. It does nothing for a Store made by
// New.
func (s *Store) Close() {
	if s.ownPool {
		s.pool.Close()
	}
}

// Schema returns the name of the schema the Store works in.
func (s *Store) Schema() string { return s.schema }

// Pool returns the connection pool the Store uses, for the application's
// own queries and transactions (see Join).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// txOptions is the isolation of the transactions the Store begins with
// pgx (migrations, Declare, the timer worker): READ COMMITTED, like InTx's
// (see beginSQL). See the package documentation for why it is enough.
var txOptions = pgx.TxOptions{IsoLevel: pgx.ReadCommitted}

// rollbackTimeout bounds a rollback, which runs even when the caller's
// context is done.
const rollbackTimeout = 5 * time.Second

// Declare makes kinds known to the Store, as record.Store documents, and
// creates what the database needs for them when it is missing: the kind's
// number sequence (records_number_<kind>), and for each filterable
// attribute its partial expression index (sqlrec.AttrIndexes) and a
// statistics object on its expression (rstat_<kind>_<attribute>), after
// which it analyzes the records table. It runs in one
// transaction under the advisory lock Migrate takes, so several processes
// may declare the same kinds at once; objects that exist already are left
// alone, so that declaring costs no lock on the records table once they
// exist. Building a new attribute index on a large table holds writes to
// records until it is built. A nil schema is an *itsm.ValidationError and
// then nothing is declared; the schema must be migrated first.
//
// A Store made by Open or New knows no kind until Declare; each Store (and
// so each process) declares the kinds it works with.
func (s *Store) Declare(ctx context.Context, schemas ...*record.Schema) error {
	for i, sc := range schemas {
		if sc == nil {
			return itsm.NewValidationError("record schemas", "["+strconv.Itoa(i)+"]", "must not be nil")
		}
	}
	if len(schemas) == 0 {
		return nil
	}
	if err := s.createObjects(ctx, schemas); err != nil {
		return err
	}
	return s.reg.Declare(schemas...)
}

// dbObject is one object of the schema (a relation or a statistics
// object) that Declare creates when it is missing.
type dbObject struct {
	name string // unquoted, in the Store's schema
	ddl  string
	// stats marks a statistics object, which the records table must be
	// analyzed for.
	stats bool
}

// sequenceDDL returns the statement that creates the number sequence of
// kind, a name record.ValidKind accepts.
func (s *Store) sequenceDDL(kind string) string {
	return "CREATE SEQUENCE IF NOT EXISTS " + s.q.schema + "." + quoteIdent(sequenceName(kind)) + " MINVALUE 1"
}

// createObjects creates what schemas need that does not exist yet, in one
// transaction under the migration lock: the number sequences, and for
// each filterable attribute its index and a statistics object on its
// expression. (The planner reads no statistics of a partial index, so
// without the statistics object it would guess how many records a range
// of the attribute selects, and sort thousands of them where walking the
// List order finds a page at once.)
func (s *Store) createObjects(ctx context.Context, schemas []*record.Schema) error {
	var objs []dbObject
	for _, sc := range schemas {
		objs = append(objs, dbObject{name: sequenceName(sc.Kind()), ddl: s.sequenceDDL(sc.Kind())})
		for _, a := range sc.Attributes() {
			if a.Filterable {
				objs = append(objs, dbObject{name: sqlrec.AttrIndexName(sc.Kind(), a.Name), ddl: sqlrec.AttrIndexDDL(s.q.d, sc.Kind(), a)})
				stat := attrStatsName(sc.Kind(), a.Name)
				objs = append(objs, dbObject{name: stat, stats: true, ddl: "CREATE STATISTICS IF NOT EXISTS " + s.q.schema + "." + stat +
					" ON (" + s.q.d.AttrExpr("doc", a) + ") FROM " + s.q.d.Table("records")})
			}
		}
	}
	return s.createMissing(ctx, objs)
}

// attrStatsName returns the name of the statistics object of attribute
// attr of kind: sqlrec.AttrIndexName with "rstat_" for "rattr_".
func attrStatsName(kind, attr string) string {
	return "rstat_" + strings.TrimPrefix(sqlrec.AttrIndexName(kind, attr), "rattr_")
}

// createMissing creates those of objs that do not exist in the schema.
func (s *Store) createMissing(ctx context.Context, objs []dbObject) error {
	fail := func(err error) error { return fmt.Errorf("postgres: declare: %w", mapError(err, "", "")) }
	names := make([]string, len(objs))
	for i, o := range objs {
		names[i] = o.name
	}
	missing := func(db querier) ([]dbObject, error) {
		rows, err := db.Query(ctx, s.q.existingObjects, s.schema, names)
		if err != nil {
			return nil, err
		}
		have, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		var out []dbObject
		for _, o := range objs {
			found := false
			for _, h := range have {
				found = found || h == o.name
			}
			if !found {
				out = append(out, o)
			}
		}
		return out, nil
	}
	// Look first without any lock: usually everything exists.
	todo, err := missing(s.pool)
	if err != nil {
		return fail(err)
	}
	if len(todo) == 0 {
		return nil
	}
	tx, err := s.pool.BeginTx(ctx, txOptions)
	if err != nil {
		return fail(err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey(s.schema)); err != nil {
		return fail(err)
	}
	if todo, err = missing(tx); err != nil {
		return fail(err)
	}
	analyze := false
	for _, o := range todo {
		if _, err := tx.Exec(ctx, o.ddl); err != nil {
			return fail(err)
		}
		analyze = analyze || o.stats
	}
	if analyze {
		// Fill the new statistics objects (ANALYZE blocks no reads or
		// writes).
		if _, err := tx.Exec(ctx, "ANALYZE "+s.q.d.Table("records")); err != nil {
			return fail(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fail(err)
	}
	return nil
}

// InTx runs fn in one READ COMMITTED transaction, as record.Store
// documents: when fn returns nil the transaction commits; when fn returns
// an error or panics it rolls back and the error is returned unchanged (the
// panic goes on). A failed commit returns an error. When the connection
// was lost before COMMIT was sent, or the server refused a statement
// before it, the error matches storage.ErrRetryable or says what was
// refused, and nothing was committed. When it was lost (or ctx ended)
// after COMMIT was sent and before the server's answer, the error matches
// storage.ErrUnknownOutcome and never ErrRetryable: the transaction may
// have been committed, so doing it again may do it twice. A nil fn is an
// *itsm.ValidationError.
//
// To save round trips, BEGIN goes to the server with the transaction's
// first statement, and the writes that need no answer are sent with the
// next statement or with COMMIT: Create's INSERT (after its check),
// AppendEvents (once the record's audit head is locked), PutTimers and
// AppendJournal (once the transaction holds their records). Their
// validation errors are returned at once, and they refuse beforehand what
// the database would refuse; should a deferred write fail all the same (a
// lost connection, another transaction storing the same ID meanwhile),
// the error is returned by the call that sends it, or by InTx, and nothing
// of the transaction is committed.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx record.Tx) error) error {
	if fn == nil {
		return itsm.NewValidationError("transaction", "fn", "must not be nil")
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", mapError(err, "", ""))
	}
	return runTx(ctx, s, &lazyTx{conn: conn, begin: beginSQL}, fn)
}

// runTx runs fn over db (a transaction or a savepoint) and commits or
// rolls it back.
func runTx(ctx context.Context, s *Store, db txBackend, fn func(ctx context.Context, tx record.Tx) error) (err error) {
	t := &txn{s: s, db: db}
	finished := false
	defer func() {
		t.end()
		if !finished {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
			defer cancel()
			db.rollback(rctx)
		}
		db.release()
	}()
	if err := fn(ctx, t); err != nil {
		return err
	}
	t.queueLog()
	pending := t.end()
	if err := db.commit(ctx, pending); err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		db.rollback(rctx)
		finished = true
		if errors.Is(err, pgx.ErrTxCommitRollback) {
			return fmt.Errorf("postgres: commit: the transaction was rolled back after an earlier failed statement: %w", err)
		}
		if errors.Is(err, storage.ErrUnknownOutcome) {
			return fmt.Errorf("postgres: commit: %w", err)
		}
		return fmt.Errorf("postgres: commit: %w", mapError(err, "", ""))
	}
	finished = true
	return nil
}

// Join returns a record.Store that works inside tx, a transaction the
// application began (on this Store's pool or any connection to the same
// database) and will commit or roll back itself. Its reads go through tx
// and see tx's uncommitted writes; its InTx runs fn inside a savepoint of
// tx, released when fn returns nil and rolled back to when fn fails, so a
// failed operation leaves tx usable and the rest of tx intact; Claim and
// Ack run in tx too, so that acknowledging a message commits with the
// application's own work. Nothing is committed until the application
// commits tx, and nothing is kept if it rolls back. The joined store
// shares the Store's declared kinds; its Declare declares through the
// Store, outside tx (declare kinds before joining).
//
// A pgx.Tx is not safe for concurrent use: the returned store serialises
// its own calls (so fn, inside the returned store's InTx, must use the tx
// it is given, never the returned store itself, which would wait for fn),
// and the application must not use tx at the same time. The store must not
// be used after tx ends. Tables are named with the Store's schema, whatever
// tx's search_path is.
func (s *Store) Join(tx pgx.Tx) record.Store { return &joined{s: s, tx: tx} }

// joined is the store returned by Join.
type joined struct {
	s  *Store
	mu sync.Mutex
	tx pgx.Tx
}

var _ record.Store = (*joined)(nil)

func (j *joined) read(fn func(db querier) error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return fn(j.tx)
}

func (j *joined) Declare(ctx context.Context, schemas ...*record.Schema) error {
	return j.s.Declare(ctx, schemas...)
}

func (j *joined) InTx(ctx context.Context, fn func(ctx context.Context, tx record.Tx) error) error {
	if fn == nil {
		return itsm.NewValidationError("transaction", "fn", "must not be nil")
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	sp, err := j.tx.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: savepoint: %w", mapError(err, "", ""))
	}
	return runTx(ctx, j.s, savepoint{sp}, fn)
}

func (j *joined) Claim(ctx context.Context, consumer string, now time.Time, lease time.Duration, limit int) (out []record.Message, err error) {
	err = j.read(func(db querier) error { out, err = j.s.claim(ctx, db, consumer, now, lease, limit); return err })
	return out, err
}

func (j *joined) Ack(ctx context.Context, consumer string, ids ...int64) error {
	return j.read(func(db querier) error { return j.s.ack(ctx, db, consumer, ids) })
}

func (j *joined) Get(ctx context.Context, ref record.Ref) (rec *record.Record, err error) {
	err = j.read(func(db querier) error { rec, err = j.s.get(ctx, db, ref); return err })
	return rec, err
}

func (j *joined) GetByNumber(ctx context.Context, kind, number string) (rec *record.Record, err error) {
	err = j.read(func(db querier) error { rec, err = j.s.getByNumber(ctx, db, kind, number); return err })
	return rec, err
}

func (j *joined) List(ctx context.Context, q record.Query) (p record.Page, err error) {
	err = j.read(func(db querier) error { p, err = j.s.list(ctx, db, q, nil); return err })
	return p, err
}

func (j *joined) Journal(ctx context.Context, ref record.Ref) (out []record.Entry, err error) {
	err = j.read(func(db querier) error { out, err = j.s.journal(ctx, db, ref); return err })
	return out, err
}

func (j *joined) Links(ctx context.Context, ref record.Ref) (out []record.Link, err error) {
	err = j.read(func(db querier) error { out, err = j.s.links(ctx, db, ref); return err })
	return out, err
}

func (j *joined) Timers(ctx context.Context, ref record.Ref) (out []record.TimerRecord, err error) {
	err = j.read(func(db querier) error { out, err = j.s.timers(ctx, db, ref); return err })
	return out, err
}

func (j *joined) TimersDue(ctx context.Context, before time.Time, limit int) (out []record.TimerRecord, err error) {
	err = j.read(func(db querier) error { out, err = j.s.timersDue(ctx, db, before, limit); return err })
	return out, err
}

func (j *joined) History(ctx context.Context, ref record.Ref) (out []itsm.Event, err error) {
	err = j.read(func(db querier) error { out, err = j.s.history(ctx, db, ref); return err })
	return out, err
}

func (j *joined) ReadOutbox(ctx context.Context, after string, limit int) (p record.OutboxPage, err error) {
	err = j.read(func(db querier) error { p, err = j.s.readOutbox(ctx, db, after, limit); return err })
	return p, err
}

// querier is what reads and writes need: a pool, a transaction or a
// savepoint.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Store reads run on the pool: each is one statement, so it sees one
// committed snapshot; List, which takes two, runs them in one read-only
// REPEATABLE READ transaction.

// Get returns the committed record ref names with its SLA summary, or an
// *itsm.NotFoundError. A malformed ref is an *itsm.ValidationError.
func (s *Store) Get(ctx context.Context, ref record.Ref) (*record.Record, error) {
	return s.get(ctx, s.pool, ref)
}

// GetByNumber returns the committed record of kind with number, or an
// *itsm.NotFoundError whose ID is the number. A malformed kind is an
// *itsm.ValidationError.
func (s *Store) GetByNumber(ctx context.Context, kind, number string) (*record.Record, error) {
	return s.getByNumber(ctx, s.pool, kind, number)
}

// List returns one page of the committed records that match q (the rules
// of record.Query.Match, expressed in SQL by sqlrec.List), each with its
// SLA summary, in q's order from just after q.After. A query that does not
// pass the CheckQuery of its declared kind is an *itsm.ValidationError.
// The page and its summaries are read from one snapshot.
func (s *Store) List(ctx context.Context, q record.Query) (record.Page, error) {
	sc, err := s.checkQuery(q)
	if err != nil {
		return record.Page{}, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return record.Page{}, mapError(err, "", "")
	}
	l := &lazyTx{conn: conn, begin: beginReadSQL}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		l.rollback(rctx)
		l.release()
	}()
	return s.listChecked(ctx, l, sc, q, l.queryCommit)
}

// Journal returns the committed journal of the record ref names, oldest
// first; an empty slice when it has none.
func (s *Store) Journal(ctx context.Context, ref record.Ref) ([]record.Entry, error) {
	return s.journal(ctx, s.pool, ref)
}

// Links returns the committed links of which the record ref names is
// either end, in the order they were added; an empty slice when it has
// none.
func (s *Store) Links(ctx context.Context, ref record.Ref) ([]record.Link, error) {
	return s.links(ctx, s.pool, ref)
}

// Timers returns the committed SLA timers of the record ref names in the
// order they were first saved, each with a freshly decoded Timer whose
// named calendar is unbound; an empty slice when there are none.
func (s *Store) Timers(ctx context.Context, ref record.Ref) ([]record.TimerRecord, error) {
	return s.timers(ctx, s.pool, ref)
}

// TimersDue returns up to limit committed timers of any record whose
// NextWakeAt is set and not after before, earliest first, then by timer
// ID, then by record kind and ID. A limit of 0 or less yields an empty
// slice. It does not claim the timers; see ProcessDueTimers.
func (s *Store) TimersDue(ctx context.Context, before time.Time, limit int) ([]record.TimerRecord, error) {
	return s.timersDue(ctx, s.pool, before, limit)
}

// History returns the committed audit events of the record ref names in
// sequence order; an empty slice when it has none.
func (s *Store) History(ctx context.Context, ref record.Ref) ([]itsm.Event, error) {
	return s.history(ctx, s.pool, ref)
}

// ReadOutbox returns up to limit committed outbox messages after the
// cursor after (empty: from the first) and the cursor to read on from, as
// record.Reader documents. It hands out only messages of transactions
// older than every transaction still running, so that a message committed
// later never lands before a cursor already handed out: a message shows
// once every transaction that began writing before its own has ended (see
// the package documentation). A malformed cursor is an
// *itsm.ValidationError; a limit of 0 or less yields an empty page with
// the cursor given.
func (s *Store) ReadOutbox(ctx context.Context, after string, limit int) (record.OutboxPage, error) {
	return s.readOutbox(ctx, s.pool, after, limit)
}

// Claim leases up to limit outbox messages to consumer, as record.Store
// documents, in one statement: the oldest messages (by ID) that consumer
// has neither acknowledged nor buried and that no instance of it holds a
// lease on that lasts beyond now (as Claim or Defer set it). Each message's lease then lasts until now + lease and
// its Attempts counts this claim. Two instances claiming at once never get
// the same message. Arguments are checked with record.CheckClaim.
func (s *Store) Claim(ctx context.Context, consumer string, now time.Time, lease time.Duration, limit int) ([]record.Message, error) {
	return s.claim(ctx, s.pool, consumer, now, lease, limit)
}

// Ack acknowledges messages for consumer in one statement, as
// record.Store documents: an ID that is not in the outbox is an
// *itsm.NotFoundError (Kind "outbox message") and then nothing is
// acknowledged. A malformed consumer name is an *itsm.ValidationError.
func (s *Store) Ack(ctx context.Context, consumer string, ids ...int64) error {
	return s.ack(ctx, s.pool, consumer, ids)
}
