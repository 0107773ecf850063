package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/itsm/itsmtest"
	"github.com/itsmkit/itsmkit/outbox"
	"github.com/itsmkit/itsmkit/outbox/webhook"
	"github.com/itsmkit/itsmkit/record"
)

var start = time.Date(2026, 11, 20, 15, 4, 5, 123456789, time.UTC)

func resolved() record.Message {
	return record.Message{
		ID: 41,
		Event: itsm.Event{
			Kind:     "incident",
			RecordID: "INC0001001",
			Sequence: 3,
			Actor:    itsm.Actor{ID: "alice", Name: "Alice"},
			At:       start,
			Action:   "resolve",
			From:     "in-progress",
			To:       "resolved",
			Reason:   "restarted the mail relay",
		},
		Attempts: 1,
	}
}

// received is one request as the test server saw it.
type received struct {
	header http.Header
	body   []byte
}

// receiver is an httptest server whose answers a test scripts per request.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []received
	answer func(n int, w http.ResponseWriter, r *http.Request)
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{t: t, answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, received{header: r.Header.Clone(), body: body})
		n := len(rc.reqs)
		rc.mu.Unlock()
		rc.answer(n, w, r)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

func newSender(t *testing.T, cfg webhook.Config) *webhook.Sender {
	t.Helper()
	if cfg.Secrets == nil {
		cfg.Secrets = []string{secretA}
	}
	s, err := webhook.New(cfg)
	require.NoError(t, err)
	return s
}

func TestDeliverFailsTimesOutAndRecovers(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1:
			http.Error(w, "database is down", http.StatusInternalServerError)
		case 2:
			<-r.Context().Done() // answers only after the sender gave up
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	clock := itsmtest.NewClock(start)
	s := newSender(t, webhook.Config{URL: rc.srv.URL + "/hooks/itsm", Timeout: 200 * time.Millisecond, Clock: clock})
	m := resolved()

	err := s.Deliver(context.Background(), m)
	var re *webhook.ResponseError
	require.ErrorAs(t, err, &re)
	require.Equal(t, http.StatusInternalServerError, re.StatusCode)
	require.Equal(t, "database is down\n", re.Body)
	require.True(t, re.Retryable())
	require.NotErrorIs(t, err, outbox.ErrPermanent)

	clock.Advance(5 * time.Second)
	m.Attempts++
	err = s.Deliver(context.Background(), m)
	require.Error(t, err)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotErrorIs(t, err, outbox.ErrPermanent)
	require.False(t, errors.As(err, &re), "a timeout is no answer")

	clock.Advance(5 * time.Minute)
	m.Attempts++
	require.NoError(t, s.Deliver(context.Background(), m))

	reqs := rc.requests()
	require.Len(t, reqs, 3)
	v, err := webhook.NewVerifier(webhook.VerifierConfig{Secrets: []string{secretA}, Clock: clock})
	require.NoError(t, err)
	want := []time.Time{start, start.Add(5 * time.Second), start.Add(5*time.Second + 5*time.Minute)}
	for i, r := range reqs {
		require.Equal(t, webhook.MessageID("", m.Event), r.header.Get(webhook.HeaderID), "attempt %d", i+1)
		require.Equal(t, strconv.FormatInt(want[i].Unix(), 10), r.header.Get(webhook.HeaderTimestamp), "attempt %d", i+1)
		sig, err := webhook.Sign(r.header.Get(webhook.HeaderID), want[i], r.body, secretA)
		require.NoError(t, err)
		require.Equal(t, sig, r.header.Get(webhook.HeaderSignature), "attempt %d", i+1)
		require.Equal(t, "application/json", r.header.Get("Content-Type"))
		require.Equal(t, webhook.DefaultUserAgent, r.header.Get("User-Agent"))
		require.Equal(t, string(reqs[0].body), string(r.body), "attempt %d sent another body", i+1)
	}
	// Only the last attempt is recent enough for the receiver's clock.
	meta, err := v.Verify(reqs[2].header, reqs[2].body)
	require.NoError(t, err)
	require.Equal(t, reqs[0].header.Get(webhook.HeaderID), meta.ID)
	_, err = v.Verify(reqs[0].header, reqs[0].body)
	require.ErrorIs(t, err, webhook.ErrTimestamp)
	require.NotEqual(t, reqs[0].header.Get(webhook.HeaderSignature), reqs[1].header.Get(webhook.HeaderSignature))
}

