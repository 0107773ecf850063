// Package incident implements ITIL incident management: logging, working
// and closing incidents with SLA clocks, links and a full audit trail, on
// the record core (package record).
//
// An Incident moves through a Lifecycle, by default
//
//	New → In Progress ⇄ On Hold → Resolved → Closed
//
// with resolution straight from New (first-contact resolution), reopen
// (Resolved → In Progress) and cancel (from New, In Progress and On Hold).
// Every state has a category (new, active, pending, resolved, closed,
// cancelled), which lists, metrics and SLA rules use instead of state
// names. The table is data (DefaultDefinition) that an organisation may
// replace; the Service attaches its behaviour to actions, not state
// names, so a custom table keeps every feature.
//
// The Service does the work. Each call validates its input, checks
// permissions and the lifecycle, updates SLA timers, and stores the
// incident, its journal, links, timers and audit events in one
// transaction with an optimistic version check; a call that fails changes
// nothing. SLA policies come from a PolicySelector: the response timer
// stops at the first assignment or the first public response by a
// responder (Config.Responder: the assignee or a member of the assignment
// group, by default), the
// resolution timer pauses while the incident waits on a pausing hold
// reason (awaiting the caller, by default), stops at resolution and starts
// a new cycle on reopen, a priority change retargets running timers, and
// an edit of a field the selection may read selects the policies again.
//
// Rules beyond the lifecycle: resolving an incident resolves its open
// children and its duplicates; an incident cannot become its own ancestor
// or close a cycle of duplicates; a caller's public reply lifts an
// "awaiting caller" hold; a new assignment group clears the assignee;
// only permitted roles override priorities (or drop an override), flag
// major incidents, or resolve, close or cancel them; an implicit
// assignment (starting work, a parent's resolution starting a child) goes
// through the lifecycle's assign action and its roles; segregation-of-
// duties rules (Config.Duties, such as CallerMayNotResolve) refuse an
// action by how the actor stands to the incident; a write that names no
// version applies to the incident as it then is, on every store;
// CloseResolved closes resolved incidents after a number of business days
// unless they are major.
//
// # Idempotent calls
//
// Every call that changes incidents takes an idempotency key from its
// context (itsm.WithIdempotencyKey). The first call with a key commits its
// change together with its result (record.Tx.Remember); a later call with
// the same key and the same request (operation, actor, incident, version
// and input) writes nothing and returns that result, and one with another
// request is refused with an *itsm.KeyReusedError. Keys are kept for
// Config.KeepKeys; record.Store.ForgetOutcomes deletes the expired ones.
// A call whose commit had an unknown outcome (storage.ErrUnknownOutcome,
// a connection lost during COMMIT) is therefore safe to repeat with its
// key, and storage.Retry does so.
//
// # Storage
//
// Incidents are records of kind Kind in any record.Store: storage/memory,
// storage/sqlite and storage/postgres implement it, and
// storage/storagetest checks them alike. NewService declares the kind
// (NewSchema: the lifecycle's states and Config.Attributes) to the store.
// Incident.Record and FromRecord convert between an Incident and its
// record; the fields without a header column (hold reason, resolution,
// first response, reopen count, the priority override) are the record's
// body.
//
// # Moving from the incident-only storage
//
// Earlier versions had their own ports (incident.Store, Reader, Tx,
// TimerRecord, Query, Cursor). What changed:
//
//   - NewService takes a context and a record.Store; the adapters' Store
//     types implement it, and their migrations carry existing databases
//     over (incidents, timers, journal, links and the audit trail).
//   - Query is record.Query: States are strings, Breached and AtRisk are
//     SLA.Breached and SLA.AtRisk, and there are many more filters. List
//     sets the kind. Cursors of earlier versions are refused.
//   - ConfigItem is ConfigItems; ProblemIDs and ChangeIDs are typed links
//     (record.CausedBy to kind "problem", record.FixedBy to kind "change")
//     read with Incident.Linked, and the linked records must be stored.
//   - TimerRecord is record.TimerRecord, keyed by a record.Ref.
//   - ResolvedBefore and Children of the store are List filters;
//     Service.Children lists children.
//   - Resolving, closing and canceling a major incident needs
//     PermMajorIncident.
package incident
