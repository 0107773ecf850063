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

func TestTrimReason(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"short", "connection refused", "connection refused"},
		{"exactly the limit", strings.Repeat("a", MaxReasonLen), strings.Repeat("a", MaxReasonLen)},
		{"one byte over", strings.Repeat("a", MaxReasonLen+1), strings.Repeat("a", MaxReasonLen)},
		{"two-byte runes at the cut", strings.Repeat("é", MaxReasonLen), strings.Repeat("é", MaxReasonLen/2)},
		{"cut inside a rune", "x" + strings.Repeat("é", MaxReasonLen), "x" + strings.Repeat("é", MaxReasonLen/2-1)},
		{"four-byte runes", "ab" + strings.Repeat("🔥", MaxReasonLen), "ab" + strings.Repeat("🔥", MaxReasonLen/4-1)},
	} {
		got := TrimReason(tc.in)
		require.Equal(t, tc.want, got, tc.name)
		require.LessOrEqual(t, len(got), MaxReasonLen, tc.name)
	}
}

func TestCheckSettle(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", MaxReasonLen) // longer than MaxReasonLen, and kept cut
	require.NoError(t, CheckDefer("mailer", t0, ""))
	require.NoError(t, CheckDefer("mailer", t0.In(berlin), long))
	require.NoError(t, CheckBury(strings.Repeat("c", MaxIDLen), t0, "410 Gone 🔥"))
	tests := []struct {
		name     string
		consumer string
		at       time.Time
		reason   string
		fields   []string
	}{
		{"no consumer", "", t0, "", []string{"consumer"}},
		{"consumer too long", strings.Repeat("c", MaxIDLen+1), t0, "", []string{"consumer"}},
		{"consumer not UTF-8", "\xff", t0, "", []string{"consumer"}},
		{"no time", "c", time.Time{}, "", []string{"at"}},
		{"year 0", "c", time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC), "", []string{"at"}},
		{"year 10000", "c", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "", []string{"at"}},
		{"reason not UTF-8", "c", t0, "caf\xe9", []string{"reason"}},
		{"reason not UTF-8 past the cut", "c", t0, long + "\xff", []string{"reason"}},
		{"NUL in reason", "c", t0, "a\x00b", []string{"reason"}},
		{"everything", "", time.Time{}, "\xff", []string{"consumer", "at", "reason"}},
	}
	for _, tc := range tests {
		for _, fn := range []struct {
			field, subject string
			check          func(string, time.Time, string) error
		}{{"until", "outbox defer", CheckDefer}, {"now", "outbox bury", CheckBury}} {
			err := fn.check(tc.consumer, tc.at, tc.reason)
			require.ErrorIs(t, err, itsm.ErrValidation, tc.name)
			var ve *itsm.ValidationError
			require.ErrorAs(t, err, &ve, tc.name)
			require.Equal(t, fn.subject, ve.Subject, tc.name)
			var fields []string
			for _, f := range ve.Fields {
				fields = append(fields, f.Field)
			}
			want := make([]string, len(tc.fields))
			for i, f := range tc.fields {
				if f == "at" {
					f = fn.field
				}
				want[i] = f
			}
			require.Equal(t, want, fields, "%s (%s)", tc.name, fn.subject)
		}
	}
}

func TestCheckDeadLetters(t *testing.T) {
	t.Parallel()
	require.NoError(t, CheckDeadLetters("mailer", 0, 1))
	require.NoError(t, CheckDeadLetters("mailer", 1<<62, 1<<30))
	for _, tc := range []struct {
		name     string
		consumer string
		after    int64
		limit    int
		fields   []string
	}{
		{"no consumer", "", 0, 1, []string{"consumer"}},
		{"consumer with NUL", "a\x00", 0, 1, []string{"consumer"}},
		{"negative after", "c", -1, 1, []string{"after"}},
		{"no limit", "c", 0, 0, []string{"limit"}},
		{"everything", "", -5, -1, []string{"consumer", "after", "limit"}},
	} {
		err := CheckDeadLetters(tc.consumer, tc.after, tc.limit)
		var ve *itsm.ValidationError
		require.ErrorAs(t, err, &ve, tc.name)
		var fields []string
		for _, f := range ve.Fields {
			fields = append(fields, f.Field)
		}
		require.Equal(t, tc.fields, fields, tc.name)
	}
	require.NoError(t, CheckConsumer("outbox replay", "mailer"))
	var ve *itsm.ValidationError
	require.ErrorAs(t, CheckConsumer("outbox replay", ""), &ve)
	require.Equal(t, "outbox replay", ve.Subject)
	require.True(t, ve.Has("consumer"))
}
