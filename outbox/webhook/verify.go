package webhook

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
)

// DefaultTolerance is how far a webhook's timestamp may lie from the
// receiver's clock, either way, when VerifierConfig.Tolerance is zero.
const DefaultTolerance = 5 * time.Minute

// Errors a Verifier returns, inside a *VerifyError. Every one of them
// also matches ErrUnverified, so a receiver can refuse with one test and
// pick its answer (400 or 401, say) with the others.
var (
	// ErrUnverified is matched by every refusal of Verify.
	ErrUnverified = errors.New("webhook: not verified")
	// ErrMissingHeader reports that webhook-id, webhook-timestamp or
	// webhook-signature is absent or empty.
	ErrMissingHeader = errors.New("webhook: missing header")
	// ErrMalformedHeader reports a header that is present but not in the
	// format of the specification: a timestamp that is not a decimal
	// number of seconds, an id with a full stop, a signature entry that
	// is not "version,base64".
	ErrMalformedHeader = errors.New("webhook: malformed header")
	// ErrTimestamp reports a timestamp outside the tolerance around the
	// receiver's clock: a replay of an old webhook, or clocks too far
	// apart.
	ErrTimestamp = errors.New("webhook: timestamp outside tolerance")
	// ErrNoMatchingSignature reports that no v1 signature of the header
	// matches the body under any of the secrets: a forged or altered
	// webhook, or a secret that is not (or no longer) shared.
	ErrNoMatchingSignature = errors.New("webhook: no matching signature")
)

// VerifyError is a refusal of Verify. It matches Err and ErrUnverified
// with errors.Is. It never holds a secret or an expected signature.
type VerifyError struct {
	// Err is ErrMissingHeader, ErrMalformedHeader, ErrTimestamp or
	// ErrNoMatchingSignature.
	Err error
	// Header names the header concerned (HeaderID, HeaderTimestamp or
	// HeaderSignature).
	Header string
	// Detail says more, such as how far the timestamp lies off; it may
	// be empty.
	Detail string
}

