package webhook_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/itsm/itsmtest"
	"github.com/itsmkit/itsmkit/outbox/webhook"
)

func specVerifier(t *testing.T, now time.Time, secrets ...string) *webhook.Verifier {
	t.Helper()
	v, err := webhook.NewVerifier(webhook.VerifierConfig{Secrets: secrets, Clock: itsmtest.NewClock(now)})
	require.NoError(t, err)
	return v
}

func TestVerifyRefusals(t *testing.T) {
	t.Parallel()
	at := time.Unix(specTimestamp, 0)
	tests := []struct {
		name    string
		now     time.Time
		secrets []string
		header  func(h http.Header)
		payload string
		err     error
		field   string
	}{
		{name: "missing id", header: func(h http.Header) { h.Del(webhook.HeaderID) }, err: webhook.ErrMissingHeader, field: webhook.HeaderID},
		{name: "empty id", header: func(h http.Header) { h.Set(webhook.HeaderID, " ") }, err: webhook.ErrMissingHeader, field: webhook.HeaderID},
		{name: "missing timestamp", header: func(h http.Header) { h.Del(webhook.HeaderTimestamp) }, err: webhook.ErrMissingHeader, field: webhook.HeaderTimestamp},
		{name: "missing signature", header: func(h http.Header) { h.Del(webhook.HeaderSignature) }, err: webhook.ErrMissingHeader, field: webhook.HeaderSignature},
		{name: "two ids", header: func(h http.Header) { h.Add(webhook.HeaderID, "msg_other") }, err: webhook.ErrMalformedHeader, field: webhook.HeaderID},
		{name: "two timestamps", header: func(h http.Header) { h.Add(webhook.HeaderTimestamp, "1") }, err: webhook.ErrMalformedHeader, field: webhook.HeaderTimestamp},
		{name: "id with full stop", header: func(h http.Header) { h.Set(webhook.HeaderID, "msg.1") }, err: webhook.ErrMalformedHeader, field: webhook.HeaderID},
		{name: "timestamp with sign", header: func(h http.Header) { h.Set(webhook.HeaderTimestamp, "+1614265330") }, err: webhook.ErrMalformedHeader, field: webhook.HeaderTimestamp},
		{name: "negative timestamp", header: func(h http.Header) { h.Set(webhook.HeaderTimestamp, "-1") }, err: webhook.ErrMalformedHeader, field: webhook.HeaderTimestamp},
		{name: "timestamp with leading zero", header: func(h http.Header) { h.Set(webhook.HeaderTimestamp, "01614265330") }, err: webhook.ErrMalformedHeader, field: webhook.HeaderTimestamp},
		{name: "fractional timestamp", header: func(h http.Header) { h.Set(webhook.HeaderTimestamp, "1614265330.5") }, err: webhook.ErrMalformedHeader, field: webhook.HeaderTimestamp},
		{name: "timestamp in milliseconds", header: func(h http.Header) { h.Set(webhook.HeaderTimestamp, "1614265330000") }, err: webhook.ErrTimestamp, field: webhook.HeaderTimestamp},
		{name: "timestamp beyond int64", header: func(h http.Header) { h.Set(webhook.HeaderTimestamp, "99999999999999999999") }, err: webhook.ErrMalformedHeader, field: webhook.HeaderTimestamp},
		{name: "RFC 3339 timestamp", header: func(h http.Header) { h.Set(webhook.HeaderTimestamp, "2021-02-25T15:02:10Z") }, err: webhook.ErrMalformedHeader, field: webhook.HeaderTimestamp},
		{name: "too old", now: at.Add(webhook.DefaultTolerance + time.Second), err: webhook.ErrTimestamp, field: webhook.HeaderTimestamp},
		{name: "too new", now: at.Add(-webhook.DefaultTolerance - time.Nanosecond), err: webhook.ErrTimestamp, field: webhook.HeaderTimestamp},
		{name: "malformed signature", header: func(h http.Header) { h.Set(webhook.HeaderSignature, "v1,") }, err: webhook.ErrMalformedHeader, field: webhook.HeaderSignature},
		{name: "wrong signature", header: func(h http.Header) {
			h.Set(webhook.HeaderSignature, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=")
		}, err: webhook.ErrNoMatchingSignature, field: webhook.HeaderSignature},
		{name: "right value under another version", header: func(h http.Header) {
			h.Set(webhook.HeaderSignature, "v1a,"+strings.TrimPrefix(specSignature, "v1,"))
		}, err: webhook.ErrNoMatchingSignature, field: webhook.HeaderSignature},
		{name: "wrong secret", secrets: []string{secretA, secretB}, err: webhook.ErrNoMatchingSignature, field: webhook.HeaderSignature},
		{name: "altered body", payload: `{"test": 2432232315}`, err: webhook.ErrNoMatchingSignature, field: webhook.HeaderSignature},
		{name: "re-encoded body", payload: `{"test":2432232314}`, err: webhook.ErrNoMatchingSignature, field: webhook.HeaderSignature},
		{name: "other id", header: func(h http.Header) { h.Set(webhook.HeaderID, "msg_p5jXN8AQM9LWM0D4loKWxJel") }, err: webhook.ErrNoMatchingSignature, field: webhook.HeaderSignature},
		{name: "other timestamp", header: func(h http.Header) { h.Set(webhook.HeaderTimestamp, strconv.Itoa(specTimestamp+1)) }, err: webhook.ErrNoMatchingSignature, field: webhook.HeaderSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			now := tc.now
			if now.IsZero() {
				now = at
			}
			secrets := tc.secrets
			if secrets == nil {
				secrets = []string{specSecret}
			}
			h := specHeader(specSignature)
			if tc.header != nil {
				tc.header(h)
			}
			payload := tc.payload
			if payload == "" {
				payload = specPayload
			}
			meta, err := specVerifier(t, now, secrets...).Verify(h, []byte(payload))
			require.ErrorIs(t, err, tc.err)
			require.ErrorIs(t, err, webhook.ErrUnverified)
			var ve *webhook.VerifyError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tc.field, ve.Header)
			require.Equal(t, webhook.Meta{}, meta)
			for _, s := range secrets {
				require.NotContains(t, err.Error(), strings.TrimPrefix(s, "whsec_"))
			}
		})
	}
}

