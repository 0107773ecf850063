package sla

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/stretchr/testify/require"
)

func FuzzPolicyJSON(f *testing.F) {
	f.Add([]byte(timerTestPolicyJSON))
	f.Add([]byte(`{"id":"noc","kind":"ola","time_zone":"Europe/London","warnings":[],"targets":{"response":{"P1":"PT15M","P2":"PT30M","P3":"PT1H","P4":"PT2H","P5":"PT4H"}}}`))
	f.Add([]byte(`{"id":"x","calendar":"nope","warnings":[80,20],"targets":{"response":{"1":"-PT1H","2":"PT1H","3":"PT1H","4":"PT1H"}}}`))
	f.Add([]byte(`{"id":"x","warnings":["12.5","87.25"],"targets":{"a":{"1":"P1DT1H","2":"P1M","3":"PT0.5S","4":"P3D","5":"PT99999999H"}}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"id":"x","kind":"uc","targets":{"m":{"critical":"P1D","high":"P2D","moderate":"P3D","low":"P4D","planning":"P5D"}}}`))
	cals := timerTestCalendars(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy(data, cals)
		if err != nil {
			require.Nil(t, p)
			require.ErrorIs(t, err, itsm.ErrValidation, "every refusal is a validation error: %v", err)
			var ve *itsm.ValidationError
			var te *TargetError
			require.True(t, errors.As(err, &ve) || errors.As(err, &te), "typed: %T", err)
			return
		}
		// A valid policy round-trips and gives each metric a timer.
		b, err := json.Marshal(p)
		require.NoError(t, err)
		back, err := ParsePolicy(b, cals)
		require.NoError(t, err, string(b))
		require.Empty(t, cmp.Diff(p.Spec(), back.Spec()))
		require.NotNil(t, p.Calendar())
		for _, m := range p.Metrics() {
			for prio := itsm.MinPriority; prio <= itsm.MaxPriority; prio++ {
				tg, ok := p.Target(m, prio)
				require.True(t, ok)
				require.NoError(t, tg.Validate())
				tm, err := p.NewTimer(m, prio)
				require.NoError(t, err)
				require.Equal(t, tg, tm.Target())
			}
		}
		ws := p.Warnings()
		require.LessOrEqual(t, len(ws), MaxWarnings)
		for i := 1; i < len(ws); i++ {
			require.True(t, ws[i].GreaterThan(ws[i-1]))
		}
	})
}
