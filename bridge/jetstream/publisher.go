package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/outbox"
	"github.com/itsmkit/itsmkit/record"
)

// Token returns s as one subject token that names it without ambiguity:
// ASCII letters, digits, '-' and '_' stay as they are, and every other
// byte (among them '.', '*', '>', '%', whitespace, control characters
// and the bytes of non-ASCII characters) becomes '%' and two upper-case
// hexadecimal digits. The empty string becomes a lone "%", which no other
// input gives. Different inputs give different tokens, so a kind or an
// action can neither add a token to a subject nor make it a wildcard, nor
// take the subject of another.
func Token(s string) string {
	if s == "" {
		return "%"
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if safeByte(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xF])
	}
	return b.String()
}

func safeByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// Subject returns the default subject of e under prefix:
// prefix.<kind>.<action>, with the kind and the action each made one
// token by Token, such as "itsm.incident.resolve". A subscriber takes one
// kind with "itsm.incident.>" and one action of every kind with
// "itsm.*.resolve". The prefix is used as given; New checks it (see
// CheckSubject).
func Subject(prefix string, e itsm.Event) string {
	return prefix + "." + Token(e.Kind) + "." + Token(e.Action)
}

// MsgID returns the JetStream message ID of e, which the Publisher sends
// in the Nats-Msg-Id header: the event's identity as
// "<kind>/<record ID>/<sequence>", the kind and the record ID escaped by
// Token, such as "incident/INC0001001/3". Different events have different
// IDs, and every delivery of one event has the same.
func MsgID(e itsm.Event) string {
	return Token(e.Kind) + "/" + Token(e.RecordID) + "/" + strconv.FormatInt(e.Sequence, 10)
}

// CheckSubject reports whether s can be published to, or serve as a
// subject prefix: one or more tokens separated by single dots, each
// token non-empty, valid UTF-8, and free of whitespace, control
// characters and the wildcard characters '*' and '>'. It returns an
// *itsm.ValidationError for field, or nil.
func CheckSubject(field, s string) error {
	problem := ""
	switch {
	case s == "":
		problem = "must not be empty"
	case !utf8.ValidString(s):
		problem = "is not valid UTF-8"
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		problem = fmt.Sprintf("%q contains whitespace or a control character", s)
	case strings.ContainsAny(s, "*>"):
		problem = fmt.Sprintf("%q contains a wildcard ('*' or '>')", s)
	case slices.Contains(strings.Split(s, "."), ""):
		problem = fmt.Sprintf("%q has an empty token (a leading, trailing or doubled '.')", s)
	}
	if problem == "" {
		return nil
	}
	return itsm.NewValidationError("jetstream subject", field, "%s", problem)
}

// Config sets up a Publisher.
type Config struct {
	// Prefix is the first token or tokens of every subject, such as
	// "itsm"; see CheckSubject for what it may hold. It is required
	// unless Subject is set, and then optional.
	Prefix string
	// Subject, if set, builds each event's subject from Prefix and the
	// event instead of the package function Subject. A subject it
	// returns that CheckSubject refuses makes Deliver fail permanently.
	// Build its tokens from event fields with Token.
	Subject func(prefix string, e itsm.Event) string
}

// Publisher is an outbox.Handler that publishes each message's event, as
// itsm.Event's JSON, to a JetStream subject, and waits for the stream's
// acknowledgement.
//
// Each message carries the Nats-Msg-Id header MsgID(event), so a stream
// drops a repeated delivery of the same event that comes within its
// duplicate window (StreamConfig.Duplicates, two minutes by default; see
// EnsureStream). A repeat after the window is stored again; consumers
// that must never see one twice can drop repeats by the header.
//
// A Publisher is safe for concurrent use.
type Publisher struct {
	js      natsjs.JetStream
	prefix  string
	subject func(string, itsm.Event) string // nil for Subject
}

