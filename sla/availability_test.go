package sla

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func availDec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestAvailability(t *testing.T) {
	t.Parallel()
	cal := timerTestCal(t, "us-9-5")
	from := novNY(1, 0, 0)
	to := time.Date(2026, 12, 1, 0, 0, 0, 0, timerTestNY)
	table, err := NewCreditTable(CreditTier{Below: availDec("99"), Credit: availDec("15")}, CreditTier{Below: availDec("99.9"), Credit: availDec("5")})
	require.NoError(t, err)
	require.Equal(t, "99.9", table[0].Below.String(), "sorted highest threshold first")
	fee := availDec("1000.00")

	tests := []struct {
		name     string
		outages  []Outage
		downtime time.Duration
		percent  string
		credit   string
	}{
		{name: "no outage", percent: "100", credit: "0"},
		{
			name: "overlapping, clipped, closed-hours and open-ended outages",
			outages: []Outage{
				{Start: novNY(2, 8, 0), End: novNY(2, 10, 0)},                                    // 09:00–10:00 counts
				{Start: novNY(2, 9, 30), End: novNY(2, 11, 0)},                                   // merged: until 11:00
				{Start: time.Date(2026, 10, 31, 20, 0, 0, 0, timerTestNY), End: novNY(2, 9, 15)}, // clipped at the start
				{Start: novNY(7, 10, 0), End: novNY(7, 14, 0)},                                   // Saturday
				{Start: novNY(26, 10, 0), End: novNY(26, 12, 0)},                                 // Thanksgiving
				{Start: novNY(30, 16, 0)},                                                        // still going on
			},
			downtime: 3 * time.Hour, percent: "98.125", credit: "150",
		},
		{
			name:     "exactly 99.9 % is not below 99.9 %",
			outages:  []Outage{{Start: novNY(3, 10, 0), End: novNY(3, 10, 9).Add(36 * time.Second)}},
			downtime: 576 * time.Second, percent: "99.9", credit: "0",
		},
		{
			name:     "a nanosecond more earns the first tier",
			outages:  []Outage{{Start: novNY(3, 10, 0), End: novNY(3, 10, 9).Add(36*time.Second + 1)}},
			downtime: 576*time.Second + 1, percent: "99.9", credit: "50",
		},
		{
			name:     "outage touching the next one merges",
			outages:  []Outage{{Start: novNY(3, 10, 0), End: novNY(3, 11, 0)}, {Start: novNY(3, 11, 0), End: novNY(3, 12, 0)}, {Start: novNY(3, 10, 0), End: novNY(3, 10, 30)}},
			downtime: 2 * time.Hour, percent: "98.75", credit: "150",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := Availability(cal, from, to, tc.outages)
			require.NoError(t, err)
			require.Equal(t, 160*time.Hour, r.Agreed, "20 open days: November has 21 weekdays and one holiday")
			require.Equal(t, tc.downtime, r.Downtime)
			require.Equal(t, tc.percent, r.Percent().String())
			require.Equal(t, tc.credit, table.Credit(r, fee).String())

			b, err := json.Marshal(r)
			require.NoError(t, err)
			var back AvailabilityReport
			require.NoError(t, json.Unmarshal(b, &back))
			require.Empty(t, cmp.Diff(r, back), string(b))
		})
	}

	r, err := Availability(cal, novNY(21, 0, 0), novNY(23, 0, 0), []Outage{{Start: novNY(21, 0, 0), End: novNY(22, 0, 0)}})
	require.NoError(t, err)
	require.Zero(t, r.Agreed, "a weekend has no agreed hours")
	require.Equal(t, "100", r.Percent().String())
	require.False(t, r.Below(availDec("100")))
	require.True(t, r.Below(availDec("100.01")))
	_, ok := table.Tier(r)
	require.False(t, ok)
}

func TestAvailabilityErrors(t *testing.T) {
	t.Parallel()
	_, err := Availability(nil, novNY(2, 0, 0), novNY(1, 0, 0), []Outage{{Start: novNY(1, 2, 0), End: novNY(1, 1, 0)}})
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("hours"))
	require.True(t, ve.Has("to"))
	require.True(t, ve.Has("outages[0]"))
}

func TestCreditTableValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tiers  []CreditTier
		fields []string
	}{
		{"below out of range", []CreditTier{{Below: availDec("0"), Credit: availDec("5")}, {Below: availDec("100.1"), Credit: availDec("5")}}, []string{"[0].below", "[1].below"}},
		{"credit out of range", []CreditTier{{Below: availDec("99"), Credit: availDec("-1")}, {Below: availDec("98"), Credit: availDec("101")}}, []string{"[0].credit", "[1].credit"}},
		{"duplicate threshold", []CreditTier{{Below: availDec("99"), Credit: availDec("5")}, {Below: availDec("99.0"), Credit: availDec("10")}}, []string{"[1].below"}},
		{"a lower threshold must not credit less", []CreditTier{{Below: availDec("99"), Credit: availDec("5")}, {Below: availDec("99.9"), Credit: availDec("10")}}, []string{"[0].credit"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewCreditTable(tc.tiers...)
			var ve *itsm.ValidationError
			require.ErrorAs(t, err, &ve)
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
			require.Equal(t, tc.fields, got, ve.Error())
		})
	}
	var empty CreditTable
	require.NoError(t, empty.Validate())
	require.True(t, empty.Credit(AvailabilityReport{Agreed: time.Hour, Downtime: time.Hour}, availDec("10")).IsZero())

	var decoded CreditTable
	require.NoError(t, json.Unmarshal([]byte(`[{"below":"99.9","credit":"5"},{"below":99,"credit":15}]`), &decoded))
	require.NoError(t, decoded.Validate())
	b, err := json.Marshal(decoded)
	require.NoError(t, err)
	require.JSONEq(t, `[{"below":"99.9","credit":"5"},{"below":"99","credit":"15"}]`, string(b))
}

func TestOutageJSON(t *testing.T) {
	t.Parallel()
	for _, o := range []Outage{{Start: novNY(2, 9, 0), End: novNY(2, 10, 0)}, {Start: novNY(2, 9, 0)}} {
		b, err := json.Marshal(o)
		require.NoError(t, err)
		var back Outage
		require.NoError(t, json.Unmarshal(b, &back))
		require.Empty(t, cmp.Diff(o, back), string(b))
	}
}
