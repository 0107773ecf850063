package sla

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rickb777/period"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/stretchr/testify/require"
)

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"PT4H", "P2D", "PT1H30M15.5S", "-PT4H", "P1DT4H", "P1M", "P1.5D", "PT0S", "P0.5W", "PT99999999999H", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			var te *TargetError
			require.True(t, errors.As(err, &te), "%T", err)
			require.ErrorIs(t, err, itsm.ErrValidation)
			return
		}
		back, err := ParseTarget(tg.String())
		require.NoError(t, err, tg.String())
		require.Equal(t, tg, back, "%q -> %q", s, tg.String())
		if d, ok := tg.Business(); ok {
			requireNear(t, s, d)
		}
	})
}

func FuzzParseISODuration(f *testing.F) {
	for _, s := range []string{"PT4H", "PT0.000000001S", "-PT15M", "PT-30S", "P1D", "PT2562047H47M16.854775807S", "PT1.5M", "PT5124096H", "PT9223372036.854775807S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseISODuration(s)
		if err != nil {
			require.ErrorIs(t, err, itsm.ErrValidation)
			return
		}
		back, err := ParseISODuration(FormatISODuration(d))
		require.NoError(t, err, FormatISODuration(d))
		require.Equal(t, d, back)
		requireNear(t, s, d)
	})
}

// requireNear checks that d is, to float64's precision, the value of the
// ISO duration s, whose hours, minutes and seconds ParseISODuration or
// ParseTarget accepted: a sum that wrapped around (as "PT5124096H" once
// read as 25 minutes) is far from it.
func requireNear(t *testing.T, s string, d time.Duration) {
	t.Helper()
	p, err := period.Parse(strings.TrimSpace(s))
	require.NoError(t, err)
	want := p.HoursDecimal().String() + "h" + p.MinutesDecimal().String() + "m" + p.SecondsDecimal().String() + "s"
	var sec float64
	for _, f := range []struct {
		v    string
		unit float64
	}{{p.HoursDecimal().String(), 3600}, {p.MinutesDecimal().String(), 60}, {p.SecondsDecimal().String(), 1}} {
		x, err := strconv.ParseFloat(f.v, 64)
		require.NoError(t, err)
		sec += x * f.unit
	}
	require.InDelta(t, sec, d.Seconds(), 1e-9*math.Abs(sec)+1e-9, "%q (%s) parsed as %v", s, want, d)
}
