package sla

import (
	"errors"
	"testing"

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
	})
}

func FuzzParseISODuration(f *testing.F) {
	for _, s := range []string{"PT4H", "PT0.000000001S", "-PT15M", "PT-30S", "P1D", "PT2562047H47M16.854775807S", "PT1.5M"} {
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
	})
}
