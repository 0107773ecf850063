// Package outbox delivers the messages the stores append to their outbox
// (every audit event, SLA crossings included) to subscribers, outside any
// transaction: each subscriber is a consumer of its own, with per-message
// attempts, exponential backoff and a dead-letter state, so one subscriber
// that fails for good never holds back the others.
//
// A subscriber implements Handler. A Deliverer maps subscriber names to
// handlers and, in each round (RunOnce, or Run every Interval), claims
// the messages due for each subscriber from its record.Store, calls the
// handler for each, and stores the outcome through the store's consumer
// calls:
//
//   - success: record.Store.Ack;
//   - failure (an error, a panic, the per-message Timeout): Defer until
//     now plus the Backoff of the attempts so far, keeping the error as
//     the last error;
//   - the MaxAttempts-th failure, or an error matching ErrPermanent:
//     Bury, making the message a dead letter of that subscriber only.
//
// Dead letters are listed with DeadLetters and offered again with Replay
// (the Deliverer's calls pass through to the store's), which counts
// their attempts afresh.
//
// Delivery is at least once: a message can come again after a crash, a
// failure or a lease that ran out, with the same record.Message.ID for a
// handler to drop repeats. Several deliverers may serve the same
// subscriber names; the store's leases share the messages out.
package outbox
