package record

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
)

func TestCheckClaim(t *testing.T) {
	t.Parallel()
	require.NoError(t, CheckClaim("mailer", t0, time.Minute, 10))
	require.NoError(t, CheckClaim(strings.Repeat("c", MaxIDLen), t0, MinLease, 1))
	require.NoError(t, CheckClaim("c", t0.In(berlin), MaxLease, 1<<30))

	tests := []struct {
		name     string
		consumer string
		now      time.Time
		lease    time.Duration
		limit    int
		fields   []string
	}{
		{"no consumer", "", t0, time.Minute, 1, []string{"consumer"}},
		{"consumer too long", strings.Repeat("c", MaxIDLen+1), t0, time.Minute, 1, []string{"consumer"}},
		{"consumer with NUL", "a\x00", t0, time.Minute, 1, []string{"consumer"}},
		{"consumer not UTF-8", "\xff", t0, time.Minute, 1, []string{"consumer"}},
		{"no now", "c", time.Time{}, time.Minute, 1, []string{"now"}},
		{"now in year 10000", "c", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Minute, 1, []string{"now"}},
		{"no lease", "c", t0, 0, 1, []string{"lease"}},
		{"negative lease", "c", t0, -time.Minute, 1, []string{"lease"}},
		{"lease too short", "c", t0, MinLease - 1, 1, []string{"lease"}},
		{"lease too long", "c", t0, MaxLease + 1, 1, []string{"lease"}},
		{"no limit", "c", t0, time.Minute, 0, []string{"limit"}},
		{"negative limit", "c", t0, time.Minute, -1, []string{"limit"}},
		{"everything", "", time.Time{}, MaxLease + time.Hour, -3, []string{"consumer", "now", "lease", "limit"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CheckClaim(tc.consumer, tc.now, tc.lease, tc.limit)
			require.Equal(t, tc.fields, fieldsOf(t, err))
			require.Contains(t, err.Error(), "invalid outbox claim")
		})
	}
}

func TestIDCursor(t *testing.T) {
	t.Parallel()
	for _, id := range []int64{1, 42, 1 << 62} {
		got, err := ParseIDCursor(IDCursor(id))
		require.NoError(t, err)
		require.Equal(t, id, got)
	}
	got, err := ParseIDCursor("")
	require.NoError(t, err)
	require.Zero(t, got)
	for _, bad := range []string{"!!", IDCursor(0), IDCursor(-3), "MDE", "eA"} {
		_, err := ParseIDCursor(bad)
		var ve *itsm.ValidationError
		require.ErrorAs(t, err, &ve, bad)
		require.True(t, ve.Has("after"), bad)
	}
}
