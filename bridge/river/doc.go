// Package river forwards outbox messages to River jobs
// (github.com/riverqueue/river), for applications that run River and want
// each audit event worked as a job with River's retries, scheduling and
// tooling.
//
// A Forwarder is an outbox.Handler: an outbox deliverer calls it for each
// message, and it inserts one job of kind Kind whose arguments, EventArgs,
// carry the event. Work the jobs with a river.Worker[EventArgs].
// Delivery is at least once; River's unique jobs, keyed by the event's
// identity (kind, record ID, sequence), make a repeated delivery insert
// nothing.
//
// The package is in a module of its own, github.com/itsmkit/itsmkit/bridge,
// so that the itsmkit module does not depend on River.
//
// # Drivers
//
// Forwarder is generic over River's driver transaction type and calls
// only river.Client.Insert, so any driver works. On PostgreSQL use
// riverpgxv5 with a pgxpool.Pool; set river.Config.Schema when River's
// tables live in a schema of their own, and migrate them with rivermigrate.
//
// On SQLite, riversqlite works with modernc.org/sqlite, the driver the
// itsmkit SQLite store uses, and passes this package's tests (one job per
// event, repeats and concurrent repeats deduplicated, jobs worked) when
// the *sql.DB that River gets is opened the way River asks: write-ahead
// log, a busy timeout, and db.SetMaxOpenConns(1). River still calls the
// driver an early one with little real-world use, and on one connection
// any long transaction stalls River's own maintenance. Give River a
// database file and *sql.DB of its own, not the itsmkit store's.
package river
