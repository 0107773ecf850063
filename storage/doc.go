// Package storage holds what the storage adapters share and what holds no
// domain rule: the audit log's hashes, checkpoints and verification, the
// SLA threshold crossings a wake-up worker records, and the worker loop
// itself.
//
// The adapters live in subpackages: storage/memory (in process),
// storage/sqlite (the embedded default) and storage/postgres (for several
// application instances sharing one database). storage/storagetest is the
// conformance suite they all pass.
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
// # The audit log
//
// The SQL adapters keep every audit event twice over:
//
//   - in a per-record hash chain: each event carries EventHash of itself
//     and the record's previous event, and an audit head per record
//     remembers the last sequence and hash (VerifyChain checks it);
//   - in one transparency log per store (per database file, per
//     PostgreSQL schema): every event appended gets the next log index,
//     0, 1, 2, ... in commit order, and a leaf hash, LeafHash, which is
//     tlog.RecordHash of EventData, the event's canonical bytes. The tree
//     hashes (golang.org/x/mod/sumdb/tlog) are stored with the entries
//     (EntryHashes), so the store computes the root hash at any size and
//     consistency proofs cheaply (AuditLog).
//
// Neither the chain nor the log's hashes prove anything by themselves:
// someone who can write to the database can edit an event and recompute
// every hash after it, delete the newest events and rewind the heads, or
// append an event with correct hashes. What they cannot do is sign. A
// Checkpointer, in the application, signs checkpoints: notes
// (golang.org/x/mod/sumdb/note) stating the log's origin, size and root
// hash, with a note.Signer the application holds and the database never
// sees. It issues them on demand (Issue) or every Interval (Run) into a
// CheckpointSink outside the database, such as FileSink, an append-only,
// synced file. Before it signs, it checks that the log only grew since
// the sink's latest checkpoint (a tlog consistency proof), so a log
// rewound or rewritten is never signed over.
//
// Optionally, a store given a seal key by the application (WithAuditSeal
// of the SQL adapters) seals each entry it appends: Seal, an HMAC of the
// leaf hash. An entry appended without the key then carries no valid seal,
// and the Checkpointer refuses to sign over it.
//
// # Verification
//
// AuditLog.VerifyAuditLog (Checkpointer.Verify reads the sink's latest
// checkpoint first, refusing one that OpenCheckpoint does not trust) reads
// the whole log, its events, heads and records in one snapshot, and
// returns an AuditReport listing every problem it finds, each a
// *TamperError naming the Check that found it, the record and the log
// entry; it does not stop at the first. Against the latest checkpoint it
// finds:
//
//   - an event edited: CheckLeaf (its leaf hash), CheckChain (its chain
//     hash) and CheckTree (the root recomputed from the events);
//   - an event deleted in the middle: CheckChain (a sequence missing) and
//     CheckLog (its entry's event missing, or an index gap if the entry
//     went too, and then CheckTree as the root cannot be rebuilt);
//   - events deleted at the tail, or the whole log truncated, with the
//     heads and the log head rewound to match: CheckTree (the log holds
//     fewer entries than the checkpoint);
//   - events reordered: swapped sequences give CheckChain, CheckLeaf and
//     CheckTree; swapped log entries give CheckChain, CheckLog and
//     CheckTree;
//   - an edit with every hash recomputed after it (chain, heads, tree):
//     CheckTree alone;
//   - an event appended straight into the database: with a seal key,
//     CheckSeal, and no checkpoint is signed over it; without one, every
//     check passes and only Covered < Size tells that entries are newer
//     than the checkpoint, which the application must know it wrote;
//   - an event stored outside the log, or a log entry without its event:
//     CheckLog;
//   - a record row whose state (or title, assignment group or assignee)
//     disagrees with what its events say: CheckRecord, for its document
//     and its columns alike.
//
// It does not find: entries newer than the checkpoint appended by someone
// without the seal key, when the store has none; a rewrite before the
// first checkpoint was issued; anything done by someone who holds the
// signing key (and the seal key); record fields that no event names (an
// event's Changes name the fields "state", "title", "assignment_group"
// and "assignee" to have them compared; the state is also taken from To);
// events that were never appended (a write done around the store); and
// deleted checkpoints: keep the sink where the database's administrators
// cannot write, and keep its copies. Without a checkpoint VerifyAuditLog
// checks the rest and CheckTree finds nothing. The per-record
// VerifyAuditTrail of the adapters (CheckChain alone) works on every
// schema version; the triggers the migrations add refuse changes by
// mistake, not by intent.
package storage
