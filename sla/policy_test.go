package sla

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func TestParsePolicy(t *testing.T) {
	t.Parallel()
	p := timerTestPolicy(t)
	require.Equal(t, "gold", p.ID())
	require.Equal(t, "Gold incident SLA", p.Name())
	require.Equal(t, KindSLA, p.Kind())
	require.Equal(t, "us-9-5", p.CalendarName())
	require.Same(t, timerTestCal(t, "us-9-5"), p.Calendar())
	require.Equal(t, []Metric{MetricResolution, MetricResponse, "update"}, p.Metrics())
	require.Equal(t, []string{"50", "75"}, decimalStrings(p.Warnings()))
	tg, ok := p.Target(MetricResponse, itsm.PriorityCritical)
	require.True(t, ok)
	require.Equal(t, BusinessTime(30*time.Minute), tg)
	tg, ok = p.Target("update", itsm.PriorityPlanning)
	require.True(t, ok)
	require.Equal(t, BusinessDays(2), tg)
	_, ok = p.Target("callback", itsm.PriorityCritical)
	require.False(t, ok)

	// Spec is a copy.
	spec := p.Spec()
	spec.Targets[MetricResponse][itsm.PriorityCritical] = BusinessTime(time.Minute)
	spec.Warnings[0] = decimal.NewFromInt(10)
	tg, _ = p.Target(MetricResponse, itsm.PriorityCritical)
	require.Equal(t, BusinessTime(30*time.Minute), tg)
	require.Equal(t, "50", p.Warnings()[0].String())
}

func decimalStrings(ds []decimal.Decimal) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.String()
	}
	return out
}

// policyJSONWith returns the test policy with one top-level field replaced
// (or removed when value is empty).
func policyJSONWith(t *testing.T, field, value string) string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(timerTestPolicyJSON), &m))
	if value == "" {
		delete(m, field)
	} else {
		m[field] = json.RawMessage(value)
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return string(b)
}

func TestParsePolicyErrors(t *testing.T) {
	t.Parallel()
	fullTargets := func(metric, p1 string) string {
		return `{"` + metric + `": {"1": "` + p1 + `", "2": "PT1H", "3": "PT2H", "4": "PT4H", "5": "P1D"}}`
	}
	tests := []struct {
		name   string
		json   string
		fields []string // fields of the *itsm.ValidationError
		target bool     // a *TargetError instead
	}{
		{name: "unknown calendar", json: policyJSONWith(t, "calendar", `"eu-9-5"`), fields: []string{"calendar"}},
		{name: "negative target", json: policyJSONWith(t, "targets", fullTargets("response", "-PT4H")), fields: []string{"targets.response.1"}},
		{name: "zero target", json: policyJSONWith(t, "targets", fullTargets("response", "PT0S")), fields: []string{"targets.response.1"}},
		{name: "missing priority", json: policyJSONWith(t, "targets", `{"response": {"1": "PT1H", "2": "PT1H", "4": "PT1H", "5": "PT1H"}}`), fields: []string{"targets.response.3"}},
		{name: "priority out of range", json: policyJSONWith(t, "targets", `{"response": {"1": "PT1H", "2": "PT1H", "3": "PT1H", "4": "PT1H", "5": "PT1H", "6": "PT1H"}}`), fields: []string{"json"}},
		{name: "thresholds out of order", json: policyJSONWith(t, "warnings", `["75", "50"]`), fields: []string{"warnings[1]"}},
		{name: "threshold at 100", json: policyJSONWith(t, "warnings", `["50", "100"]`), fields: []string{"warnings[1]"}},
		{name: "threshold at 0", json: policyJSONWith(t, "warnings", `[0]`), fields: []string{"warnings[0]"}},
		{name: "threshold too precise", json: policyJSONWith(t, "warnings", `["50.125"]`), fields: []string{"warnings[0]"}},
		{name: "too many thresholds", json: policyJSONWith(t, "warnings", `[10, 20, 30, 40, 50]`), fields: []string{"warnings"}},
		{name: "duplicate thresholds", json: policyJSONWith(t, "warnings", `[50, 50]`), fields: []string{"warnings[1]"}},
		{name: "no id", json: policyJSONWith(t, "id", ""), fields: []string{"id"}},
		{name: "no targets", json: policyJSONWith(t, "targets", ""), fields: []string{"targets"}},
		{name: "empty metric", json: policyJSONWith(t, "targets", fullTargets("", "PT1H")), fields: []string{"targets."}},
		{name: "zone with a calendar", json: policyJSONWith(t, "time_zone", `"Europe/Paris"`), fields: []string{"time_zone"}},
		{name: "unknown zone", json: `{"id":"x","time_zone":"Mars/Olympus","targets":` + fullTargets("response", "PT1H") + `}`, fields: []string{"time_zone"}},
		{name: "local zone", json: `{"id":"x","time_zone":"Local","targets":` + fullTargets("response", "PT1H") + `}`, fields: []string{"time_zone"}},
		{name: "unknown kind", json: policyJSONWith(t, "kind", `"sow"`), fields: []string{"json"}},
		{name: "unknown field", json: policyJSONWith(t, "colour", `"gold"`), fields: []string{"json"}},
		{name: "trailing data", json: timerTestPolicyJSON + ` {}`, fields: []string{"json"}},
		{name: "not json", json: `{"id":`, fields: []string{"json"}},
		{name: "mixed target form", json: policyJSONWith(t, "targets", fullTargets("response", "P1DT4H")), target: true},
		{name: "months", json: policyJSONWith(t, "targets", fullTargets("response", "P1M")), target: true},
		{name: "weeks", json: policyJSONWith(t, "targets", fullTargets("response", "P1W")), target: true},
		{name: "fractional days", json: policyJSONWith(t, "targets", fullTargets("response", "P1.5D")), target: true},
		{name: "garbage target", json: policyJSONWith(t, "targets", fullTargets("response", "4 hours")), target: true},
		{
			name:   "several problems at once",
			json:   `{"id":"x","calendar":"nope","warnings":[80,20],"targets":{"response":{"1":"-PT1H","2":"PT1H","3":"PT1H","4":"PT1H"}}}`,
			fields: []string{"calendar", "warnings[1]", "targets.response.1", "targets.response.5"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := ParsePolicy([]byte(tc.json), timerTestCalendars(t))
			require.Nil(t, p)
			require.ErrorIs(t, err, itsm.ErrValidation)
			if tc.target {
				var te *TargetError
				require.ErrorAs(t, err, &te)
				return
			}
			var ve *itsm.ValidationError
			require.ErrorAs(t, err, &ve)
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
			require.Equal(t, tc.fields, got, ve.Error())
		})
	}
}