// New returns a Publisher that publishes with js. It returns an
// *itsm.ValidationError when js is nil or the prefix is missing (with no
// Subject function) or refused by CheckSubject.
func New(js natsjs.JetStream, cfg Config) (*Publisher, error) {
	v := &itsm.ValidationError{Subject: "jetstream publisher"}
	if js == nil {
		v.Add("js", "must not be nil")
	}
	if cfg.Prefix != "" || cfg.Subject == nil {
		var sv *itsm.ValidationError
		if errors.As(CheckSubject("prefix", cfg.Prefix), &sv) {
			v.Fields = append(v.Fields, sv.Fields...)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return &Publisher{js: js, prefix: cfg.Prefix, subject: cfg.Subject}, nil
}

// Deliver publishes m's event; see Publish.
func (p *Publisher) Deliver(ctx context.Context, m record.Message) error {
	_, err := p.Publish(ctx, m)
	return err
}

// Publish publishes m's event and returns the stream's acknowledgement,
// whose Duplicate is true when the stream already held the event.
//
// Errors that no retry can fix match outbox.ErrPermanent: an event that
// fails itsm.Event.Validate or has no sequence, or a subject that
// CheckSubject refuses (both also match itsm.ErrValidation); no stream
// listening on the subject, or JetStream not enabled; a message larger
// than the server or the stream allows, and any other request the stream
// refuses as bad (an API error with code 400 or 404). Everything else,
// among them a server that cannot be reached, a closed connection, a
// timeout, ctx ending, and a stream that is out of room or has no leader
// (code 503), is returned wrapped and is not permanent.
func (p *Publisher) Publish(ctx context.Context, m record.Message) (*natsjs.PubAck, error) {
	if err := outbox.CheckEvent(m.Event); err != nil {
		return nil, outbox.Permanent(err)
	}
	subject := ""
	if p.subject != nil {
		subject = p.subject(p.prefix, m.Event)
		if err := CheckSubject("subject", subject); err != nil {
			return nil, outbox.Permanent(err)
		}
	} else {
		subject = Subject(p.prefix, m.Event)
	}
	data, err := json.Marshal(m.Event)
	if err != nil {
		return nil, outbox.Permanent(fmt.Errorf("jetstream publisher: encode event: %w", err))
	}
	id := MsgID(m.Event)
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(natsjs.MsgIDHeader, id)
	ack, err := p.js.PublishMsg(ctx, msg)
	if err != nil {
		err = fmt.Errorf("jetstream publisher: publish event %s (outbox message %d) to %s: %w", id, m.ID, subject, err)
		if isPermanent(err) {
			return nil, outbox.Permanent(err)
		}
		return nil, err
	}
	return ack, nil
}

// isPermanent tells errors of the set-up or of the message, which the
// same publish meets again, from those of the moment. A connection that
// has not yet reached a server (nats.RetryOnFailedConnect) reports
// nats.ErrHeadersNotSupported; every server with JetStream supports
// headers, so that error is of the moment and not listed here.
func isPermanent(err error) bool {
	for _, target := range []error{
		natsjs.ErrNoStreamResponse,
		natsjs.ErrJetStreamNotEnabled,
		natsjs.ErrJetStreamNotEnabledForAccount,
		nats.ErrMaxPayload,
		nats.ErrBadSubject,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	var api *natsjs.APIError
	if errors.As(err, &api) {
		return api.Code == 400 || api.Code == 404
	}
	return false
}

// EnsureStream makes sure that the stream called name exists and stores
// the subjects under prefix (prefix.>), creating it if it is missing and
// otherwise adding the subjects to the ones it has. A duplicates window
// above zero becomes the stream's StreamConfig.Duplicates; zero keeps the
// stream's window, which for a new stream is the server's default of two
// minutes. Nothing else of an existing stream is changed.
//
// It returns an *itsm.ValidationError for a name that JetStream refuses
// (empty, or holding whitespace, '.', '*', '>', '/' or '\'), a prefix that
// CheckSubject refuses, or a negative window, and the server's error when
// another stream already takes subjects under prefix or the window is
// longer than the stream's MaxAge.
func EnsureStream(ctx context.Context, js natsjs.JetStream, name, prefix string, duplicates time.Duration) (natsjs.Stream, error) {
	v := &itsm.ValidationError{Subject: "jetstream stream"}
	if js == nil {
		v.Add("js", "must not be nil")
	}
	if name == "" || strings.ContainsAny(name, ">*. /\\\t\r\n") || !utf8.ValidString(name) {
		v.Add("name", "%q is not a stream name (non-empty, without whitespace, '.', '*', '>', '/' or '\\')", name)
	}
	var sv *itsm.ValidationError
	if errors.As(CheckSubject("prefix", prefix), &sv) {
		v.Fields = append(v.Fields, sv.Fields...)
	}
	if duplicates < 0 {
		v.Add("duplicates", "must not be negative, got %v", duplicates)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	subjects := prefix + ".>"
	for range 2 {
		s, err := js.Stream(ctx, name)
		if errors.Is(err, natsjs.ErrStreamNotFound) {
			s, err = js.CreateStream(ctx, natsjs.StreamConfig{Name: name, Subjects: []string{subjects}, Duplicates: duplicates})
			if errors.Is(err, natsjs.ErrStreamNameAlreadyInUse) {
				continue // created meanwhile elsewhere: update it
			}
		}
		if err != nil {
			return nil, fmt.Errorf("jetstream: ensure stream %s: %w", name, err)
		}
		cfg := s.CachedInfo().Config
		if slices.Contains(cfg.Subjects, subjects) && (duplicates == 0 || cfg.Duplicates == duplicates) {
			return s, nil
		}
		if !slices.Contains(cfg.Subjects, subjects) {
			cfg.Subjects = append(cfg.Subjects, subjects)
		}
		if duplicates > 0 {
			cfg.Duplicates = duplicates
		}
		s, err = js.UpdateStream(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("jetstream: update stream %s: %w", name, err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("jetstream: ensure stream %s: %w", name, natsjs.ErrStreamNameAlreadyInUse)
}
