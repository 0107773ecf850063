// Package webhook delivers outbox messages as webhooks in the Standard
// Webhooks format (https://www.standardwebhooks.com), and verifies them
// on the receiving side.
//
// A Sender is an outbox.Handler: it POSTs each message to one URL with
// three headers,
//
//	webhook-id:        msg_… (the same for every attempt of one event)
//	webhook-timestamp: the attempt's time in Unix seconds
//	webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body"> …
//
// signed with every configured secret (one signature each, space
// separated), so that a receiver keeps verifying while a secret is
// rotated. The body is by default the envelope the specification
// recommends, {"type": "incident.resolve", "timestamp": …, "data": <the
// audit event>}. A 2xx answer acknowledges the message; 408, 425, 429 and
// 5xx answers, network errors and timeouts are errors worth retrying;
// every other answer is permanent (see outbox.Permanent). Answers other
// than 2xx come back as a *ResponseError with the status code and the
// Retry-After the receiver asked for.
//
// A Verifier checks a received webhook: its headers, its timestamp
// against a tolerance (replay protection) and its signature against any
// of several secrets, in constant time.
//
// Secrets are serialized as the specification says: "whsec_" followed by
// the standard base64 encoding of 24 to 64 random bytes (see NewSecret).
package webhook
