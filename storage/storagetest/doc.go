// Package storagetest is the conformance suite of itsmkit's storage
// adapters. Every adapter (storage/memory, storage/sqlite,
// storage/postgres) runs the same checks from its own tests, over every
// record kind it is given, so that a practice behaves alike on each of
// them, in the way testing/fstest.TestFS checks fs.FS implementations. It
// imports no practice package: it generates its records from the
// schemas (record.Schema) it is given, and brings a kind of its own,
// CustomKind, with its own lifecycle.
//
// # Running it
//
// An adapter calls TestStore from an ordinary test, with a factory that
// returns a fresh, empty store, and the schemas to run over:
//
//	func TestConformance(t *testing.T) {
//		storagetest.TestStore(t, func(t *testing.T) record.Store {
//			t.Parallel() // only when stores share nothing
//			return memory.New()
//		}, incident.Schema(), storagetest.CustomKind())
//	}
//
// The suite runs each check as a subtest, named by its group, the kind
// under test and the check ("List/kind=work_order/Filter/State", so that
// go test -run selects them), and calls the factory once, first thing, in
// every subtest, with that subtest's *testing.T. The factory therefore
// decides how subtests run: it may call t.Parallel when stores are
// independent of each other, register t.Cleanup to drop a database or
// schema, or t.Skip when its database is not configured (for example
// when ITSM_TEST_POSTGRES_URL is unset). It must return a store that
// holds no records, journals, links, timers, events, outbox messages or
// number sequences; the suite declares the kinds it uses itself. With no
// schema, TestStore runs over CustomKind.
//
// TestTimerWorker checks the SLA crossings of an adapter that implements
// storage.TimerProcessor: recorded once, with their audit events and
// outbox messages, under concurrent workers and when timers are written,
// and timers on calendars the store does not know skipped and reported;
// WorkerCalendars gives the calendars its store must bind timers with.
// TestTimerScenarios replays the golden SLA timer scenarios of package
// sla through a store's timers.
//
// # What it checks
//
// The contract written on record.Store, record.Reader and record.Tx:
// versions and optimistic conflicts, duplicate IDs and numbers within a
// kind (and not across kinds), validation (record.CheckKeys,
// Schema.Check, undeclared kinds) that writes nothing and leaves the
// transaction usable, the kind's size limits (record.Limits: title,
// description, body, each journal entry, journal entries per record, also
// under concurrent appenders, and timer events per cycle, each accepted
// exactly at its limit and refused one above), typed errors
// (*itsm.NotFoundError with its kind and ID, *itsm.ConflictError,
// *itsm.ValidationError, *itsm.LimitError), round trips of
// every header field, attribute and body, copies, journals, links from
// both ends, SLA timers and the SLA summary that follows them, audit
// sequences, the outbox with its cursor and its claim and acknowledge
// API, number sequences, atomic rollback on error and on panic for every
// kind of write, isolation of uncommitted writes, and behaviour under
// concurrent transactions and claims.
//
// List is checked against record.Query.Match, the reference semantics:
// over a generated population of records (states with their categories,
// every attribute type, instants far before 1678 and after 2262, ties on
// every order's instant, the SLA situations breached, at risk, paused,
// met and stale), every filter alone and combined, in every order, must
// return exactly what Match selects, in order, on one page and across
// pages; queries that Schema.CheckQuery refuses must fail with a
// validation error rather than return an empty page.
//
// ReadOutbox may return fewer messages than its limit, and a store may
// hold committed messages back for a while so that none lands before a
// cursor it handed out; the suite therefore polls the outbox (for up to
// 30 seconds) until the messages it committed are readable, and then
// checks that exactly those follow, in order. It asserts nothing about
// how long that takes.
//
// Records are built at whole seconds or microseconds in UTC, and times
// are compared with time.Time.Equal, so a store may keep instants to the
// microsecond; it must return them in UTC. Bodies compare as JSON
// values, so a store may reformat them. Empty and nil slices and maps
// are treated alike, except that Journal, Links, Timers and History of a
// record that is not stored must return an empty, non-nil slice.
//
// # Benchmarks
//
// BenchmarkAgainstFloor compares an operation with a floor (the least a
// durable write costs on the same database), interleaving the two in one
// benchmark and reporting their ratio. LoadRecords stores a large,
// realistic population of generated records with SLA timers, and
// BenchmarkList measures List over it for every filter, on the first and
// the twentieth page, reporting median and 99th percentile latencies.
package storagetest
