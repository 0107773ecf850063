package holidays_test

import (
	"testing"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/sla"
	"github.com/itsmkit/itsmkit/sla/holidays"
	"github.com/rickb777/date/v2"
	"github.com/stretchr/testify/require"
)

func TestDates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		set      string
		year     int
		includes []date.Date
		excludes []date.Date
	}{
		{"US", 2026, []date.Date{
			date.New(2026, 1, 1), date.New(2026, 1, 19), date.New(2026, 5, 25),
			date.New(2026, 7, 3), // 4 July is a Saturday: observed Friday
			date.New(2026, 11, 26), date.New(2026, 12, 25),
		}, []date.Date{date.New(2026, 7, 4), date.New(2026, 12, 24)}},
		{"GB", 2026, []date.Date{
			date.New(2026, 4, 3), date.New(2026, 4, 6), // Good Friday, Easter Monday
			date.New(2026, 12, 25), date.New(2026, 12, 28), // Boxing Day on Saturday → Monday
		}, []date.Date{date.New(2026, 12, 26)}},
		{"DE", 2027, []date.Date{date.New(2027, 10, 3), date.New(2027, 5, 6)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			t.Parallel()
			got, err := holidays.Dates(tt.set, tt.year, tt.year)
			require.NoError(t, err)
			require.IsIncreasing(t, got)
			for _, d := range tt.includes {
				require.Contains(t, got, d)
			}
			for _, d := range tt.excludes {
				require.NotContains(t, got, d)
			}
		})
	}
}

func TestDatesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		set      string
		from, to int
		field    string
	}{
		{"XX", 2026, 2026, "set"},
		{"US", 2027, 2026, "to_year"},
		{"US", 0, 2026, "from_year"},
		{"US", 2000, 10000, "to_year"},
		{"US", 1000, 2500, "to_year"},
	}
	for _, tt := range tests {
		_, err := holidays.Dates(tt.set, tt.from, tt.to)
		require.ErrorIs(t, err, itsm.ErrValidation)
		var ve *itsm.ValidationError
		require.ErrorAs(t, err, &ve)
		require.True(t, ve.Has(tt.field), "%v", err)
	}
}

func TestSets(t *testing.T) {
	t.Parallel()
	sets := holidays.Sets()
	require.Contains(t, sets, "US")
	require.Contains(t, sets, "AU-NSW")
	require.IsIncreasing(t, sets)
}

func TestAddTo(t *testing.T) {
	t.Parallel()
	spec := sla.CalendarSpec{
		Name: "us-desk", TimeZone: "America/New_York",
		Hours:    map[string][]sla.Interval{"mon": {{"09:00", "17:00"}}, "thu": {{"09:00", "17:00"}}},
		Holidays: []string{"2026-11-26"},
	}
	out, err := holidays.AddTo(spec, "US", 2026, 2026)
	require.NoError(t, err)
	require.Equal(t, []string{"2026-11-26"}, spec.Holidays, "input untouched")
	require.Contains(t, out.Holidays, "2026-07-03")
	count := 0
	for _, h := range out.Holidays {
		if h == "2026-11-26" {
			count++
		}
	}
	require.Equal(t, 1, count, "no duplicates")

	cal, err := sla.NewCalendar(out)
	require.NoError(t, err)
	ny, _ := time.LoadLocation("America/New_York")
	require.False(t, cal.IsOpen(time.Date(2026, 1, 19, 10, 0, 0, 0, ny)), "MLK day")
	require.True(t, cal.IsOpen(time.Date(2026, 1, 26, 10, 0, 0, 0, ny)))

	_, err = holidays.AddTo(spec, "nope", 2026, 2026)
	require.ErrorIs(t, err, itsm.ErrValidation)
}
