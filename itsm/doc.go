// Package itsm is the shared vocabulary of itsmkit, the IT service
// management library: every other package builds on it, and it imports no
// other package of the module.
//
// It defines:
//
//   - who acts: Actor, Role and Permissions for role-based checks;
//   - how urgent work is: Impact, Urgency, Priority and the PriorityMatrix
//     that derives one from the other two (the ITIL 3×3 table by default,
//     or an organisation's own scales);
//   - what went wrong: the sentinel errors ErrNotFound, ErrConflict,
//     ErrInvalidTransition, ErrValidation, ErrForbidden and ErrTooLarge, and
//     typed errors (ValidationError, LimitError, TransitionError,
//     NotFoundError, ConflictError, ForbiddenError) that wrap them with
//     detail, for errors.Is and errors.As;
//   - when: the Clock interface, so services never call time.Now directly
//     (package itsmtest has a settable clock for tests);
//   - what happened: Event, the append-only audit record of one change;
//   - how records move: Lifecycle, an immutable, validated transition table
//     with guards, required fields and roles, rendered as Mermaid. Each
//     state belongs to a StateCategory (new, active, pending, resolved,
//     closed or cancelled), so views, metrics and SLA rules that span
//     record types work on categories rather than on each type's state
//     names.
package itsm