func TestDeliverSendsTheEnvelope(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) {})
	s := newSender(t, webhook.Config{URL: rc.srv.URL, Clock: itsmtest.NewClock(start)})
	require.NoError(t, s.Deliver(context.Background(), resolved()))
	reqs := rc.requests()
	require.Len(t, reqs, 1)
	var got struct {
		Type      string     `json:"type"`
		Timestamp string     `json:"timestamp"`
		Data      itsm.Event `json:"data"`
	}
	require.NoError(t, json.Unmarshal(reqs[0].body, &got))
	require.Equal(t, "incident.resolve", got.Type)
	require.Equal(t, "2026-11-20T15:04:05.123456789Z", got.Timestamp)
	require.Empty(t, cmp.Diff(resolved().Event, got.Data))
	env, err := webhook.Envelope(resolved())
	require.NoError(t, err)
	require.Equal(t, string(env), string(reqs[0].body))
	require.NotContains(t, string(env), "\n", "the envelope is compact JSON")
}

func TestDeliverClassifiesAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status    int
		permanent bool
	}{
		{http.StatusOK, false},
		{http.StatusAccepted, false},
		{http.StatusMovedPermanently, true},
		{http.StatusTemporaryRedirect, true},
		{http.StatusBadRequest, true},
		{http.StatusUnauthorized, true},
		{http.StatusForbidden, true},
		{http.StatusNotFound, true},
		{http.StatusRequestTimeout, false},
		{http.StatusGone, true},
		{http.StatusRequestEntityTooLarge, true},
		{http.StatusTooEarly, false},
		{http.StatusUnprocessableEntity, true},
		{http.StatusTooManyRequests, false},
		{http.StatusInternalServerError, false},
		{http.StatusNotImplemented, false},
		{http.StatusBadGateway, false},
		{http.StatusServiceUnavailable, false},
		{http.StatusGatewayTimeout, false},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				if tc.status >= 300 && tc.status < 400 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tc.status)
			})
			s := newSender(t, webhook.Config{URL: rc.srv.URL})
			err := s.Deliver(context.Background(), resolved())
			require.Len(t, rc.requests(), 1, "a redirect must not be followed")
			if tc.status < 300 {
				require.NoError(t, err)
				return
			}
			var re *webhook.ResponseError
			require.ErrorAs(t, err, &re)
			require.Equal(t, tc.status, re.StatusCode)
			require.Equal(t, !tc.permanent, re.Retryable())
			require.Equal(t, tc.permanent, errors.Is(err, outbox.ErrPermanent))
			require.Equal(t, rc.srv.URL, re.URL)
			require.ErrorContains(t, err, strconv.Itoa(tc.status))
		})
	}
}

func TestDeliverExposesRetryAfter(t *testing.T) {
	t.Parallel()
	clock := itsmtest.NewClock(start)
	tests := []struct {
		name  string
		value string
		want  time.Duration
	}{
		{"seconds", "120", 2 * time.Minute},
		{"zero", "0", 0},
		{"date", start.Add(90 * time.Second).Format(http.TimeFormat), 89*time.Second + 876543211*time.Nanosecond},
		{"past date", start.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"malformed", "soon", 0},
		{"negative", "-5", 0},
		{"fraction", "1.5", 0},
		{"huge", "99999999999999999999", time.Duration(1<<63 - 1)},
		{"absent", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				if tc.value != "" {
					w.Header().Set("Retry-After", tc.value)
				}
				http.Error(w, "slow down", http.StatusTooManyRequests)
			})
			s := newSender(t, webhook.Config{URL: rc.srv.URL, Clock: clock})
			err := s.Deliver(context.Background(), resolved())
			require.NotErrorIs(t, err, outbox.ErrPermanent)
			var re *webhook.ResponseError
			require.ErrorAs(t, err, &re)
			require.Equal(t, http.StatusTooManyRequests, re.StatusCode)
			require.Equal(t, tc.want, re.RetryAfter)
			d, ok := webhook.RetryAfter(err)
			require.Equal(t, tc.want, d)
			require.Equal(t, tc.want > 0, ok)
		})
	}
}

func TestRetryAfterFindsAWrappedResponseError(t *testing.T) {
	t.Parallel()
	err := outbox.Permanent(&webhook.ResponseError{StatusCode: http.StatusServiceUnavailable, RetryAfter: time.Minute})
	d, ok := webhook.RetryAfter(errors.Join(errors.New("attempt 3"), err))
	require.True(t, ok)
	require.Equal(t, time.Minute, d)
	_, ok = webhook.RetryAfter(errors.New("connection refused"))
	require.False(t, ok)
	_, ok = webhook.RetryAfter(nil)
	require.False(t, ok)
}

func TestDeliverBoundsTheBodyInTheError(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "\xff"+strings.Repeat("x", 1<<20))
	})
	s := newSender(t, webhook.Config{URL: rc.srv.URL})
	err := s.Deliver(context.Background(), resolved())
	require.ErrorIs(t, err, outbox.ErrPermanent)
	var re *webhook.ResponseError
	require.ErrorAs(t, err, &re)
	require.Equal(t, "\uFFFD"+strings.Repeat("x", webhook.MaxErrorBody-1), re.Body)
	require.Less(t, len(err.Error()), 2*webhook.MaxErrorBody)
}

