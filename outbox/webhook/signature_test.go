package webhook_test

import (
	"errors"
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

// The test vector the Standard Webhooks reference libraries share.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specPayload   = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

// Two more secrets of 32 bytes each, for rotation.
const (
	secretA = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	secretB = "whsec_ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
)

func specHeader(sig string) http.Header {
	h := http.Header{}
	h.Set(webhook.HeaderID, specID)
	h.Set(webhook.HeaderTimestamp, strconv.Itoa(specTimestamp))
	h.Set(webhook.HeaderSignature, sig)
	return h
}

func TestSignMatchesSpecTestVector(t *testing.T) {
	t.Parallel()
	got, err := webhook.Sign(specID, time.Unix(specTimestamp, 999_000_000), []byte(specPayload), specSecret)
	require.NoError(t, err)
	require.Equal(t, specSignature, got)
}

func TestVerifyAcceptsSpecTestVector(t *testing.T) {
	t.Parallel()
	v, err := webhook.NewVerifier(webhook.VerifierConfig{
		Secrets: []string{specSecret},
		Clock:   itsmtest.NewClock(time.Unix(specTimestamp+60, 0)),
	})
	require.NoError(t, err)
	meta, err := v.Verify(specHeader(specSignature), []byte(specPayload))
	require.NoError(t, err)
	require.Equal(t, webhook.Meta{ID: specID, Timestamp: time.Unix(specTimestamp, 0).UTC()}, meta)
}

func TestSignWithSeveralSecretsSignsWithEachInOrder(t *testing.T) {
	t.Parallel()
	at := time.Unix(specTimestamp, 0)
	got, err := webhook.Sign(specID, at, []byte(specPayload), secretA, specSecret, secretB)
	require.NoError(t, err)
	entries := strings.Split(got, " ")
	require.Len(t, entries, 3)
	require.Equal(t, specSignature, entries[1])
	for i, secret := range []string{secretA, specSecret, secretB} {
		one, err := webhook.Sign(specID, at, []byte(specPayload), secret)
		require.NoError(t, err)
		require.Equal(t, one, entries[i], "entry %d", i)
	}
	require.NotEqual(t, entries[0], entries[2])
}

func TestSignRefusesBadSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		secrets []string
		fields  []string
	}{
		{"none", nil, []string{"secrets"}},
		{"no prefix", []string{strings.TrimPrefix(secretA, "whsec_")}, []string{"secrets[0]"}},
		{"asymmetric prefix", []string{"whsk_" + strings.TrimPrefix(secretA, "whsec_")}, []string{"secrets[0]"}},
		{"prefix only", []string{"whsec_"}, []string{"secrets[0]"}},
		{"not base64", []string{"whsec_not*base64!"}, []string{"secrets[0]"}},
		{"url base64", []string{"whsec_ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8-"}, []string{"secrets[0]"}},
		{"too short", []string{"whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRY="}, []string{"secrets[0]"}},
		{"too long", []string{"whsec_" + strings.Repeat("AAAA", 22)}, []string{"secrets[0]"}},
		{"second bad", []string{secretA, "whsec_x", secretB, ""}, []string{"secrets[1]", "secrets[3]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := webhook.Sign(specID, time.Unix(specTimestamp, 0), nil, tc.secrets...)
			require.ErrorIs(t, err, itsm.ErrValidation)
			var ve *itsm.ValidationError
			require.ErrorAs(t, err, &ve)
			var fields []string
			for _, f := range ve.Fields {
				fields = append(fields, f.Field)
			}
			require.Empty(t, cmp.Diff(tc.fields, fields))
			for _, s := range tc.secrets {
				if len(s) > len("whsec_x") {
					require.NotContains(t, err.Error(), strings.TrimPrefix(s, "whsec_"), "the error repeats a secret")
				}
			}
		})
	}
}

func TestSecretLengthBoundsAreInclusive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		bytes int
		enc   string
		ok    bool
	}{
		{23, strings.Repeat("AAAA", 7) + "AAA=", false},
		{webhook.MinSecretLen, strings.Repeat("AAAA", 8), true},
		{webhook.MaxSecretLen, strings.Repeat("AAAA", 21) + "AA==", true},
		{65, strings.Repeat("AAAA", 21) + "AAA=", false},
	}
	for _, tc := range tests {
		_, err := webhook.Sign(specID, time.Unix(specTimestamp, 0), nil, "whsec_"+tc.enc)
		if tc.ok {
			require.NoError(t, err, "%d bytes", tc.bytes)
		} else {
			require.ErrorIs(t, err, itsm.ErrValidation, "%d bytes", tc.bytes)
			require.ErrorContains(t, err, "decodes to "+strconv.Itoa(tc.bytes)+" bytes")
		}
	}
}

func TestNewSecretIsRandomAndUsable(t *testing.T) {
	t.Parallel()
	a, b := webhook.NewSecret(), webhook.NewSecret()
	require.NotEqual(t, a, b)
	require.True(t, strings.HasPrefix(a, webhook.SecretPrefix))
	sig, err := webhook.Sign(specID, time.Unix(specTimestamp, 0), []byte(specPayload), a)
	require.NoError(t, err)
	v, err := webhook.NewVerifier(webhook.VerifierConfig{Secrets: []string{a}, Clock: itsmtest.NewClock(time.Unix(specTimestamp, 0))})
	require.NoError(t, err)
	_, err = v.Verify(specHeader(sig), []byte(specPayload))
	require.NoError(t, err)
}

func TestParseSignatureHeader(t *testing.T) {
	t.Parallel()
	v1 := strings.TrimPrefix(specSignature, "v1,")
	tests := []struct {
		name   string
		header string
		want   []webhook.Signature
		err    error
	}{
		{"one", specSignature, []webhook.Signature{{"v1", v1}}, nil},
		{"spaces around and between", "  v1a,AAAA \t " + specSignature + " ", []webhook.Signature{{"v1a", "AAAA"}, {"v1", v1}}, nil},
		{"unknown version kept", "v2,AAAA " + specSignature, []webhook.Signature{{"v2", "AAAA"}, {"v1", v1}}, nil},
		{"empty", "", nil, webhook.ErrMissingHeader},
		{"blank", "  \t", nil, webhook.ErrMissingHeader},
		{"no comma", "v1" + v1, nil, webhook.ErrMalformedHeader},
		{"partial", "v1,", nil, webhook.ErrMalformedHeader},
		{"no version", "," + v1, nil, webhook.ErrMalformedHeader},
		{"version with punctuation", "v-1," + v1, nil, webhook.ErrMalformedHeader},
		{"not base64", "v1,!!!!", nil, webhook.ErrMalformedHeader},
		{"unpadded", "v1," + strings.TrimSuffix(v1, "="), nil, webhook.ErrMalformedHeader},
		{"short v1", "v1,AAAA", nil, webhook.ErrMalformedHeader},
		{"one bad among good", specSignature + " v1,", nil, webhook.ErrMalformedHeader},
		{"two commas", "v1," + v1 + ",x", nil, webhook.ErrMalformedHeader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := webhook.ParseSignatureHeader(tc.header)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.ErrorIs(t, err, webhook.ErrUnverified)
				var ve *webhook.VerifyError
				require.True(t, errors.As(err, &ve))
				require.Equal(t, webhook.HeaderSignature, ve.Header)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Empty(t, cmp.Diff(tc.want, got))
		})
	}
}
