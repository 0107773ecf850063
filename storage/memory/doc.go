// Package memory is an in-memory storage adapter for itsmkit: Store
// implements record.Store (and so record.Reader) for records of every
// declared kind, and storage.TimerProcessor for the SLA wake-up worker,
// without any database. It is meant for tests, examples, prototypes and
// single-process tools that do not need their data to outlive the
// process.
//
// It passes the conformance suite in package storagetest, like the SQL
// adapters, so code tested against it behaves the same on them.
//
// # Kinds
//
// A Store knows no kind until Declare gives it the kind's record.Schema;
// the Store embeds the record.Registry that holds them. Writes and queries
// of an undeclared kind, NextNumber of one included, are an
// *itsm.ValidationError; reads by reference (Get, Journal, ...) of such a
// kind find nothing. Adding a kind needs no code here.
//
// # Transactions and isolation
//
// Store.InTx admits one transaction at a time: a second InTx (or
// ProcessDueTimers) waits until the first commits or rolls back, or until
// its own context is done. ProcessDueTimers and PutTimers record SLA
// crossings with their audit events and outbox messages in their
// transaction and deliver nothing, so a subscriber reading the outbox may
// call InTx. A transaction stages its writes privately;
// reads through its Tx see the committed data overlaid with those staged
// writes, and nobody else sees them until the commit applies them all at
// once. Reads through the Store do not wait for open transactions (only,
// briefly, for a commit being applied) and always see the last committed
// state. Transactions are therefore serializable, and a read outside a
// transaction sees one consistent committed state.
//
// Because writers run one after another, an optimistic update can fail
// with itsm.ErrConflict only when it is based on a read made outside the
// transaction (or in an earlier one), which is how services use it.
//
// # Indexes
//
// Every call costs about the same however many records the store holds,
// for queries whose filters an index serves. Records and numbers are
// found through maps. Everything else is kept in ordered indexes
// (github.com/google/btree): for each kind and list order, the records by
// (instant, ID), and by (value, instant, ID) for each header field a
// Query filters on by equality (state, state category, priority,
// assignee, assignment group, service, configuration item, category,
// requester, parent, major), for each custom attribute, and for the
// metrics and policy kinds of the records' timers; timers by
// (NextWakeAt, timer ID, record); journals, links, audit events and the
// outbox by record and position.
//
// Whether a timer is breached or at risk depends on the query's Now, so
// no ordered index holds exactly the records those filters select. For
// each kind and list order, the records that they can ever select (with
// a breach instant, or with an active timer that has an at-risk instant)
// are kept in a tree in list order whose nodes also hold their subtree's
// earliest breach instant and widest at-risk window, so that a walk skips
// every subtree without a match at Now.
//
// List walks the smallest index the query's filters allow, from the
// cursor and within the query's range on the order's instant, applies
// record.Query.Match to each record it meets, and stops once it has one
// more match than the page holds. Filters without an index of their own
// (ranges on another instant than the order's, attribute ranges, text)
// narrow that walk but do not shorten it, and neither do the filters
// besides the one whose index is walked: a query whose filters are each
// common but rare together walks further.
//
// A transaction works on copy-on-write clones of the indexes (btree.Clone
// costs O(1); the SLA trees are persistent), which its commit swaps in
// and its rollback drops.
//
// # Writes
//
// The record.Tx that InTx hands out behaves as the port documents, and in
// addition:
//
//   - Create and Update check records with the Registry's CheckRecord;
//     Update keeps the record's SLA summary, which only timers change.
//   - RemoveLinks of a link the call names twice is an
//     *itsm.NotFoundError, as for a link that is not stored.
//   - NextNumber sequences are part of the transaction: a rollback hands
//     the numbers out again, so there are no gaps.
//   - AppendEvents numbers outbox messages from 1; transactions run one
//     at a time, so the order of message IDs is the commit order and the
//     order of ReadOutbox. IDs a rolled-back transaction used are not
//     handed out again.
//   - Every method returns ctx.Err() when ctx is done, and ErrTxDone when
//     called after InTx has returned.
//
// TimersDue returns an empty slice, and ReadOutbox an empty page, for a
// limit of 0 or less. Reads return empty, non-nil slices when nothing
// matches.
//
// # Outbox consumers
//
// Claim, Ack, Defer, Bury, DeadLetters and Replay keep each consumer's
// progress, dead letters included, in memory, outside transactions: they
// never wait for an open transaction and see committed messages only.
//
// # Copies
//
// The store never shares memory with its callers, and returns what the
// SQL stores return. A record is kept as its document reads back
// (record.Record.Document, then record.ParseDocument): instants in UTC,
// the body compacted as Document writes it; it is copied
// (record.Record.Clone) on the way out. Instants of journal entries,
// links, audit events and timer records are kept in UTC too; audit
// events are copied with their slices; an SLA timer is kept as its JSON
// encoding and decoded afresh on every read, so its calendar comes back
// unbound, as record.TimerRecord documents.
//
// Audit events are numbered per record like the SQL stores number them,
// but the store keeps no hash chain and no transparency log: nothing
// outside the process can change them, and they end with it. It is no
// storage.AuditLog; checkpoints and their verification are for the SQL
// stores.
package memory