func TestDeliverSignsWithEverySecret(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) {})
	clock := itsmtest.NewClock(start)
	s := newSender(t, webhook.Config{URL: rc.srv.URL, Secrets: []string{secretB, secretA}, Clock: clock})
	require.NoError(t, s.Deliver(context.Background(), resolved()))
	r := rc.requests()[0]
	require.Len(t, strings.Fields(r.header.Get(webhook.HeaderSignature)), 2)
	// A receiver that knows only the old secret, only the new one, or
	// both, verifies; one that knows neither does not.
	for _, secrets := range [][]string{{secretA}, {secretB}, {secretA, secretB}, {specSecret}} {
		v, err := webhook.NewVerifier(webhook.VerifierConfig{Secrets: secrets, Clock: clock})
		require.NoError(t, err)
		_, err = v.Verify(r.header, r.body)
		if secrets[0] == specSecret {
			require.ErrorIs(t, err, webhook.ErrNoMatchingSignature)
		} else {
			require.NoError(t, err, "secrets %v", secrets)
		}
	}
}

func TestDeliverSendsExtraHeadersAndCustomPayload(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) {})
	header := http.Header{"authorization": {"Bearer t0ken"}, "User-Agent": {"desk/2"}, "X-Tenant": {"emea", "apac"}}
	s := newSender(t, webhook.Config{
		URL:         rc.srv.URL,
		Header:      header,
		ContentType: "text/plain; charset=utf-8",
		Payload: func(m record.Message) ([]byte, error) {
			return []byte(m.Event.String()), nil
		},
	})
	header.Set("X-Tenant", "changed after New")
	require.NoError(t, s.Deliver(context.Background(), resolved()))
	r := rc.requests()[0]
	require.Equal(t, "Bearer t0ken", r.header.Get("Authorization"))
	require.Equal(t, "desk/2", r.header.Get("User-Agent"))
	require.Equal(t, []string{"emea", "apac"}, r.header.Values("X-Tenant"))
	require.Equal(t, "text/plain; charset=utf-8", r.header.Get("Content-Type"))
	require.Equal(t, resolved().Event.String(), string(r.body))
}

func TestDeliverPayloadErrors(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) {})
	boom := errors.New("template missing")
	s := newSender(t, webhook.Config{URL: rc.srv.URL, Payload: func(record.Message) ([]byte, error) { return nil, boom }})
	err := s.Deliver(context.Background(), resolved())
	require.ErrorIs(t, err, boom)
	require.NotErrorIs(t, err, outbox.ErrPermanent)

	s = newSender(t, webhook.Config{URL: rc.srv.URL})
	m := resolved()
	m.Event.Reason = "bad \xff byte"
	err = s.Deliver(context.Background(), m)
	require.ErrorIs(t, err, outbox.ErrPermanent)
	require.ErrorIs(t, err, itsm.ErrValidation)
	require.Empty(t, rc.requests())
}

func TestDeliverRefusesAMessageWithoutIdentity(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) {})
	s := newSender(t, webhook.Config{URL: rc.srv.URL})
	for _, change := range []func(*record.Message){
		func(m *record.Message) { m.Event.Kind = "" },
		func(m *record.Message) { m.Event.RecordID = "" },
		func(m *record.Message) { m.Event.Sequence = 0 },
	} {
		m := resolved()
		change(&m)
		err := s.Deliver(context.Background(), m)
		require.ErrorIs(t, err, outbox.ErrPermanent)
		require.ErrorIs(t, err, itsm.ErrValidation)
	}
	require.Empty(t, rc.requests())
}

func TestDeliverNetworkErrorsAreRetryable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	s := newSender(t, webhook.Config{URL: url})
	err := s.Deliver(context.Background(), resolved())
	require.Error(t, err)
	require.NotErrorIs(t, err, outbox.ErrPermanent)
	require.ErrorContains(t, err, webhook.MessageID("", resolved().Event))
}

func TestDeliverHonoursTheContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	rc := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		cancel() // the deliverer gives up while the receiver works
		<-r.Context().Done()
	})
	s := newSender(t, webhook.Config{URL: rc.srv.URL})
	err := s.Deliver(ctx, resolved())
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, outbox.ErrPermanent)
	require.Len(t, rc.requests(), 1)
}

func TestSenderIsAnOutboxHandler(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) {})
	var h outbox.Handler = newSender(t, webhook.Config{URL: rc.srv.URL})
	require.NoError(t, h.Deliver(context.Background(), resolved()))
	require.Len(t, rc.requests(), 1)
}

