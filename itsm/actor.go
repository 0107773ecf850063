package itsm

import "slices"

// Role names a responsibility an Actor holds, such as "service-desk" or
// "major-incident-manager". Roles are compared exactly.
type Role string

// Actor is who did something: a person, a team account or an automated
// job. Every audit Event carries one.
type Actor struct {
	// ID is the stable identifier, such as a user name or account ID.
	ID string `json:"id"`
	// Name is the display name; it may be empty.
	Name string `json:"name,omitempty"`
	// Roles lists the roles the actor holds; order does not matter.
	Roles []Role `json:"roles,omitempty"`
}

// System is the actor for changes made by scheduled jobs (auto-close, SLA
// wake-ups) rather than by a person.
var System = Actor{ID: "system", Name: "System"}

// HasRole reports whether the actor holds r.
func (a Actor) HasRole(r Role) bool { return slices.Contains(a.Roles, r) }

// HasAnyRole reports whether the actor holds at least one of roles. It is
// false when roles is empty.
func (a Actor) HasAnyRole(roles ...Role) bool {
	for _, r := range roles {
		if a.HasRole(r) {
			return true
		}
	}
	return false
}

// String returns the display name, or the ID when there is no name.
func (a Actor) String() string {
	if a.Name != "" {
		return a.Name
	}
	return a.ID
}

// Permission names an operation that only some roles may perform, such as
// "incident.set-priority" or "incident.flag-major".
type Permission string

// Permissions maps each Permission to the roles that hold it. A Permission
// with no entry is open to every actor, so a deployment restricts only what
// it cares about. The zero value allows everything. Build one with
// NewPermissions; it is immutable and safe for concurrent use.
type Permissions struct {
	roles map[Permission][]Role
}

// NewPermissions returns Permissions granting each permission to the roles
// listed for it. The map is copied. A permission listed with no roles is
// denied to every actor.
func NewPermissions(grants map[Permission][]Role) Permissions {
	m := make(map[Permission][]Role, len(grants))
	for p, rs := range grants {
		m[p] = append([]Role{}, rs...)
	}
	return Permissions{roles: m}
}

// Allows reports whether a may perform perm.
func (p Permissions) Allows(a Actor, perm Permission) bool {
	rs, ok := p.roles[perm]
	if !ok {
		return true
	}
	return a.HasAnyRole(rs...)
}

// Check returns nil when a may perform perm and a *ForbiddenError
// otherwise.
func (p Permissions) Check(a Actor, perm Permission) error {
	if p.Allows(a, perm) {
		return nil
	}
	return &ForbiddenError{ActorID: a.ID, Permission: perm}
}

// IsZero reports whether p is the zero value (not built by
// NewPermissions), so that a Config can tell "not set" from "allow
// everything".
func (p Permissions) IsZero() bool { return p.roles == nil }

// Roles returns a copy of the roles granted perm and whether perm is
// restricted at all.
func (p Permissions) Roles(perm Permission) ([]Role, bool) {
	rs, ok := p.roles[perm]
	return slices.Clone(rs), ok
}
