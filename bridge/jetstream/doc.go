// Package jetstream publishes outbox messages to NATS JetStream
// (github.com/nats-io/nats.go/jetstream), for applications that fan audit
// events out to many services.
//
// A Publisher is an outbox.Handler: an outbox deliverer calls it for each
// message, and it publishes the message's event as JSON (itsm.Event's own
// form) to a subject made of a prefix, the record kind and the action,
// such as "itsm.incident.resolve" (see Subject and Token), and waits for
// the stream to acknowledge it. Delivery is at least once; the
// Nats-Msg-Id header, the event's identity (see MsgID), lets the stream's
// duplicate window drop repeats. Errors that no retry can fix, such as no
// stream for the subject, match outbox.ErrPermanent, so that the
// deliverer makes the message a dead letter at once.
//
// EnsureStream creates or extends the stream that stores a prefix's
// subjects.
//
// The package is in a module of its own, github.com/itsmkit/itsmkit/bridge,
// so that the itsmkit module does not depend on NATS.
package jetstream