func TestSenderDoesNotChangeTheClientGiven(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", "/elsewhere")
		w.WriteHeader(http.StatusFound)
	})
	client := &http.Client{}
	s := newSender(t, webhook.Config{URL: rc.srv.URL, Client: client})
	require.ErrorIs(t, s.Deliver(context.Background(), resolved()), outbox.ErrPermanent)
	require.Nil(t, client.CheckRedirect)
	require.Len(t, rc.requests(), 1)
}

func TestNewReportsEveryProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cfg    webhook.Config
		fields []string
	}{
		{"empty", webhook.Config{}, []string{"secrets", "url"}},
		{"relative URL", webhook.Config{URL: "/hooks", Secrets: []string{secretA}}, []string{"url"}},
		{"ftp URL", webhook.Config{URL: "ftp://example.com/hooks", Secrets: []string{secretA}}, []string{"url"}},
		{"no host", webhook.Config{URL: "https:///hooks", Secrets: []string{secretA}}, []string{"url"}},
		{"unparsable URL", webhook.Config{URL: "https://exa mple.com/%zz", Secrets: []string{secretA}}, []string{"url"}},
		{"bad secret", webhook.Config{URL: "https://example.com", Secrets: []string{secretA, "whsec_Zm9v"}}, []string{"secrets[1]"}},
		{"negative timeout", webhook.Config{URL: "https://example.com", Secrets: []string{secretA}, Timeout: -1}, []string{"timeout"}},
		{"reserved headers", webhook.Config{URL: "https://example.com", Secrets: []string{secretA}, Header: http.Header{
			"webhook-id": {"x"}, "Content-Type": {"text/plain"},
		}}, []string{"header.Content-Type", "header.webhook-id"}},
		{"bad header", webhook.Config{URL: "https://example.com", Secrets: []string{secretA}, Header: http.Header{
			"X Bad": {"x"}, "X-Good": {"a\r\nInjected: 1"},
		}}, []string{"header.X Bad", "header.X-Good"}},
		{"bad content type", webhook.Config{URL: "https://example.com", Secrets: []string{secretA}, ContentType: "text/plain\n"}, []string{"content_type"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := webhook.New(tc.cfg)
			require.Nil(t, s)
			require.ErrorIs(t, err, itsm.ErrValidation)
			var ve *itsm.ValidationError
			require.ErrorAs(t, err, &ve)
			var fields []string
			for _, f := range ve.Fields {
				fields = append(fields, f.Field)
			}
			slices.Sort(fields)
			require.Empty(t, cmp.Diff(tc.fields, fields))
		})
	}
}

func TestMessageIDIsStableAndDistinct(t *testing.T) {
	t.Parallel()
	e := resolved().Event
	id := webhook.MessageID("", e)
	require.Regexp(t, `^msg_[A-Za-z0-9_-]{24}$`, id)

	later := e
	later.At = e.At.Add(time.Hour)
	later.Action = "close"
	require.Equal(t, id, webhook.MessageID("", later), "only the identity counts")

	seen := map[string]string{id: "base"}
	for name, other := range map[string]struct {
		ns string
		e  itsm.Event
	}{
		"sequence":  {"", itsm.Event{Kind: "incident", RecordID: "INC0001001", Sequence: 4}},
		"record":    {"", itsm.Event{Kind: "incident", RecordID: "INC0001002", Sequence: 3}},
		"kind":      {"", itsm.Event{Kind: "problem", RecordID: "INC0001001", Sequence: 3}},
		"namespace": {"prod", itsm.Event{Kind: "incident", RecordID: "INC0001001", Sequence: 3}},
		"shifted":   {"", itsm.Event{Kind: "incidentI", RecordID: "NC0001001", Sequence: 3}},
		"into ns":   {"incident", itsm.Event{Kind: "", RecordID: "INC0001001", Sequence: 3}},
	} {
		got := webhook.MessageID(other.ns, other.e)
		prev, dup := seen[got]
		require.False(t, dup, "%s gives the id of %s", name, prev)
		seen[got] = name
	}
}

func TestEventType(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ kind, action, want string }{
		{"incident", "resolve", "incident.resolve"},
		{"incident", "set-priority", "incident.set_priority"},
		{"request_item", "fulfil", "request_item.fulfil"},
		{"change", "schedule.cab", "change.schedule_cab"},
		{"problem", "", "problem."},
		{"known error", "publish", "known_error.publish"},
	} {
		require.Equal(t, tc.want, webhook.EventType(itsm.Event{Kind: tc.kind, Action: tc.action}))
	}
}

func TestDeliverTimeoutOfTheClientGivenIsRetryable(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	s := newSender(t, webhook.Config{URL: rc.srv.URL, Client: &http.Client{Timeout: 100 * time.Millisecond}})
	err := s.Deliver(context.Background(), resolved())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotErrorIs(t, err, outbox.ErrPermanent)
}
