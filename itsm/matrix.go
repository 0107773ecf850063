package itsm

import (
	"fmt"
	"strings"
)

// Level is one step of an impact or urgency scale: the stored value and
// the name people see.
type Level struct {
	// Value is what Impact or Urgency holds; it must be positive and
	// unique within its scale.
	Value int `json:"value"`
	// Name is the display name, such as "Enterprise" or "Department"; it
	// must be non-empty and unique within its scale (ignoring case).
	Name string `json:"name"`
}

// MatrixSpec declares a priority matrix. It decodes from JSON:
//
//	{"impacts":   [{"value":1,"name":"High"}, {"value":2,"name":"Medium"}, {"value":3,"name":"Low"}],
//	 "urgencies": [{"value":1,"name":"High"}, {"value":2,"name":"Medium"}, {"value":3,"name":"Low"}],
//	 "priorities": [[1,2,3],[2,3,4],[3,4,5]]}
//
// Priorities[i][j] is the priority for Impacts[i] and Urgencies[j]. The
// levels may be listed in any order and use any positive values, so a
// five-level scale where 5 is the highest impact is written as it reads.
type MatrixSpec struct {
	Impacts    []Level      `json:"impacts"`
	Urgencies  []Level      `json:"urgencies"`
	Priorities [][]Priority `json:"priorities"`
}

// PriorityMatrix derives a Priority from an Impact and an Urgency. Build one
// with NewPriorityMatrix or take DefaultPriorityMatrix; it is immutable and
// safe for concurrent use.
type PriorityMatrix struct {
	spec    MatrixSpec
	impact  map[Impact]int
	urgency map[Urgency]int
}

// DefaultMatrixSpec returns the common ITIL 3×3 table on the default
// scales (1 High, 2 Medium, 3 Low):
//
//	impact \ urgency   high  medium  low
//	high                 1      2     3
//	medium               2      3     4
//	low                  3      4     5
func DefaultMatrixSpec() MatrixSpec {
	levels := func() []Level { return []Level{{1, "High"}, {2, "Medium"}, {3, "Low"}} }
	return MatrixSpec{
		Impacts:   levels(),
		Urgencies: levels(),
		Priorities: [][]Priority{
			{1, 2, 3},
			{2, 3, 4},
			{3, 4, 5},
		},
	}
}

// DefaultPriorityMatrix returns a matrix built from DefaultMatrixSpec.
func DefaultPriorityMatrix() *PriorityMatrix {
	m, err := NewPriorityMatrix(DefaultMatrixSpec())
	if err != nil {
		panic("itsm: default priority matrix is invalid: " + err.Error())
	}
	return m
}

