package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/outbox"
	"github.com/itsmkit/itsmkit/record"
)

// DefaultTimeout bounds one delivery attempt when Config.Timeout is zero;
// the specification recommends 15 to 30 seconds.
const DefaultTimeout = 15 * time.Second

// MaxErrorBody is how many bytes of a refusing answer's body a
// ResponseError keeps.
const MaxErrorBody = 1024

// maxDrain is how much of an answer's body the Sender reads, past what it
// keeps, so that the connection can be reused; a longer body is cut off
// and its connection closed.
const maxDrain = 64 << 10

// DefaultUserAgent is the User-Agent of a Sender's requests unless
// Config.Header sets one.
const DefaultUserAgent = "itsmkit-webhook/1"

// PayloadFunc builds the body of the webhook for a message. It must
// return the same bytes each time it is called with the same message,
// since a receiver may compare the bodies of repeated deliveries.
type PayloadFunc func(m record.Message) ([]byte, error)

// Config configures a Sender.
type Config struct {
	// URL is the receiver's endpoint, with scheme http or https and a
	// host. Required.
	URL string
	// Secrets are the signing secrets, serialized as NewSecret makes
	// them ("whsec_" and base64 of 24 to 64 bytes). Every request is
	// signed with each, in order, so that while a secret is rotated the
	// receiver can verify with either the old or the new one. At least
	// one is required.
	Secrets []string
	// Client sends the requests; nil means a client of the Sender's own
	// whose Timeout is the Sender's Timeout. The Sender works on a
	// shallow copy of the client that never follows redirects (a
	// redirected webhook would resend a signed body to another address;
	// the specification asks senders to treat 3xx as a failure instead),
	// so the Client given is not changed.
	Client *http.Client
	// Timeout bounds each attempt, from sending the request to reading
	// the answer; zero means DefaultTimeout, negative is refused. The
	// context given to Deliver may end it sooner.
	Timeout time.Duration
	// Header holds extra headers sent with every request, such as an
	// Authorization the receiver asks for, or a User-Agent other than
	// DefaultUserAgent. It may not set Content-Type (see ContentType),
	// Content-Length, Host or any of the webhook-* headers. The Sender
	// keeps a copy.
	Header http.Header
	// Payload builds the request body; nil means Envelope. An error from
	// it is returned from Deliver, wrapped, as it is: wrap it with
	// outbox.Permanent when retrying cannot fix it.
	Payload PayloadFunc
	// ContentType is the body's media type; empty means
	// "application/json".
	ContentType string
	// Namespace, when set, goes into every webhook-id (see MessageID), so
	// that two stores posting the same events to one receiver (a test
	// and a production one, two tenants) give distinct ids.
	Namespace string
	// Clock gives the attempt's time for webhook-timestamp, and "now"
	// for a Retry-After given as a date; nil means the system clock.
	Clock itsm.Clock
}

// Sender delivers outbox messages as Standard Webhooks to one URL. It is
// an outbox.Handler and safe for concurrent use.
type Sender struct {
	url         string
	keys        [][]byte
	client      *http.Client
	timeout     time.Duration
	header      http.Header
	payload     PayloadFunc
	contentType string
	namespace   string
	clock       itsm.Clock
}

var _ outbox.Handler = (*Sender)(nil)

