package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of the Standard Webhooks format, in lower case as the
// specification writes them (HTTP header names are case-insensitive).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every serialized signing secret.
const SecretPrefix = "whsec_"

// Secret length bounds, in bytes after decoding, from the specification.
const (
	MinSecretLen = 24
	MaxSecretLen = 64
)

// VersionHMAC is the signature identifier of HMAC-SHA256 signatures, the
// only scheme this package signs and verifies.
const VersionHMAC = "v1"

// NewSecret returns a new random signing secret of 32 bytes, serialized
// as "whsec_" followed by their standard base64 encoding.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails; it aborts the program instead
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// parseSecret decodes a serialized secret, or says what is wrong with it
// without repeating any of it.
func parseSecret(s string) ([]byte, string) {
	enc, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, "must start with " + strconv.Quote(SecretPrefix)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(enc)
	if err != nil {
		return nil, "is not standard base64 after " + strconv.Quote(SecretPrefix)
	}
	if len(key) < MinSecretLen || len(key) > MaxSecretLen {
		return nil, fmt.Sprintf("decodes to %d bytes, not %d to %d", len(key), MinSecretLen, MaxSecretLen)
	}
	return key, ""
}

// mac returns the HMAC-SHA256 of "id.timestamp.payload" under key.
func mac(key []byte, id string, timestamp int64, payload []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, timestamp, 10))
	h.Write([]byte{'.'})
	h.Write(payload)
	return h.Sum(nil)
}

// Sign returns the webhook-signature header value for a webhook with the
// given id, attempt timestamp (truncated to Unix seconds) and body: one
// "v1,<base64>" entry per secret, in the order given, separated by single
// spaces. Each secret must be serialized as NewSecret makes them; an
// invalid one, or none at all, is an *itsm.ValidationError naming
// "secrets[i]" without repeating the secret. The id should contain no
// full stop and no byte that an HTTP header cannot carry; Sign does not
// check it.
func Sign(id string, timestamp time.Time, payload []byte, secrets ...string) (string, error) {
	keys, err := parseSecrets("webhook signature", secrets)
	if err != nil {
		return "", err
	}
	return sign(keys, id, timestamp.Unix(), payload), nil
}

func sign(keys [][]byte, id string, timestamp int64, payload []byte) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(VersionHMAC)
		b.WriteByte(',')
		b.WriteString(base64.StdEncoding.EncodeToString(mac(k, id, timestamp, payload)))
	}
	return b.String()
}

// Signature is one entry of a webhook-signature header.
type Signature struct {
	// Version identifies the scheme: "v1" for HMAC-SHA256, "v1a" for
	// ed25519, or another that a later version of the specification
	// defines.
	Version string
	// Value is the signature as sent, in standard base64.
	Value string
}

// String returns "version,value".
func (s Signature) String() string { return s.Version + "," + s.Value }

// ParseSignatureHeader splits a webhook-signature header value into its
// entries, in order. Entries are separated by one or more spaces or tabs
// (leading and trailing ones are ignored); each is "version,value" with a
// non-empty version of letters and digits and a non-empty value of
// standard base64 (padded). A "v1" value must decode to the 32 bytes of
// an HMAC-SHA256. Entries of other versions are kept for the caller to
// ignore or check. An empty header, or any malformed entry, is a
// *VerifyError matching ErrMissingHeader or ErrMalformedHeader; the
// whole header is refused rather than the bad entry skipped, so that a
// sender's mistake shows at once.
func ParseSignatureHeader(h string) ([]Signature, error) {
	fields := strings.FieldsFunc(h, func(r rune) bool { return r == ' ' || r == '\t' })
	if len(fields) == 0 {
		return nil, &VerifyError{Err: ErrMissingHeader, Header: HeaderSignature}
	}
	sigs := make([]Signature, 0, len(fields))
	for i, f := range fields {
		version, value, ok := strings.Cut(f, ",")
		if problem := signatureProblem(version, value, ok); problem != "" {
			return nil, &VerifyError{Err: ErrMalformedHeader, Header: HeaderSignature,
				Detail: fmt.Sprintf("entry %d %s", i+1, problem)}
		}
		sigs = append(sigs, Signature{Version: version, Value: value})
	}
	return sigs, nil
}

func signatureProblem(version, value string, comma bool) string {
	switch {
	case !comma:
		return "has no comma between version and signature"
	case version == "":
		return "has an empty version"
	case value == "":
		return "has an empty signature"
	}
	for _, r := range version {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return "has a version that is not letters and digits"
		}
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(value)
	if err != nil {
		return "has a signature that is not standard base64"
	}
	if version == VersionHMAC && len(raw) != sha256.Size {
		return fmt.Sprintf("has a %s signature of %d bytes, not %d", VersionHMAC, len(raw), sha256.Size)
	}
	return ""
}
