// Package record is the record core every practice shares: the header of a
// work record (the ServiceNow task, the iTop Ticket, the GLPI
// CommonITILObject), a typed body per kind, custom attributes an
// application declares per kind, journal entries, typed links, SLA timers
// and the outbox, and the storage port that the adapters in
// storage/memory, storage/sqlite and storage/postgres implement once for
// every kind.
//
// # Kinds
//
// A kind (incident, problem, change, ...) is declared by a Schema: its
// name, its number prefix, its states with their categories, and the
// custom attributes an application adds to it. A practice builds its
// schema from its lifecycle (SchemaDef.States from
// itsm.Lifecycle.Categories) and converts between its own struct and a
// Record with a codec; adapters need no code for a new kind. Store.Declare
// makes a kind known to a store, which then validates queries against it
// and indexes its filterable attributes.
//
// # Records
//
// A Record is a Header (the fields every work record has, stored as
// indexed columns), Attrs (the declared custom attributes) and Body (the
// kind's own fields as JSON). The JSON document of the whole record is
// canonical; the columns are derived from it when the record is written.
//
// # Limits
//
// Each kind bounds the size of its records with Limits in its SchemaDef:
// title, description and body in bytes, the text of each journal entry,
// the number of journal entries per record and the events per SLA timer
// cycle. Zero fields take defaults that leave room for anything the large
// ITSM tools accept (DefaultLimits). Stores enforce them on every write,
// whoever calls, counting a journal inside the write transaction, and
// refuse what goes over with an *itsm.LimitError (itsm.ErrTooLarge and
// itsm.ErrValidation) before anything else is checked or written.
//
// # Links
//
// Links are typed and directed (From → To) and readable from both ends.
// A LinkType says how a state change cascades along it and whether cycles
// are refused; practices refuse them with CheckCycle, which takes the
// type's lock (Tx.LockLinkTypes) first so that two transactions cannot
// each add half of a cycle. Parent and child are not links but the
// header's Parent, so that children are a List filter.
//
// # Queries
//
// A Query filters one kind on every header column, on ranges of the
// opened, resolved and closed instants, on declared attributes, on the
// SLA summary and on text, and pages with an opaque cursor that works for
// any instant a record may carry. Query.Match states the exact semantics;
// every adapter returns what Match selects, in Query order.
//
// # Outbox
//
// Every event a transaction appends (Tx.AppendEvents) is also appended to
// the outbox in the same transaction. ReadOutbox reads it in commit order
// from a cursor; Claim and Ack hand messages to several consumers at once,
// each message to one instance of a consumer at a time, again after its
// lease runs out unless it was acknowledged.
package record
