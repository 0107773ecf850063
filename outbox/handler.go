package outbox

import (
	"context"
	"errors"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
)

// Handler delivers outbox messages to one subscriber: a webhook, a job
// queue, a message broker, or code of the application's own.
//
// Deliver is called outside any store transaction, so it may call the
// services (escalate an incident on a breach, say) on every store. It is
// called at least once for each message: after a failure, a crash or an
// expired lease the same message comes again, with the same
// record.Message.ID, which a handler can use to drop repeats. It should
// honour ctx, which ends when the deliverer's per-message timeout passes.
//
// A nil error acknowledges the message. An error schedules another
// attempt after a backoff, until the deliverer's attempts run out and the
// message becomes a dead letter; an error that matches ErrPermanent (see
// Permanent) makes it a dead letter at once.
type Handler interface {
	Deliver(ctx context.Context, m record.Message) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, m record.Message) error

// Deliver calls f(ctx, m).
func (f HandlerFunc) Deliver(ctx context.Context, m record.Message) error { return f(ctx, m) }

// ErrPermanent is matched by errors that retrying cannot fix, such as a
// message the receiver refuses as malformed. Wrap an error with Permanent
// to make it match.
var ErrPermanent = errors.New("outbox: permanent delivery failure")

// Permanent returns an error that matches both err and ErrPermanent, so
// that a deliverer turns the message into a dead letter at once instead
// of retrying it. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }

func (p permanent) Unwrap() []error { return []error{p.err, ErrPermanent} }

// CheckEvent checks the event of a message as a subscriber receives it:
// one that passes itsm.Event.Validate and carries the Sequence a store
// assigned (1 or more), so that its kind, record ID and sequence identify
// it for deduplication. It returns an *itsm.ValidationError naming every
// problem, or nil. Handlers refuse such a message with Permanent: no
// retry makes it deliverable.
func CheckEvent(e itsm.Event) error {
	err := e.Validate()
	if e.Sequence >= 1 {
		return err
	}
	var v *itsm.ValidationError
	if !errors.As(err, &v) {
		v = &itsm.ValidationError{Subject: "audit event"}
	}
	v.Add("sequence", "must be at least 1, got %d", e.Sequence)
	return v
}
