// Package incident implements ITIL incident management: logging, working
// and closing incidents with SLA clocks and a full audit trail.
//
// An Incident moves through a Lifecycle, by default
//
//	New → In Progress ⇄ On Hold → Resolved → Closed
//
// with reopen (Resolved → In Progress) and cancel (from New, In Progress
// and On Hold). The table is data (DefaultDefinition) that an organisation
// may replace; the Service attaches its behaviour to actions, not state
// names, so a custom table keeps every feature.
//
// The Service does the work. Each call validates its input, checks
// permissions and the lifecycle, updates SLA timers, and stores the
// incident, its timers and one audit event in one transaction with an
// optimistic version check; a call that fails changes nothing. SLA
// policies come from a PolicySelector: the response timer stops at the
// first assignment or the first public response, the resolution timer
// pauses while the incident waits on a pausing hold reason (awaiting the
// caller, by default), stops at resolution and starts a new cycle on
// reopen, and a priority change retargets running timers.
//
// Rules beyond the lifecycle: resolving a parent resolves its open
// children; an incident cannot become its own ancestor; only permitted
// roles override priorities or flag major incidents; CloseResolved closes
// resolved incidents after a number of business days unless they are
// major.
//
// Storage is behind the Store interface, which storage/memory,
// storage/sqlite and storage/postgres implement; storage/storagetest
// checks them alike.
package incident
