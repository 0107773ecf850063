package sla

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/stretchr/testify/require"
)

func TestParseTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		business time.Duration
		days     int
		str      string
		bad      bool
		invalid  bool // parses, but Validate refuses it
	}{
		{in: "PT4H", business: 4 * time.Hour, str: "PT4H"},
		{in: "PT30M", business: 30 * time.Minute, str: "PT30M"},
		{in: "PT1H30M", business: 90 * time.Minute, str: "PT1H30M"},
		{in: "PT90M", business: 90 * time.Minute, str: "PT1H30M"},
		{in: "PT36H", business: 36 * time.Hour, str: "PT36H"},
		{in: "PT0.5S", business: 500 * time.Millisecond, str: "PT0.5S"},
		{in: " PT1H ", business: time.Hour, str: "PT1H"},
		{in: "P2D", days: 2, str: "P2D"},
		{in: "P10D", days: 10, str: "P10D"},
		{in: "-PT4H", business: -4 * time.Hour, str: "-PT4H", invalid: true},
		{in: "-P1D", days: -1, str: "-P1D", invalid: true},
		{in: "PT0S", str: "PT0S", invalid: true},
		{in: "P0D", str: "PT0S", invalid: true},
		{in: "P1DT4H", bad: true},
		{in: "P1M", bad: true},
		{in: "P1Y", bad: true},
		{in: "P1W", bad: true},
		{in: "P1.5D", bad: true},
		{in: "4h", bad: true},
		{in: "", bad: true},
		// Beyond time.Duration, which the period library used to wrap
		// around (PT5124096H read as 25 minutes).
		{in: "PT2562047H", business: 2562047 * time.Hour, str: "PT2562047H"},
		{in: "PT2562048H", bad: true},
		{in: "PT5124096H", bad: true},
		{in: "PT99999999999H", bad: true},
		{in: "PT153722867281M", bad: true},
		{in: "PT9223372037S", bad: true},
		{in: "PT0.0000000001S", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTarget(tc.in)
			if tc.bad {
				var te *TargetError
				require.ErrorAs(t, err, &te)
				require.ErrorIs(t, err, itsm.ErrValidation)
				require.Equal(t, tc.in, te.Text)
				require.Contains(t, te.Error(), te.Reason)
				return
			}
			require.NoError(t, err)
			d, isBusiness := got.Business()
			n, isDays := got.Days()
			require.Equal(t, tc.business, d)
			require.Equal(t, tc.days, n)
			require.Equal(t, tc.days == 0, isBusiness)
			require.Equal(t, tc.days != 0, isDays)
			require.Equal(t, tc.str, got.String())
			if tc.invalid {
				require.ErrorIs(t, got.Validate(), itsm.ErrValidation)
			} else {
				require.NoError(t, got.Validate())
				back, err := ParseTarget(got.String())
				require.NoError(t, err)
				require.Equal(t, got, back)
			}
		})
	}
	require.Panics(t, func() { MustParseTarget("P1M") })
}

func TestTargetResolve(t *testing.T) {
	t.Parallel()
	cal := timerTestCal(t, "us-9-5")
	require.Equal(t, 4*time.Hour, BusinessTime(4*time.Hour).Resolve(cal, novNY(20, 10, 0)))
	require.Equal(t, 23*time.Hour, BusinessDays(2).Resolve(cal, novNY(20, 10, 0)), "Friday 7h, Monday 8h, Tuesday 8h")
	require.Equal(t, 16*time.Hour, BusinessDays(2).Resolve(cal, novNY(21, 10, 0)), "from Saturday: Monday and Tuesday")
	require.Equal(t, 15*time.Hour, BusinessDays(1).Resolve(cal, novNY(25, 10, 0)), "Thanksgiving skipped: Wednesday 7h, Friday 8h")
	require.Zero(t, BusinessTime(-time.Hour).Resolve(cal, novNY(20, 10, 0)))
	require.Zero(t, Target{}.Resolve(cal, novNY(20, 10, 0)))
	require.True(t, Target{}.IsZero())
}

func TestTargetJSON(t *testing.T) {
	t.Parallel()
	type wrap struct {
		T Target `json:"t"`
	}
	for _, tg := range []Target{BusinessTime(4 * time.Hour), BusinessDays(3), BusinessTime(time.Nanosecond)} {
		b, err := json.Marshal(wrap{tg})
		require.NoError(t, err)
		var back wrap
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, tg, back.T, string(b))
	}
	var w wrap
	require.ErrorIs(t, json.Unmarshal([]byte(`{"t":"P1DT1H"}`), &w), itsm.ErrValidation)
}

func TestISODuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d time.Duration
		s string
	}{
		{0, "PT0S"},
		{time.Nanosecond, "PT0.000000001S"},
		{1500 * time.Millisecond, "PT1.5S"},
		{time.Minute, "PT1M"},
		{25*time.Hour + time.Second, "PT25H1S"},
		{-15 * time.Minute, "-PT15M"},
		{time.Duration(1<<63 - 1), "PT2562047H47M16.854775807S"},
		{time.Duration(-1 << 63), "-PT2562047H47M16.854775808S"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.s, FormatISODuration(tc.d))
		if tc.d == time.Duration(-1<<63) {
			continue // the period library cannot hold it
		}
		back, err := ParseISODuration(tc.s)
		require.NoError(t, err, tc.s)
		require.Equal(t, tc.d, back, tc.s)
	}
	for _, bad := range []string{"P1D", "P1M", "1h", "", "PT5124096H", "-PT5124096H", "PT2562047H47M16.854775808S",
		"PT2562047H48M", "PT0.0000000001S"} {
		_, err := ParseISODuration(bad)
		require.ErrorIs(t, err, itsm.ErrValidation, bad)
	}
	d, err := ParseISODuration("PT-30S")
	require.NoError(t, err)
	require.Equal(t, -30*time.Second, d)
}