// NewPriorityMatrix validates spec and builds a matrix from a copy of it.
// It returns a *ValidationError naming every problem: an empty scale, a
// level value that is not positive or appears twice, a missing or repeated
// name, a row or cell missing, or a priority outside 1..5.
func NewPriorityMatrix(spec MatrixSpec) (*PriorityMatrix, error) {
	v := &ValidationError{Subject: "priority matrix"}
	impact := make(map[Impact]int, len(spec.Impacts))
	urgency := make(map[Urgency]int, len(spec.Urgencies))
	checkScale(v, "impacts", spec.Impacts, func(val, i int) bool {
		if _, dup := impact[Impact(val)]; dup {
			return false
		}
		impact[Impact(val)] = i
		return true
	})
	checkScale(v, "urgencies", spec.Urgencies, func(val, i int) bool {
		if _, dup := urgency[Urgency(val)]; dup {
			return false
		}
		urgency[Urgency(val)] = i
		return true
	})
	if len(spec.Priorities) != len(spec.Impacts) {
		v.Add("priorities", "has %d rows, want one per impact (%d)", len(spec.Priorities), len(spec.Impacts))
	}
	for i, row := range spec.Priorities {
		if len(row) != len(spec.Urgencies) {
			v.Add(fmt.Sprintf("priorities[%d]", i), "has %d cells, want one per urgency (%d)", len(row), len(spec.Urgencies))
		}
		for j, p := range row {
			if !p.Valid() {
				v.Add(fmt.Sprintf("priorities[%d][%d]", i, j), "%d is outside %d..%d", int(p), MinPriority, MaxPriority)
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return &PriorityMatrix{spec: spec.clone(), impact: impact, urgency: urgency}, nil
}

// clone returns a deep copy of s.
func (s MatrixSpec) clone() MatrixSpec {
	c := MatrixSpec{
		Impacts:    append([]Level(nil), s.Impacts...),
		Urgencies:  append([]Level(nil), s.Urgencies...),
		Priorities: make([][]Priority, len(s.Priorities)),
	}
	for i, row := range s.Priorities {
		c.Priorities[i] = append([]Priority(nil), row...)
	}
	return c
}

// checkScale validates one scale; add registers a value at its index and
// reports false when the value was already taken.
func checkScale(v *ValidationError, field string, levels []Level, add func(val, i int) bool) {
	if len(levels) == 0 {
		v.Add(field, "must list at least one level")
	}
	names := make(map[string]bool, len(levels))
	for i, l := range levels {
		f := fmt.Sprintf("%s[%d]", field, i)
		if l.Value < 1 {
			v.Add(f+".value", "%d is not positive", l.Value)
		} else if !add(l.Value, i) {
			v.Add(f+".value", "%d appears more than once", l.Value)
		}
		key := strings.ToLower(strings.TrimSpace(l.Name))
		switch {
		case key == "":
			v.Add(f+".name", "must not be empty")
		case names[key]:
			v.Add(f+".name", "%q appears more than once", l.Name)
		}
		names[key] = true
	}
}

// Priority returns the priority for impact i and urgency u, or a
// *ValidationError when either is not on the matrix's scales.
func (m *PriorityMatrix) Priority(i Impact, u Urgency) (Priority, error) {
	r, okI := m.impact[i]
	c, okU := m.urgency[u]
	if okI && okU {
		return m.spec.Priorities[r][c], nil
	}
	v := &ValidationError{Subject: "priority matrix lookup"}
	if !okI {
		v.Add("impact", "%d is not on the impact scale", int(i))
	}
	if !okU {
		v.Add("urgency", "%d is not on the urgency scale", int(u))
	}
	return 0, v
}

// ValidImpact reports whether i is on the matrix's impact scale.
func (m *PriorityMatrix) ValidImpact(i Impact) bool { _, ok := m.impact[i]; return ok }

// ValidUrgency reports whether u is on the matrix's urgency scale.
func (m *PriorityMatrix) ValidUrgency(u Urgency) bool { _, ok := m.urgency[u]; return ok }

// ImpactName returns the scale's name for i, or Impact.String when i is
// not on the scale.
func (m *PriorityMatrix) ImpactName(i Impact) string {
	if r, ok := m.impact[i]; ok {
		return m.spec.Impacts[r].Name
	}
	return i.String()
}

// UrgencyName returns the scale's name for u, or Urgency.String when u is
// not on the scale.
func (m *PriorityMatrix) UrgencyName(u Urgency) string {
	if c, ok := m.urgency[u]; ok {
		return m.spec.Urgencies[c].Name
	}
	return u.String()
}

// Spec returns a deep copy of the definition the matrix was built from, so
// it can be stored or sent as JSON.
func (m *PriorityMatrix) Spec() MatrixSpec { return m.spec.clone() }

// String renders the matrix as a fixed-width table with impacts as rows
// and urgencies as columns, for logs and command-line tools.
func (m *PriorityMatrix) String() string {
	w := len("impact \\ urgency")
	for _, l := range m.spec.Impacts {
		w = max(w, len(l.Name))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s", w, "impact \\ urgency")
	for _, u := range m.spec.Urgencies {
		fmt.Fprintf(&b, " %8s", u.Name)
	}
	for r, l := range m.spec.Impacts {
		fmt.Fprintf(&b, "\n%-*s", w, l.Name)
		for _, p := range m.spec.Priorities[r] {
			fmt.Fprintf(&b, " %8s", p.Label())
		}
	}
	return b.String()
}