// New checks cfg and returns a Sender. Every problem is reported at once
// in an *itsm.ValidationError naming the field ("url", "secrets",
// "secrets[i]", "timeout", "header.<Name>", "content_type"); secrets are
// never repeated in it.
func New(cfg Config) (*Sender, error) {
	v := &itsm.ValidationError{Subject: "webhook sender"}
	checkURL(v, cfg.URL)
	keys := collectSecrets(v, cfg.Secrets)
	if cfg.Timeout < 0 {
		v.Add("timeout", "must not be negative")
	}
	header := checkHeader(v, cfg.Header)
	if cfg.ContentType != "" && !validHeaderValue(cfg.ContentType) {
		v.Add("content_type", "is not a valid header value")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	s := &Sender{
		url:         cfg.URL,
		keys:        keys,
		timeout:     cfg.Timeout,
		header:      header,
		payload:     cfg.Payload,
		contentType: cfg.ContentType,
		namespace:   cfg.Namespace,
		clock:       itsm.ClockOrSystem(cfg.Clock),
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if s.payload == nil {
		s.payload = Envelope
	}
	if s.contentType == "" {
		s.contentType = "application/json"
	}
	if cfg.Client != nil {
		c := *cfg.Client
		s.client = &c
	} else {
		s.client = &http.Client{Timeout: s.timeout}
	}
	s.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return s, nil
}

func checkURL(v *itsm.ValidationError, raw string) {
	if raw == "" {
		v.Add("url", "must be set")
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		v.Add("url", "is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		v.Add("url", "must have scheme http or https")
	case u.Host == "":
		v.Add("url", "must name a host")
	}
}

// reservedHeaders are the headers Config.Header may not set.
var reservedHeaders = map[string]bool{
	"Content-Type":   true,
	"Content-Length": true,
	"Host":           true,
}

func checkHeader(v *itsm.ValidationError, h http.Header) http.Header {
	out := make(http.Header, len(h))
	for _, name := range slices.Sorted(maps.Keys(h)) {
		values := h[name]
		field := "header." + name
		canon := http.CanonicalHeaderKey(name)
		switch {
		case !validHeaderName(name):
			v.Add(field, "is not a valid header name")
		case reservedHeaders[canon] || strings.HasPrefix(canon, "Webhook-"):
			v.Add(field, "is set by the sender and may not be given")
		}
		for _, val := range values {
			if !validHeaderValue(val) {
				v.Add(field, "has a value that is not valid UTF-8 or holds a control character")
				break
			}
		}
		out[canon] = append(out[canon], values...)
	}
	return out
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s is valid UTF-8 without control
// characters other than tab.
func validHeaderValue(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < ' ' && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}

// MessageID returns the webhook-id of the event e: "msg_" followed by 24
// characters of unpadded base64url, derived from a SHA-256 of the
// namespace and the event's identity (kind, record ID and sequence). It
// is therefore the same for every attempt, on every process, of the same
// event, and distinct for distinct events of a store (unless SHA-256
// collides); it never contains a full stop, so it cannot shift the
// "id.timestamp.payload" content that is signed.
func MessageID(namespace string, e itsm.Event) string {
	h := sha256.New()
	for _, s := range [...]string{namespace, e.Kind, e.RecordID} {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(s))))
		h.Write([]byte(s))
	}
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(e.Sequence)))
	return "msg_" + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18])
}

// EventType returns the webhook event type of e: its kind and action
// joined by a full stop, such as "incident.resolve", with every byte of
// either outside [a-zA-Z0-9_] replaced by an underscore, as the
// specification recommends ("set-priority" becomes "set_priority"). An
// empty kind or action stays empty.
func EventType(e itsm.Event) string {
	return typeIdent(e.Kind) + "." + typeIdent(e.Action)
}

func typeIdent(s string) string {
	b := []byte(s)
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			b[i] = '_'
		}
	}
	return string(b)
}

// envelope is the payload structure the specification recommends.
type envelope struct {
	Type      string     `json:"type"`
	Timestamp string     `json:"timestamp"`
	Data      itsm.Event `json:"data"`
}

// Envelope is the default PayloadFunc: compact JSON
// {"type": EventType(event), "timestamp": the event's time in UTC,
// RFC 3339 with nanoseconds, "data": the audit event}. The timestamp is
// when the change happened, not when it is delivered (that is
// webhook-timestamp). An event that fails itsm.Event.Validate (which no
// event a store returns does) is refused with an error that matches both
// itsm.ErrValidation and outbox.ErrPermanent.
func Envelope(m record.Message) ([]byte, error) {
	if err := m.Event.Validate(); err != nil {
		return nil, outbox.Permanent(err)
	}
	b, err := json.Marshal(envelope{
		Type:      EventType(m.Event),
		Timestamp: m.Event.At.UTC().Format(time.RFC3339Nano),
		Data:      m.Event,
	})
	if err != nil {
		return nil, outbox.Permanent(err)
	}
	return b, nil
}

