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
// itself never wait for a transaction to finish and always see the last
// committed state. Transactions are therefore serializable, and a read
// outside a transaction sees a consistent committed state.
//
// Because writers run one after another, an optimistic update can fail
// with itsm.ErrConflict only when it is based on a read made outside the
// transaction (or in an earlier one), which is how services use it.
//
// # Copies
//
// The store never shares memory with its callers. Incidents are cloned
// (incident.Incident.Clone) on the way in and on the way out; audit events
// are copied with their slices; an SLA timer is kept as its JSON encoding
// and decoded afresh on every read, so its calendar comes back unbound, as
// incident.TimerRecord documents (24×7 timers bind themselves).
package memory
