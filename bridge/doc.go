// Package bridge is the root of the module that forwards itsmkit outbox
// messages to other systems: package river inserts River jobs, package
// jetstream publishes to NATS JetStream. It is a module of its own so
// that the itsmkit module does not depend on River or NATS.
package bridge
