package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/storage"
)

// DefaultSchema is the schema a Store uses when WithSchema is not given.
const DefaultSchema = "public"

// ErrTxDone is returned by every method of a transaction's incident.Tx
// called after InTx has returned, which the incident.Store contract
// forbids; nothing is read or written.
var ErrTxDone = errors.New("postgres: transaction has already committed or rolled back")

// Store keeps incidents, their SLA timers, their audit trail and number
// sequences in PostgreSQL. It implements incident.Store and
// storage.TimerProcessor. Create it with Open (or New over a pool of your
// own), call Migrate once per schema version, and Close it when done. A
// Store is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool
	schema  string
	cals    sla.CalendarSource
	q       queries
}

var (
	_ incident.Store         = (*Store)(nil)
	_ storage.TimerProcessor = (*Store)(nil)
)

// Option configures a Store made by Open or New.
type Option func(*options)

type options struct {
	schema   string
	cals     sla.CalendarSource
	poolConf func(*pgxpool.Config)
}

// WithSchema makes the Store create its tables in, and read them from, the
// schema called name instead of DefaultSchema. The name must be a plain
// lower-case SQL identifier: a letter or underscore, then letters, digits
// or underscores, at most 63 bytes; Open and New refuse any other with an
// *itsm.ValidationError. Migrate creates the schema when it is missing.
// Several Stores (and applications) can share one database this way.
func WithSchema(name string) Option { return func(o *options) { o.schema = name } }

// WithCalendars sets the calendar source that ProcessDueTimers binds timers
// with, for timers whose policy names a business calendar. 24×7 timers bind
// themselves and need none. A due timer whose calendar the source does not
// know is left untouched and reported in ProcessDueTimers' error.
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
	return o, nil
}

// Open connects to the database at url (a PostgreSQL URL or keyword/value
// string, as pgxpool.ParseConfig accepts, including pool_* parameters) and
// returns a Store over a new connection pool, which Close closes. It checks
// the connection before returning. It does not create or migrate any
// table: call Migrate.
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
// not close it. WithPoolConfig has no effect here.
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
	return &Store{pool: pool, ownPool: own, schema: o.schema, cals: o.cals, q: newQueries(o.schema)}
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
// pgx (migrations, the timer worker): READ COMMITTED, like InTx's (see
// beginSQL). See the package documentation for why it is enough.
var txOptions = pgx.TxOptions{IsoLevel: pgx.ReadCommitted}

// rollbackTimeout bounds a rollback, which runs even when the caller's
// context is done.
const rollbackTimeout = 5 * time.Second

// InTx runs fn in one READ COMMITTED transaction, as incident.Store
// documents: when fn returns nil the transaction commits; when fn returns
// an error or panics it rolls back and the error is returned unchanged (the
// panic goes on). A failed commit returns an error; after a lost
// connection it matches storage.ErrRetryable, and nothing was committed. A
// nil fn is an *itsm.ValidationError.
//
// To save round trips, BEGIN goes to the server with the transaction's
// first statement, and the writes of PutTimers (once the transaction has
// created or updated the timers' incidents) and AppendEvents (once the
// record's audit head is locked) are sent with the next statement or with
// COMMIT. Their validation errors are returned at once; a database error
// of such a deferred write (such as a string with a NUL byte) is returned
// by the call that sends it, or by InTx. Either way nothing of the
// transaction is committed.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx incident.Tx) error) error {
	if fn == nil {
		return itsm.NewValidationError("transaction", "fn", "must not be nil")
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", mapError(err, "", ""))
	}
	return runTx(ctx, s, &lazyTx{conn: conn}, fn)
}

// runTx runs fn over db (a transaction or a savepoint) and commits or
// rolls it back.
func runTx(ctx context.Context, s *Store, db txBackend, fn func(ctx context.Context, tx incident.Tx) error) (err error) {
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
	pending := t.end()
	if err := db.commit(ctx, pending); err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		db.rollback(rctx)
		finished = true
		if errors.Is(err, pgx.ErrTxCommitRollback) {
			return fmt.Errorf("postgres: commit: the transaction was rolled back after an earlier failed statement: %w", err)
		}
		return fmt.Errorf("postgres: commit: %w", mapError(err, "", ""))
	}
	finished = true
	return nil
}

// Join returns an incident.Store that works inside tx, a transaction the
// application began (on this Store's pool or any connection to the same
// database) and will commit or roll back itself. Its reads go through tx
// and see tx's uncommitted writes; its InTx runs fn inside a savepoint of
// tx, released when fn returns nil and rolled back to when fn fails, so a
// failed operation leaves tx usable and the rest of tx intact. Nothing is
// committed until the application commits tx, and nothing is kept if it
// rolls back.
//
// A pgx.Tx is not safe for concurrent use: the returned store serialises
// its own calls (so fn, inside the returned store's InTx, must use the tx
// it is given, never the returned store itself, which would wait for fn),
// and the application must not use tx at the same time. The store must not
// be used after tx ends. Tables are named with the Store's
// schema, whatever tx's search_path is.
func (s *Store) Join(tx pgx.Tx) incident.Store { return &joined{s: s, tx: tx} }

