package itsm_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
)

func TestDefaultMatrix(t *testing.T) {
	t.Parallel()
	m := itsm.DefaultPriorityMatrix()
	want := [3][3]itsm.Priority{{1, 2, 3}, {2, 3, 4}, {3, 4, 5}}
	for i := 1; i <= 3; i++ {
		for u := 1; u <= 3; u++ {
			p, err := m.Priority(itsm.Impact(i), itsm.Urgency(u))
			require.NoError(t, err)
			require.Equal(t, want[i-1][u-1], p, "impact %d urgency %d", i, u)
		}
	}
	require.Equal(t, "Medium", m.ImpactName(itsm.ImpactMedium))
	require.Equal(t, "Low", m.UrgencyName(itsm.UrgencyLow))
	require.Equal(t, "7", m.ImpactName(7))
	require.Equal(t, "0", m.UrgencyName(0))
	require.True(t, m.ValidImpact(3))
	require.False(t, m.ValidImpact(4))
	require.False(t, m.ValidUrgency(0))
}

func TestMatrixLookupErrors(t *testing.T) {
	t.Parallel()
	m := itsm.DefaultPriorityMatrix()
	_, err := m.Priority(0, 4)
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("impact"))
	require.True(t, ve.Has("urgency"))
	_, err = m.Priority(1, 9)
	require.ErrorAs(t, err, &ve)
	require.False(t, ve.Has("impact"))
	require.True(t, ve.Has("urgency"))
}

func TestCustomMatrices(t *testing.T) {
	t.Parallel()
	t.Run("4x4", func(t *testing.T) {
		t.Parallel()
		lv := []itsm.Level{{1, "Enterprise"}, {2, "Site"}, {3, "Department"}, {4, "User"}}
		m, err := itsm.NewPriorityMatrix(itsm.MatrixSpec{
			Impacts: lv, Urgencies: lv,
			Priorities: [][]itsm.Priority{{1, 1, 2, 3}, {1, 2, 3, 4}, {2, 3, 4, 5}, {3, 4, 5, 5}},
		})
		require.NoError(t, err)
		p, err := m.Priority(4, 4)
		require.NoError(t, err)
		require.Equal(t, itsm.PriorityPlanning, p)
		p, err = m.Priority(1, 2)
		require.NoError(t, err)
		require.Equal(t, itsm.PriorityCritical, p)
		require.Equal(t, "Department", m.ImpactName(3))
	})
	t.Run("5x5 reversed", func(t *testing.T) {
		t.Parallel()
		// 5 is the highest impact and urgency; rows and columns are listed
		// from highest to lowest so the table reads as usual.
		lv := []itsm.Level{{5, "Extensive"}, {4, "Significant"}, {3, "Moderate"}, {2, "Minor"}, {1, "Negligible"}}
		var cells [][]itsm.Priority
		for r := range 5 {
			row := make([]itsm.Priority, 5)
			for c := range 5 {
				row[c] = itsm.Priority(min(5, 1+(r+c)/2))
			}
			cells = append(cells, row)
		}
		m, err := itsm.NewPriorityMatrix(itsm.MatrixSpec{Impacts: lv, Urgencies: lv, Priorities: cells})
		require.NoError(t, err)
		p, err := m.Priority(5, 5)
		require.NoError(t, err)
		require.Equal(t, itsm.PriorityCritical, p)
		p, err = m.Priority(1, 1)
		require.NoError(t, err)
		require.Equal(t, itsm.PriorityPlanning, p)
		p, err = m.Priority(5, 1)
		require.NoError(t, err)
		require.Equal(t, itsm.PriorityModerate, p)
	})
}

