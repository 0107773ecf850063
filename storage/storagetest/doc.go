// Package storagetest is the conformance suite of itsmkit's storage
// adapters. Every adapter (storage/memory, and the SQL adapters) runs the
// same checks from its own tests, so a service behaves alike on each of
// them, in the way testing/fstest.TestFS checks fs.FS implementations.
//
// # Running it
//
// An adapter calls TestIncidentStore from an ordinary test, with a factory
// that returns a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storagetest.TestIncidentStore(t, func(t *testing.T) incident.Store {
//			t.Parallel() // only when stores share nothing
//			return memory.New()
//		})
//	}
//
// The suite runs each check as a subtest (named like "List/Filter/Breached",
// so go test -run selects them) and calls the factory once, first thing,
// in every subtest, with that subtest's *testing.T. The factory therefore
// decides how subtests run: it may call t.Parallel when stores are
// independent of each other, register t.Cleanup to drop a database or
// schema, or t.Skip when its database is not configured (for example when
// ITSM_TEST_POSTGRES_URL is unset). It must return a store that holds no
// incidents, timers, events or number sequences.
//
// # What it expects
//
// The suite checks the contract written on incident.Store, incident.Reader
// and incident.Tx: versions and optimistic conflicts, error types, List
// filters (compared with incident.Query.Match), ordering and cursor
// paging, audit sequences, atomic rollback on error and on panic,
// isolation of uncommitted writes, copies, SLA timer round trips, and
// behaviour under concurrent transactions. It builds every time at whole
// seconds in UTC and compares times with time.Time.Equal, so a store may
// return times in UTC with microsecond precision. Empty and nil slices
// are treated alike.
//
// # Benchmarks
//
// BenchmarkAgainstFloor compares an operation with a floor (the least a
// durable write costs on the same database), interleaving the two in one
// benchmark and reporting their ratio.
package storagetest
