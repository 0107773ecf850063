// Package storage holds what the storage adapters share and what holds no
// domain rule: the hash chain that makes audit trails tamper-evident, the
// SLA threshold crossings stores record, and the wake-up worker loop.
//
// # SLA crossings
//
// A crossing (a warning threshold or the breach of one timer cycle) is
// recorded exactly once, whatever the number of workers, and recorded as
// an audit event of its record (Crossing.Event, decoded by
// CrossingFromEvent: action "sla-warning" or "sla-breach", actor
// itsm.System, at the crossing instant), appended like any event with
// its sequence, its place in the hash chain and its outbox message, in
// the transaction that records it. Stores record crossings at two
// moments: when a timer is written (Tx.PutTimers records what the timer
// had reached at its latest event, in every cycle: WrittenCrossings), and
// when a Worker wakes a due timer (TimerProcessor.ProcessDueTimers
// records what it has reached by then). A timer that breaches and is
// stopped before any wake-up therefore has its breach recorded.
//
// Nothing is delivered inside these transactions: a deliverer reads the
// outbox after the commit and hands each message to its subscribers, with
// retries, so a failing or slow subscriber never blocks the worker or
// holds a write lock, and a subscriber may call the services of any
// store.
//
// # Unknown calendars
//
// A timer naming a calendar its store does not know cannot be judged. A
// Worker refuses to start while timers awaiting a wake-up name such a
// calendar (a *MissingCalendarsError from Run or RunOnce); a timer
// written later with one is skipped by each pass, which logs it through
// the Worker's Logger, counts it (Worker.Skipped, Pass.Skipped) and goes
// on with the others.
//
// The adapters live in subpackages: storage/memory (in process),
// storage/sqlite (the embedded default) and storage/postgres (for several
// application instances sharing one database). storage/storagetest is the
// conformance suite they all pass.
package storage
