// Package outbox delivers the messages the stores append to their outbox
// (every audit event, SLA crossings included) to subscribers, outside any
// transaction: each subscriber is a consumer of its own, with per-message
// attempts, exponential backoff and a dead-letter state, so one subscriber
// that fails for good never holds back the others.
package outbox
