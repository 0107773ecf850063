package itsm_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
)

func TestActorRoles(t *testing.T) {
	t.Parallel()
	a := itsm.Actor{ID: "alice", Name: "Alice Smith", Roles: []itsm.Role{"agent", "major-incident-manager"}}
	require.True(t, a.HasRole("agent"))
	require.False(t, a.HasRole("Agent"), "roles compare exactly")
	require.True(t, a.HasAnyRole("manager", "agent"))
	require.False(t, a.HasAnyRole())
	require.Equal(t, "Alice Smith", a.String())
	require.Equal(t, "bob", itsm.Actor{ID: "bob"}.String())
}

func TestPermissions(t *testing.T) {
	t.Parallel()
	grants := map[itsm.Permission][]itsm.Role{
		"incident.flag-major": {"major-incident-manager"},
		"incident.purge":      {},
	}
	p := itsm.NewPermissions(grants)
	grants["incident.flag-major"][0] = "anyone" // the map was copied

	agent := itsm.Actor{ID: "a", Roles: []itsm.Role{"agent"}}
	mim := itsm.Actor{ID: "m", Roles: []itsm.Role{"major-incident-manager"}}

	require.True(t, p.Allows(agent, "incident.comment"), "unrestricted permission")
	require.False(t, p.Allows(agent, "incident.flag-major"))
	require.True(t, p.Allows(mim, "incident.flag-major"))
	require.False(t, p.Allows(mim, "incident.purge"), "a permission with no roles is denied to all")

	err := p.Check(agent, "incident.flag-major")
	require.ErrorIs(t, err, itsm.ErrForbidden)
	var fe *itsm.ForbiddenError
	require.True(t, errors.As(err, &fe))
	require.Equal(t, "a", fe.ActorID)
	require.NoError(t, p.Check(mim, "incident.flag-major"))

	roles, restricted := p.Roles("incident.flag-major")
	require.True(t, restricted)
	require.Equal(t, []itsm.Role{"major-incident-manager"}, roles)
	_, restricted = p.Roles("incident.comment")
	require.False(t, restricted)

	var zero itsm.Permissions
	require.True(t, zero.Allows(itsm.Actor{}, "anything"))
}

func TestPermissionsIsZero(t *testing.T) {
	t.Parallel()
	require.True(t, itsm.Permissions{}.IsZero())
	require.False(t, itsm.NewPermissions(nil).IsZero())
}