// joined is the store returned by Join.
type joined struct {
	s  *Store
	mu sync.Mutex
	tx pgx.Tx
}

func (j *joined) read(ctx context.Context, fn func(db querier) error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return fn(j.tx)
}

func (j *joined) InTx(ctx context.Context, fn func(ctx context.Context, tx incident.Tx) error) error {
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

func (j *joined) Get(ctx context.Context, id string) (inc *incident.Incident, err error) {
	err = j.read(ctx, func(db querier) error { inc, err = j.s.get(ctx, db, id); return err })
	return inc, err
}

func (j *joined) GetByNumber(ctx context.Context, number string) (inc *incident.Incident, err error) {
	err = j.read(ctx, func(db querier) error { inc, err = j.s.getByNumber(ctx, db, number); return err })
	return inc, err
}

func (j *joined) List(ctx context.Context, q incident.Query) (p incident.Page, err error) {
	err = j.read(ctx, func(db querier) error { p, err = j.s.list(ctx, db, q); return err })
	return p, err
}

func (j *joined) Children(ctx context.Context, id string) (out []*incident.Incident, err error) {
	err = j.read(ctx, func(db querier) error { out, err = j.s.children(ctx, db, id); return err })
	return out, err
}

func (j *joined) Timers(ctx context.Context, id string) (out []incident.TimerRecord, err error) {
	err = j.read(ctx, func(db querier) error { out, err = j.s.timers(ctx, db, id); return err })
	return out, err
}

func (j *joined) TimersDue(ctx context.Context, before time.Time, limit int) (out []incident.TimerRecord, err error) {
	err = j.read(ctx, func(db querier) error { out, err = j.s.timersDue(ctx, db, before, limit); return err })
	return out, err
}

func (j *joined) History(ctx context.Context, id string) (out []itsm.Event, err error) {
	err = j.read(ctx, func(db querier) error { out, err = j.s.history(ctx, db, id); return err })
	return out, err
}

func (j *joined) ResolvedBefore(ctx context.Context, t time.Time, limit int) (out []*incident.Incident, err error) {
	err = j.read(ctx, func(db querier) error { out, err = j.s.resolvedBefore(ctx, db, t, limit); return err })
	return out, err
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
// committed snapshot.

// Get returns the committed incident with id, or an *itsm.NotFoundError.
func (s *Store) Get(ctx context.Context, id string) (*incident.Incident, error) {
	return s.get(ctx, s.pool, id)
}

// GetByNumber returns the committed incident with number, or an
// *itsm.NotFoundError whose ID is the number.
func (s *Store) GetByNumber(ctx context.Context, number string) (*incident.Incident, error) {
	return s.getByNumber(ctx, s.pool, number)
}

// List returns one page of the committed incidents that match q (the rules
// of incident.Query.Match, expressed in SQL), ordered by OpenedAt then ID,
// starting after the cursor q.After. Page.Next is set only when more
// incidents match after the page. A malformed cursor yields an
// *itsm.ValidationError. Text matching uses ILIKE, which folds case as the
// database's collation does; for ASCII that is what Match does.
func (s *Store) List(ctx context.Context, q incident.Query) (incident.Page, error) {
	return s.list(ctx, s.pool, q)
}

// Children returns the committed incidents whose ParentID is id, oldest
// first (by OpenedAt, then ID); an empty slice when there are none.
func (s *Store) Children(ctx context.Context, id string) ([]*incident.Incident, error) {
	return s.children(ctx, s.pool, id)
}

// Timers returns the committed SLA timers of the incident with id in the
// order they were first saved, each with a freshly decoded Timer whose
// named calendar is unbound; an empty slice when there are none.
func (s *Store) Timers(ctx context.Context, id string) ([]incident.TimerRecord, error) {
	return s.timers(ctx, s.pool, id)
}

// TimersDue returns up to limit committed timers whose NextWakeAt is set
// and not after before, earliest first, then by timer ID, then by incident
// ID. A limit of 0 or less yields an empty slice. It does not claim the
// timers; see ProcessDueTimers.
func (s *Store) TimersDue(ctx context.Context, before time.Time, limit int) ([]incident.TimerRecord, error) {
	return s.timersDue(ctx, s.pool, before, limit)
}

// History returns the committed audit events of the incident with id in
// sequence order; an empty slice when it has none.
func (s *Store) History(ctx context.Context, id string) ([]itsm.Event, error) {
	return s.history(ctx, s.pool, id)
}

// ResolvedBefore returns up to limit committed incidents with ResolvedAt
// set and before t, ClosedAt zero and Major false, oldest resolution first
// and then by ID. A limit of 0 or less yields an empty slice.
func (s *Store) ResolvedBefore(ctx context.Context, t time.Time, limit int) ([]*incident.Incident, error) {
	return s.resolvedBefore(ctx, s.pool, t, limit)
}

// quoteIdent quotes a validated identifier.
func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
