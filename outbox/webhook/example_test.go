package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/outbox"
	"github.com/itsmkit/itsmkit/outbox/webhook"
	"github.com/itsmkit/itsmkit/record"
)

// A Sender posts an outbox message to a receiver that verifies it with
// the shared secret; a receiver that refuses the message for good makes
// the error permanent.
func Example() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // in practice: webhook.NewSecret()
	now := time.Date(2026, 11, 20, 15, 4, 5, 0, time.UTC)
	clock := itsm.ClockFunc(func() time.Time { return now })

	verifier, err := webhook.NewVerifier(webhook.VerifierConfig{Secrets: []string{secret}, Clock: clock})
	if err != nil {
		panic(err)
	}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		meta, err := verifier.Verify(r.Header, body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var env struct {
			Type string     `json:"type"`
			Data itsm.Event `json:"data"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		fmt.Printf("received %s %s at %s\n", env.Type, env.Data.RecordID, meta.Timestamp.Format(time.RFC3339))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	sender, err := webhook.New(webhook.Config{URL: receiver.URL, Secrets: []string{secret}, Clock: clock})
	if err != nil {
		panic(err)
	}
	m := record.Message{ID: 1, Event: itsm.Event{
		Kind: "incident", RecordID: "INC0001001", Sequence: 3, Actor: itsm.Actor{ID: "alice"},
		At: now.Add(-time.Minute), Action: "resolve", From: "in-progress", To: "resolved",
	}}
	fmt.Println("delivered:", sender.Deliver(context.Background(), m))

	// A sender whose secret the receiver does not know is refused with
	// 401, which retrying cannot fix.
	stranger, err := webhook.New(webhook.Config{URL: receiver.URL, Secrets: []string{webhook.NewSecret()}, Clock: clock})
	if err != nil {
		panic(err)
	}
	err = stranger.Deliver(context.Background(), m)
	var re *webhook.ResponseError
	fmt.Println("permanent:", errors.Is(err, outbox.ErrPermanent), errors.As(err, &re) && re.StatusCode == http.StatusUnauthorized)
	fmt.Printf("receiver said: %s", re.Body)
	// Output:
	// received incident.resolve INC0001001 at 2026-11-20T15:04:05Z
	// delivered: <nil>
	// permanent: true true
	// receiver said: webhook: no matching signature: webhook-signature
}

// A receiver that checks a webhook by hand, here the Standard Webhooks
// test vector.
func ExampleVerifier_Verify() {
	v, err := webhook.NewVerifier(webhook.VerifierConfig{
		Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		Clock:   itsm.ClockFunc(func() time.Time { return time.Unix(1614265330, 0) }),
	})
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	meta, err := v.Verify(h, []byte(`{"test": 2432232314}`))
	fmt.Println(meta.ID, err)

	_, err = v.Verify(h, []byte(`{"test":2432232314}`))
	fmt.Println(errors.Is(err, webhook.ErrNoMatchingSignature))
	// Output:
	// msg_p5jXN8AQM9LWM0D4loKWxJek <nil>
	// true
}

// Sign gives the webhook-signature header for each secret, here while a
// secret is being rotated.
func ExampleSign() {
	sig, err := webhook.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`),
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	fmt.Println(sig, err)
	// Output:
	// v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,O4Gjv1HqPqsMrjmczoggs/sWA8gZD0VyHG+fLh4+ktI= <nil>
}
