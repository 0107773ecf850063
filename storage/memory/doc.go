// Package memory is an in-memory storage adapter for itsmkit: Store
// implements incident.Store (and so incident.Reader) without any database,
// for tests, examples, prototypes and single-process tools that do not need
// their data to outlive the process.
//
// It passes the conformance suite in package storagetest, like the SQL
// adapters, so code tested against it behaves the same on them.
//
// # Transactions and isolation
//
// Store.InTx admits one transaction at a time: a second InTx waits until
// the first commits or rolls back (or until its own context is done). A
// transaction stages its writes privately; reads through its Tx see the
// committed data overlaid with those staged writes, and nobody else sees
// them until the commit applies them all at once. Reads through the Store
// do not wait for open transactions (only, briefly, for a commit being
// applied) and always see the last committed state. Transactions are
// therefore serializable, and a read outside a transaction sees one
// consistent committed state.
//
// Because writers run one after another, an optimistic update can fail
// with itsm.ErrConflict only when it is based on a read made outside the
// transaction (or in an earlier one), which is how services use it.
//
// # Writes
//
// The incident.Tx that InTx hands out behaves as the port documents, and
// in addition:
//
//   - Create and Update refuse a nil incident, an empty ID or an empty
//     Number with an *itsm.ValidationError; a duplicate ID, or a Number
//     held by another incident, is an error wrapping itsm.ErrConflict.
//   - PutTimers refuses a record without ID, IncidentID or Timer with an
//     *itsm.ValidationError and then stores none of the call's records.
//     A record whose incident is not stored (committed or created in
//     this transaction) is an *itsm.NotFoundError, and again none is
//     stored.
//   - AppendEvents checks every event with itsm.Event.Validate first; if
//     one fails, none is appended and the *itsm.ValidationError names the
//     problems as "[i].field".
//   - NextNumber sequences are part of the transaction: a rollback hands
//     the numbers out again, so there are no gaps. An empty kind is an
//     *itsm.ValidationError.
//   - Every method returns ctx.Err() when ctx is done, and ErrTxDone when
//     called after InTx has returned.
//
// TimersDue and ResolvedBefore return an empty slice for a limit of 0 or
// less. Reads return empty, non-nil slices when nothing matches.
//
// # Copies
//
// The store never shares memory with its callers. Incidents are cloned
// (incident.Incident.Clone) on the way in and on the way out; audit events
// are copied with their slices; an SLA timer is kept as its JSON encoding
// and decoded afresh on every read, so its calendar comes back unbound, as
// incident.TimerRecord documents. Times are kept as given, with their
// location.
package memory