// Error describes the refusal.
func (e *VerifyError) Error() string {
	s := e.Err.Error()
	if e.Header != "" {
		s += ": " + e.Header
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns Err and ErrUnverified.
func (e *VerifyError) Unwrap() []error { return []error{e.Err, ErrUnverified} }

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	// Secrets are the signing secrets shared with the sender, serialized
	// as NewSecret makes them ("whsec_" and base64). A webhook verifies
	// when any one of its v1 signatures matches under any one secret, so
	// a receiver lists the old and the new secret while they are being
	// rotated. At least one is required.
	Secrets []string
	// Tolerance is how far the webhook-timestamp may lie before or after
	// the Clock's reading; zero means DefaultTolerance, negative is
	// refused. A timestamp exactly Tolerance away is accepted.
	Tolerance time.Duration
	// Clock tells the receiver's time; nil means the system clock.
	Clock itsm.Clock
}

// Verifier checks received webhooks. It is safe for concurrent use.
type Verifier struct {
	keys      [][]byte
	tolerance time.Duration
	clock     itsm.Clock
}

// NewVerifier checks cfg and returns a Verifier. Every problem (no
// secret, a secret that is not "whsec_" and 24 to 64 bytes of standard
// base64, a negative tolerance) is reported at once in an
// *itsm.ValidationError naming "secrets", "secrets[i]" or "tolerance";
// the secrets themselves are never repeated.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	v := &itsm.ValidationError{Subject: "webhook verifier"}
	keys := collectSecrets(v, cfg.Secrets)
	if cfg.Tolerance < 0 {
		v.Add("tolerance", "must not be negative")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	tol := cfg.Tolerance
	if tol == 0 {
		tol = DefaultTolerance
	}
	return &Verifier{keys: keys, tolerance: tol, clock: itsm.ClockOrSystem(cfg.Clock)}, nil
}

// Meta is what a verified webhook's headers say.
type Meta struct {
	// ID is the webhook-id: the same for every attempt of one event, so a
	// receiver can use it to drop repeats.
	ID string
	// Timestamp is the attempt's time, from webhook-timestamp, in UTC.
	Timestamp time.Time
}

// Verify checks a received webhook: h holds its headers and payload its
// body exactly as received (the signature covers the raw bytes; do not
// decode and re-encode the body before verifying). It checks, in this
// order, that the three headers are present (webhook-id and
// webhook-timestamp once; several webhook-signature lines are joined
// with spaces), that webhook-id has no full
// stop, that webhook-timestamp is a decimal number of Unix seconds (no
// sign, no leading zeros) within the tolerance of the clock, and that
// the signature header is well formed (see ParseSignatureHeader) with a
// v1 entry matching under one of the secrets; signatures are compared in
// constant time. Entries of other versions are ignored. A refusal is a
// *VerifyError; on success Verify returns the webhook's Meta.
func (v *Verifier) Verify(h http.Header, payload []byte) (Meta, error) {
	id, ts := h.Values(HeaderID), h.Values(HeaderTimestamp)
	sig := strings.Join(h.Values(HeaderSignature), " ")
	for _, p := range [...]struct {
		name   string
		values []string
	}{{HeaderID, id}, {HeaderTimestamp, ts}, {HeaderSignature, []string{sig}}} {
		switch {
		case len(p.values) == 0 || strings.TrimSpace(p.values[0]) == "":
			return Meta{}, &VerifyError{Err: ErrMissingHeader, Header: p.name}
		case len(p.values) > 1:
			return Meta{}, &VerifyError{Err: ErrMalformedHeader, Header: p.name, Detail: "is given more than once"}
		}
	}
	return v.verify(id[0], ts[0], sig, payload)
}

func (v *Verifier) verify(id, ts, sig string, payload []byte) (Meta, error) {
	if strings.Contains(id, ".") {
		return Meta{}, &VerifyError{Err: ErrMalformedHeader, Header: HeaderID, Detail: "contains a full stop"}
	}
	secs, ok := parseTimestamp(ts)
	if !ok {
		return Meta{}, &VerifyError{Err: ErrMalformedHeader, Header: HeaderTimestamp,
			Detail: "is not a decimal number of Unix seconds"}
	}
	at := time.Unix(secs, 0).UTC()
	now := v.clock.Now()
	if off := at.Sub(now); at.Before(now.Add(-v.tolerance)) || at.After(now.Add(v.tolerance)) {
		detail := "lies more than " + v.tolerance.String() + " "
		if off < 0 {
			detail += "before"
		} else {
			detail += "after"
		}
		return Meta{}, &VerifyError{Err: ErrTimestamp, Header: HeaderTimestamp, Detail: detail + " the receiver's clock"}
	}
	sigs, err := ParseSignatureHeader(sig)
	if err != nil {
		return Meta{}, err
	}
	expected := make([][]byte, len(v.keys))
	for i, k := range v.keys {
		expected[i] = mac(k, id, secs, payload)
	}
	for _, s := range sigs {
		if s.Version != VersionHMAC {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(s.Value)
		if err != nil { // ParseSignatureHeader checked it
			continue
		}
		for _, e := range expected {
			if hmac.Equal(got, e) {
				return Meta{ID: id, Timestamp: at}, nil
			}
		}
	}
	return Meta{}, &VerifyError{Err: ErrNoMatchingSignature, Header: HeaderSignature}
}

// parseTimestamp parses a canonical decimal number of seconds: digits
// only, no leading zero except for "0" itself, within int64.
func parseTimestamp(s string) (int64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// collectSecrets decodes secrets, adding a problem to v for each bad one
// (and for none at all).
func collectSecrets(v *itsm.ValidationError, secrets []string) [][]byte {
	if len(secrets) == 0 {
		v.Add("secrets", "must list at least one secret")
		return nil
	}
	keys := make([][]byte, 0, len(secrets))
	for i, s := range secrets {
		key, problem := parseSecret(s)
		if problem != "" {
			v.Add("secrets["+strconv.Itoa(i)+"]", "%s", problem)
			continue
		}
		keys = append(keys, key)
	}
	return keys
}

// parseSecrets decodes secrets or returns an *itsm.ValidationError about
// subject.
func parseSecrets(subject string, secrets []string) ([][]byte, error) {
	v := &itsm.ValidationError{Subject: subject}
	keys := collectSecrets(v, secrets)
	return keys, v.Err()
}