// ResponseError is an answer other than 2xx. It is returned as it is
// when retrying may help (408, 425, 429 and 5xx) and wrapped with
// outbox.Permanent otherwise; errors.As finds it either way.
type ResponseError struct {
	// URL is the Sender's URL, without any password.
	URL string
	// StatusCode is the answer's HTTP status code.
	StatusCode int
	// RetryAfter is how long the receiver asked the sender to wait, from
	// a Retry-After header of seconds or an HTTP date (measured from the
	// Sender's clock, and zero for a date already past); zero when the
	// answer had none or it did not parse.
	RetryAfter time.Duration
	// Body holds the start of the answer's body, at most MaxErrorBody
	// bytes, with invalid UTF-8 replaced.
	Body string
}

// Error says which status the receiver answered, and what it said.
func (e *ResponseError) Error() string {
	s := fmt.Sprintf("webhook: %s answered %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %v)", e.RetryAfter)
	}
	if e.Body != "" {
		s += ": " + strconv.Quote(e.Body)
	}
	return s
}

// Retryable reports whether another attempt may succeed: for status 408
// Request Timeout, 425 Too Early, 429 Too Many Requests and every 5xx.
func (e *ResponseError) Retryable() bool { return retryableStatus(e.StatusCode) }

func retryableStatus(code int) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests:
		return true
	default:
		return code >= 500 && code <= 599
	}
}

// RetryAfter returns the wait a receiver asked for in the *ResponseError
// that err holds, and whether it asked for one (a positive wait).
func RetryAfter(err error) (time.Duration, bool) {
	var re *ResponseError
	if errors.As(err, &re) && re.RetryAfter > 0 {
		return re.RetryAfter, true
	}
	return 0, false
}

// Deliver posts the message to the Sender's URL, signed, and reports the
// outcome as outbox.Handler asks:
//
//   - nil for a 2xx answer;
//   - an error matching outbox.ErrPermanent for a message whose event
//     lacks its identity (kind, record ID, a positive sequence), for any
//     other answer than those below (3xx, which is never followed, and
//     4xx), holding a *ResponseError, and for a payload error that
//     matches outbox.ErrPermanent;
//   - a plain error, worth retrying, for 408, 425, 429 and 5xx answers
//     (a *ResponseError), for network errors, when the Sender's Timeout
//     or ctx ends the attempt (the error then matches
//     context.DeadlineExceeded or context.Canceled), and for any other
//     payload error.
//
// Each attempt carries the same webhook-id (MessageID of the event) and
// body, a fresh webhook-timestamp from the clock and its signatures. The
// answer's body is read (up to a bound) and closed in every case.
func (s *Sender) Deliver(ctx context.Context, m record.Message) error {
	e := m.Event
	if err := outbox.CheckEvent(e); err != nil {
		return outbox.Permanent(fmt.Errorf("webhook: message %d: %w", m.ID, err))
	}
	body, err := s.payload(m)
	if err != nil {
		return fmt.Errorf("webhook: build payload of message %d: %w", m.ID, err)
	}
	id := MessageID(s.namespace, e)
	ts := s.clock.Now().Unix()

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil { // New checked the URL
		return outbox.Permanent(fmt.Errorf("webhook: %w", err))
	}
	for k, vs := range s.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header.Set("User-Agent", DefaultUserAgent)
	}
	req.Header.Set("Content-Type", s.contentType)
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, sign(s.keys, id, ts, body))

	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: deliver message %d (%s): %w", m.ID, id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
		return nil
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
	re := &ResponseError{
		URL:        req.URL.Redacted(),
		StatusCode: resp.StatusCode,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), s.clock.Now()),
		Body:       strings.ToValidUTF8(string(head), "\uFFFD"),
	}
	if re.Retryable() {
		return re
	}
	return outbox.Permanent(re)
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP
// date, measured from now. It returns 0 for an empty or malformed value
// and for a date not after now, and caps a wait too long for a Duration.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if v[0] >= '0' && v[0] <= '9' {
		for i := 0; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				return 0
			}
		}
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > math.MaxInt64/int64(time.Second) {
			return math.MaxInt64
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil || !t.After(now) {
		return 0
	}
	return t.Sub(now)
}
