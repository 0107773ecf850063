package webhook_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm/itsmtest"
	"github.com/itsmkit/itsmkit/outbox/webhook"
)

// FuzzParseSignatureHeader checks that the parser never panics, that it
// either refuses a header or returns entries that format back to a header
// it parses to the same entries, and that verification with an arbitrary
// header never succeeds unless the header holds the right signature.
func FuzzParseSignatureHeader(f *testing.F) {
	for _, s := range []string{
		specSignature,
		"v1,",
		",",
		"v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg== " + specSignature,
		"v2,AAAA\tv1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
		"  ",
		"v1,,",
		"é,AAAA",
	} {
		f.Add(s)
	}
	v, err := webhook.NewVerifier(webhook.VerifierConfig{
		Secrets: []string{specSecret},
		Clock:   itsmtest.NewClock(time.Unix(specTimestamp, 0)),
	})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, h string) {
		sigs, err := webhook.ParseSignatureHeader(h)
		if err != nil {
			require.ErrorIs(t, err, webhook.ErrUnverified)
			require.Nil(t, sigs)
		} else {
			require.NotEmpty(t, sigs)
			parts := make([]string, len(sigs))
			for i, s := range sigs {
				require.NotEmpty(t, s.Version)
				require.NotEmpty(t, s.Value)
				require.NotContains(t, s.Value, " ")
				parts[i] = s.String()
			}
			again, err := webhook.ParseSignatureHeader(strings.Join(parts, " "))
			require.NoError(t, err)
			require.Equal(t, sigs, again)
		}
		_, verr := v.Verify(specHeader(h), []byte(specPayload))
		if verr == nil {
			require.Contains(t, strings.Fields(h), specSignature)
		}
	})
}
