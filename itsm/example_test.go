package itsm_test

import (
	"errors"
	"fmt"

	"github.com/itsmkit/itsmkit/itsm"
)

// The default matrix is the common ITIL 3×3 table.
func ExamplePriorityMatrix() {
	m := itsm.DefaultPriorityMatrix()
	p, _ := m.Priority(itsm.ImpactMedium, itsm.UrgencyHigh)
	fmt.Println(p.Label(), p)
	fmt.Println(m)
	// Output:
	// P2 high
	// impact \ urgency     High   Medium      Low
	// High                   P1       P2       P3
	// Medium                 P2       P3       P4
	// Low                    P3       P4       P5
}

// Organisations define their own scales; here a four-level one.
func ExampleNewPriorityMatrix() {
	lv := []itsm.Level{{Value: 1, Name: "Enterprise"}, {Value: 2, Name: "Site"}, {Value: 3, Name: "Team"}, {Value: 4, Name: "User"}}
	m, err := itsm.NewPriorityMatrix(itsm.MatrixSpec{
		Impacts:   lv,
		Urgencies: lv,
		Priorities: [][]itsm.Priority{
			{1, 1, 2, 3},
			{1, 2, 3, 4},
			{2, 3, 4, 5},
			{3, 4, 5, 5},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := m.Priority(3, 2)
	fmt.Println(m.ImpactName(3), "×", m.UrgencyName(2), "→", p.Label())

	_, err = itsm.NewPriorityMatrix(itsm.MatrixSpec{Impacts: lv, Urgencies: lv})
	fmt.Println(errors.Is(err, itsm.ErrValidation))
	// Output:
	// Team × Site → P3
	// true
}

// Typed errors carry detail and still match the sentinels.
func ExampleValidationError() {
	v := &itsm.ValidationError{Subject: "incident"}
	v.Add("title", "must not be empty")
	v.Add("impact", "%d is not on the impact scale", 7)
	err := fmt.Errorf("open: %w", v.Err())

	fmt.Println(err)
	fmt.Println(errors.Is(err, itsm.ErrValidation))
	var ve *itsm.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(len(ve.Fields), "problems; first:", ve.Fields[0].Field)
	}
	// Output:
	// open: itsm: invalid incident: title: must not be empty; impact: 7 is not on the impact scale
	// true
	// 2 problems; first: title
}

// Permissions restrict chosen operations to roles.
func ExamplePermissions() {
	perms := itsm.NewPermissions(map[itsm.Permission][]itsm.Role{
		"incident.flag-major": {"major-incident-manager"},
	})
	agent := itsm.Actor{ID: "alice", Roles: []itsm.Role{"agent"}}
	fmt.Println(perms.Allows(agent, "incident.comment"))
	err := perms.Check(agent, "incident.flag-major")
	fmt.Println(err, errors.Is(err, itsm.ErrForbidden))
	// Output:
	// true
	// itsm: actor "alice" lacks permission "incident.flag-major" true
}