func TestMatrixValidation(t *testing.T) {
	t.Parallel()
	base := itsm.DefaultMatrixSpec
	cases := []struct {
		name   string
		mutate func(*itsm.MatrixSpec)
		fields []string
	}{
		{"no impacts", func(s *itsm.MatrixSpec) { s.Impacts = nil; s.Priorities = nil }, []string{"impacts"}},
		{"no urgencies", func(s *itsm.MatrixSpec) { s.Urgencies = nil }, []string{"urgencies", "priorities[0]", "priorities[1]", "priorities[2]"}},
		{"duplicate value", func(s *itsm.MatrixSpec) { s.Impacts[2].Value = 1 }, []string{"impacts[2].value"}},
		{"zero value", func(s *itsm.MatrixSpec) { s.Urgencies[0].Value = 0 }, []string{"urgencies[0].value"}},
		{"empty name", func(s *itsm.MatrixSpec) { s.Urgencies[1].Name = " " }, []string{"urgencies[1].name"}},
		{"duplicate name", func(s *itsm.MatrixSpec) { s.Impacts[1].Name = "HIGH" }, []string{"impacts[1].name"}},
		{"missing row", func(s *itsm.MatrixSpec) { s.Priorities = s.Priorities[:2] }, []string{"priorities"}},
		{"missing cell", func(s *itsm.MatrixSpec) { s.Priorities[1] = s.Priorities[1][:2] }, []string{"priorities[1]"}},
		{"priority out of range", func(s *itsm.MatrixSpec) { s.Priorities[0][0] = 0; s.Priorities[2][2] = 6 },
			[]string{"priorities[0][0]", "priorities[2][2]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := base()
			tc.mutate(&s)
			m, err := itsm.NewPriorityMatrix(s)
			require.Nil(t, m)
			var ve *itsm.ValidationError
			require.ErrorAs(t, err, &ve)
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
			require.Equal(t, tc.fields, got)
		})
	}
}

func TestMatrixIsImmutable(t *testing.T) {
	t.Parallel()
	s := itsm.DefaultMatrixSpec()
	m, err := itsm.NewPriorityMatrix(s)
	require.NoError(t, err)
	s.Priorities[0][0] = 5
	s.Impacts[0].Name = "changed"
	got := m.Spec()
	got.Priorities[0][1] = 5
	p, _ := m.Priority(1, 1)
	require.Equal(t, itsm.PriorityCritical, p)
	p, _ = m.Priority(1, 2)
	require.Equal(t, itsm.PriorityHigh, p)
	require.Equal(t, "High", m.ImpactName(1))
}

func TestMatrixJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(itsm.DefaultPriorityMatrix().Spec())
	require.NoError(t, err)
	var s itsm.MatrixSpec
	require.NoError(t, json.Unmarshal(b, &s))
	require.Equal(t, itsm.DefaultMatrixSpec(), s)
	require.JSONEq(t, `{"impacts":[{"value":1,"name":"High"},{"value":2,"name":"Medium"},{"value":3,"name":"Low"}],
		"urgencies":[{"value":1,"name":"High"},{"value":2,"name":"Medium"},{"value":3,"name":"Low"}],
		"priorities":[["critical","high","moderate"],["high","moderate","low"],["moderate","low","planning"]]}`, string(b))
}

func FuzzMatrixSpec(f *testing.F) {
	b, _ := json.Marshal(itsm.DefaultMatrixSpec())
	f.Add(b)
	f.Add([]byte(`{"impacts":[{"value":1,"name":"a"}],"urgencies":[{"value":1,"name":"b"}],"priorities":[[1]]}`))
	f.Add([]byte(`{"impacts":[{"value":-1,"name":""}],"priorities":[[],[9]]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s itsm.MatrixSpec
		if json.Unmarshal(data, &s) != nil {
			return
		}
		m, err := itsm.NewPriorityMatrix(s)
		if err != nil {
			require.ErrorIs(t, err, itsm.ErrValidation)
			return
		}
		for _, i := range s.Impacts {
			for _, u := range s.Urgencies {
				p, err := m.Priority(itsm.Impact(i.Value), itsm.Urgency(u.Value))
				require.NoError(t, err)
				require.True(t, p.Valid())
			}
		}
		_ = m.String()
	})
}