func TestPolicy24x7(t *testing.T) {
	t.Parallel()
	js := `{"id":"noc","kind":"ola","time_zone":"Europe/London","warnings":[],
		"targets":{"response":{"P1":"PT15M","P2":"PT30M","P3":"PT1H","P4":"PT2H","P5":"PT4H"}}}`
	p, err := ParsePolicy([]byte(js), nil)
	require.NoError(t, err)
	require.Equal(t, KindOLA, p.Kind())
	require.Empty(t, p.CalendarName())
	require.Equal(t, "Europe/London", p.Calendar().Location().String())
	require.Empty(t, p.Warnings(), "an explicit empty list means no warnings")
	tm, err := p.NewTimer(MetricResponse, itsm.PriorityHigh)
	require.NoError(t, err)
	start := time.Date(2026, 11, 21, 23, 50, 0, 0, time.UTC) // a Saturday night
	require.NoError(t, tm.Start(start))
	s := tm.Status(start.Add(10 * time.Minute))
	require.Equal(t, 1, s.NumThresholds, "breach only")
	require.Equal(t, start.Add(30*time.Minute), s.Due)
	require.Equal(t, start.Add(30*time.Minute).Add(time.Nanosecond), s.NextWake)

	p2, err := ParsePolicy([]byte(`{"id":"utc","targets":{"response":{"1":"PT1H","2":"PT1H","3":"PT1H","4":"PT1H","5":"PT1H"}}}`), nil)
	require.NoError(t, err)
	require.Equal(t, time.UTC, p2.Calendar().Location())
	require.Equal(t, KindSLA, p2.Kind())
	require.Len(t, p2.Warnings(), 2, "defaults")
}

func TestParsePolicies(t *testing.T) {
	t.Parallel()
	second := strings.Replace(timerTestPolicyJSON, `"gold"`, `"silver"`, 1)
	ps, err := ParsePolicies([]byte("["+timerTestPolicyJSON+","+second+"]"), timerTestCalendars(t))
	require.NoError(t, err)
	require.Len(t, ps, 2)
	require.Equal(t, "silver", ps[1].ID())

	_, err = ParsePolicies([]byte("["+timerTestPolicyJSON+","+timerTestPolicyJSON+"]"), timerTestCalendars(t))
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("[1].id"), ve.Error())

	_, err = ParsePolicies([]byte("["+timerTestPolicyJSON+"]"), Calendars{})
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("calendar"))
	require.Contains(t, err.Error(), "policies[0]")
}

func TestPolicyJSONRoundTrip(t *testing.T) {
	t.Parallel()
	p := timerTestPolicy(t)
	b, err := json.Marshal(p)
	require.NoError(t, err)
	require.Contains(t, string(b), `"critical":"PT30M"`)
	require.Contains(t, string(b), `"planning":"P2D"`)
	back, err := ParsePolicy(b, timerTestCalendars(t))
	require.NoError(t, err)
	require.Empty(t, cmp.Diff(p.Spec(), back.Spec()))

	var spec PolicySpec
	require.NoError(t, json.Unmarshal(b, &spec))
	require.Empty(t, cmp.Diff(p.Spec(), spec))
}

func TestPolicyKindText(t *testing.T) {
	t.Parallel()
	for _, k := range []PolicyKind{KindSLA, KindOLA, KindUC} {
		b, err := k.MarshalText()
		require.NoError(t, err)
		var back PolicyKind
		require.NoError(t, back.UnmarshalText(b))
		require.Equal(t, k, back)
	}
	require.Equal(t, "uc", KindUC.String())
	require.Equal(t, "kind(9)", PolicyKind(9).String())
	_, err := PolicyKind(9).MarshalText()
	require.ErrorIs(t, err, itsm.ErrValidation)
	var k PolicyKind = KindUC
	require.NoError(t, k.UnmarshalText([]byte("")))
	require.Equal(t, KindSLA, k)
	require.NoError(t, k.UnmarshalText([]byte("OLA")))
	require.Equal(t, KindOLA, k)

	_, err = NewPolicy(PolicySpec{ID: "x", Kind: 7, Targets: map[Metric]map[itsm.Priority]Target{}}, nil)
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("kind"))
}

func TestPolicyCalendarSource(t *testing.T) {
	t.Parallel()
	var none Calendars
	_, ok := none.Calendar("x")
	require.False(t, ok)
	_, ok = Calendars{"x": nil}.Calendar("x")
	require.False(t, ok, "a nil entry is not a calendar")
}