func TestVerifyAccepts(t *testing.T) {
	t.Parallel()
	at := time.Unix(specTimestamp, 0)
	tests := []struct {
		name    string
		now     time.Time
		secrets []string
		header  func(h http.Header)
	}{
		{name: "exactly the tolerance late", now: at.Add(webhook.DefaultTolerance)},
		{name: "exactly the tolerance early", now: at.Add(-webhook.DefaultTolerance)},
		{name: "among other secrets", secrets: []string{secretA, specSecret, secretB}},
		{name: "among other signatures", header: func(h http.Header) {
			h.Set(webhook.HeaderSignature, strings.Join([]string{
				"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
				"v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
				specSignature,
				"v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==",
			}, " "))
		}},
		{name: "signature split over two header lines", header: func(h http.Header) {
			h.Set(webhook.HeaderSignature, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=")
			h.Add(webhook.HeaderSignature, specSignature)
		}},
		{name: "header names in any case", header: func(h http.Header) {
			for _, name := range []string{webhook.HeaderID, webhook.HeaderTimestamp, webhook.HeaderSignature} {
				v := h.Get(name)
				h.Del(name)
				h.Set(strings.ToUpper(name), v)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			now := tc.now
			if now.IsZero() {
				now = at
			}
			secrets := tc.secrets
			if secrets == nil {
				secrets = []string{specSecret}
			}
			h := specHeader(specSignature)
			if tc.header != nil {
				tc.header(h)
			}
			meta, err := specVerifier(t, now, secrets...).Verify(h, []byte(specPayload))
			require.NoError(t, err)
			require.Equal(t, specID, meta.ID)
			require.True(t, meta.Timestamp.Equal(at))
		})
	}
}

func TestVerifierToleranceIsConfigurable(t *testing.T) {
	t.Parallel()
	at := time.Unix(specTimestamp, 0)
	clock := itsmtest.NewClock(at.Add(30 * time.Second))
	v, err := webhook.NewVerifier(webhook.VerifierConfig{Secrets: []string{specSecret}, Tolerance: 30 * time.Second, Clock: clock})
	require.NoError(t, err)
	_, err = v.Verify(specHeader(specSignature), []byte(specPayload))
	require.NoError(t, err)
	clock.Advance(time.Second)
	_, err = v.Verify(specHeader(specSignature), []byte(specPayload))
	require.ErrorIs(t, err, webhook.ErrTimestamp)
	require.ErrorContains(t, err, "before the receiver's clock")
}

func TestNewVerifierReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := webhook.NewVerifier(webhook.VerifierConfig{Secrets: []string{"whsec_short", secretA, "plain"}, Tolerance: -time.Second})
	require.ErrorIs(t, err, itsm.ErrValidation)
	var ve *itsm.ValidationError
	require.ErrorAs(t, err, &ve)
	var fields []string
	for _, f := range ve.Fields {
		fields = append(fields, f.Field)
	}
	require.Empty(t, cmp.Diff([]string{"secrets[0]", "secrets[2]", "tolerance"}, fields))

	_, err = webhook.NewVerifier(webhook.VerifierConfig{})
	require.ErrorAs(t, err, &ve)
	require.True(t, ve.Has("secrets"))
}
