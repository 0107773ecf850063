package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/record"
)

// Defaults of a Deliverer's zero fields.
const (
	// DefaultLease is how long a claim of a batch lasts.
	DefaultLease = 5 * time.Minute
	// DefaultBatchSize is how many messages a subscriber claims at once.
	DefaultBatchSize = 10
	// DefaultMaxAttempts is how many deliveries of a message a
	// subscriber gets before the message becomes a dead letter.
	DefaultMaxAttempts = 10
	// DefaultTimeout bounds one delivery.
	DefaultTimeout = 30 * time.Second
	// DefaultInterval is the pause of Run between rounds.
	DefaultInterval = time.Second
)

// Deliverer hands the outbox's messages to subscribers, outside any
// transaction. Each subscriber is a consumer of the store under its own
// name (see record.Store.Claim), so each sees every message and one that
// fails, even for good, never holds back another. Several deliverers,
// in one process or several, may serve the same subscriber names: the
// store's leases share the messages out between them.
//
// For each message and subscriber, a delivery that returns nil
// acknowledges the message; one that fails (an error, a panic, or the
// Timeout passing) is tried again after a Backoff, until the subscriber
// has had MaxAttempts deliveries of it, when the message becomes a dead
// letter of that subscriber (record.Store.Bury) with the error as its
// reason. An error matching ErrPermanent makes it a dead letter at once.
// Dead letters wait for DeadLetters and Replay.
//
// Delivery is at least once: a message comes again after a failure, a
// crash, or a lease that ran out while its delivery went on (keep Lease
// above BatchSize × Timeout to make that rare). Within one subscriber,
// messages are delivered one at a time in message ID order; a message
// that failed does not hold back later ones, so its retry comes after
// them.
//
// Set the fields before the first RunOnce or Run and do not change them
// afterwards; a Deliverer is then safe for concurrent use. Zero fields
// take the defaults named beside them.
type Deliverer struct {
	// Store holds the outbox. Required.
	Store record.Store
	// Subscribers maps each subscriber's consumer name (1 to
	// record.MaxIDLen bytes of UTF-8 without NUL bytes) to its Handler.
	// At least one is required, and no Handler may be nil.
	Subscribers map[string]Handler
	// Clock gives the instants of claims, backoffs and burials. Default:
	// itsm.SystemClock. Run's pause between rounds is real time whatever
	// the Clock.
	Clock itsm.Clock
	// Lease is how long a subscriber holds the batch it claims, between
	// record.MinLease and record.MaxLease. Default: DefaultLease.
	Lease time.Duration
	// BatchSize is how many messages a subscriber claims at once.
	// Default: DefaultBatchSize.
	BatchSize int
	// MaxAttempts is how many deliveries of a message a subscriber gets;
	// the message becomes its dead letter when the last one fails.
	// Default: DefaultMaxAttempts.
	MaxAttempts int
	// Backoff gives the wait before a failed message is offered again.
	// Default: DefaultBackoff.
	Backoff Backoff
	// Timeout bounds each delivery: the Handler's context ends when it
	// passes. Default: DefaultTimeout.
	Timeout time.Duration
	// Logger receives a record of each failure, dead letter and store
	// error (and, at debug level, each delivery). Default: none.
	Logger *slog.Logger
	// Interval is the pause of Run between rounds. Default:
	// DefaultInterval.
	Interval time.Duration
}

// Counts counts what a round did with messages.
type Counts struct {
	// Delivered counts deliveries that succeeded and were acknowledged.
	Delivered int
	// Deferred counts failed deliveries offered again after a backoff.
	Deferred int
	// Buried counts messages that became dead letters.
	Buried int
}

func (c *Counts) add(o Counts) {
	c.Delivered += o.Delivered
	c.Deferred += o.Deferred
	c.Buried += o.Buried
}

// Stats is what one RunOnce did: the totals, and the counts of each
// subscriber by name (every subscriber has an entry, unless the
// Deliverer failed its Check and Stats is zero).
type Stats struct {
	Counts
	Subscribers map[string]Counts
}

// config is a Deliverer with its defaults filled in.
type config struct {
	store       record.Store
	clock       itsm.Clock
	lease       time.Duration
	batch       int
	maxAttempts int
	backoff     Backoff
	timeout     time.Duration
	log         *slog.Logger
	interval    time.Duration
}

// Check returns an *itsm.ValidationError naming every problem of d's
// fields (fields "store", "subscribers", "subscribers[<name>]" with the
// name quoted, "lease", "batch_size", "max_attempts", "timeout",
// "interval", "backoff" for a nil *ExponentialBackoff and those of
// ExponentialBackoff.Check), or nil: a missing Store or Subscribers, a
// nil Handler, a malformed name, a Lease outside record.MinLease to
// record.MaxLease, and negative counts and durations (zero ones take
// their defaults). A Backoff of another type is not checked. RunOnce and
// Run check d first.
func (d *Deliverer) Check() error {
	_, err := d.config()
	return err
}

func (d *Deliverer) config() (config, error) {
	v := &itsm.ValidationError{Subject: "outbox deliverer"}
	if d.Store == nil {
		v.Add("store", "must be set")
	}
	if len(d.Subscribers) == 0 {
		v.Add("subscribers", "must name at least one subscriber")
	}
	for _, name := range slices.Sorted(maps.Keys(d.Subscribers)) {
		var ve *itsm.ValidationError
		if errors.As(record.CheckConsumer("outbox subscriber", name), &ve) {
			for _, f := range ve.Fields {
				v.Add(fmt.Sprintf("subscribers[%q]", name), "the name %s", f.Message)
			}
		}
		if d.Subscribers[name] == nil {
			v.Add(fmt.Sprintf("subscribers[%q]", name), "has no handler")
		}
	}
	c := config{
		store: d.Store, clock: itsm.ClockOrSystem(d.Clock), lease: d.Lease, batch: d.BatchSize,
		maxAttempts: d.MaxAttempts, backoff: d.Backoff, timeout: d.Timeout, log: d.Logger, interval: d.Interval,
	}
	if c.lease == 0 {
		c.lease = DefaultLease
	} else if c.lease < record.MinLease || c.lease > record.MaxLease {
		v.Add("lease", "must be between %v and %v", record.MinLease, record.MaxLease)
	}
	if c.batch == 0 {
		c.batch = DefaultBatchSize
	} else if c.batch < 0 {
		v.Add("batch_size", "must not be negative")
	}
	if c.maxAttempts == 0 {
		c.maxAttempts = DefaultMaxAttempts
	} else if c.maxAttempts < 0 {
		v.Add("max_attempts", "must not be negative")
	}
	if c.backoff == nil {
		c.backoff = DefaultBackoff
	} else {
		switch b := c.backoff.(type) {
		case ExponentialBackoff:
			b.check(v)
		case *ExponentialBackoff:
			if b == nil {
				v.Add("backoff", "is a nil *ExponentialBackoff")
			} else {
				b.check(v)
			}
		}
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	} else if c.timeout < 0 {
		v.Add("timeout", "must not be negative")
	}
	if c.interval == 0 {
		c.interval = DefaultInterval
	} else if c.interval < 0 {
		v.Add("interval", "must not be negative")
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, v.Err()
}

// RunOnce delivers what is due for every subscriber, the subscribers at
// once, each in its own goroutine, and returns when all are done: each
// claims batches of BatchSize messages until a claim comes back short,
// and settles every message (acknowledges, defers or buries it) as soon
// as its delivery ends. Under a steady flood of new messages a round goes
// on as long as batches come back full.
//
// It returns what it did, and the errors of the subscribers whose round
// a store call cut short, joined, each naming its subscriber; the other
// subscribers' rounds are not affected, and a message whose outcome could
// not be stored comes again when its lease runs out. When ctx ends, the
// delivery under way of each subscriber sees its context end and the
// round stops: a delivery that succeeded meanwhile is still acknowledged,
// a failed one is not stored (the message comes again once its lease
// runs out, as do the rest of the batch), and the error includes
// ctx.Err(). A Deliverer that fails Check is its
// *itsm.ValidationError, and nothing is delivered.
func (d *Deliverer) RunOnce(ctx context.Context) (Stats, error) {
	c, err := d.config()
	if err != nil {
		return Stats{}, err
	}
	return d.round(ctx, c)
}

func (d *Deliverer) round(ctx context.Context, c config) (Stats, error) {
	names := slices.Sorted(maps.Keys(d.Subscribers))
	counts := make([]Counts, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			counts[i], errs[i] = c.drain(ctx, name, d.Subscribers[name])
		})
	}
	wg.Wait()
	st := Stats{Subscribers: make(map[string]Counts, len(names))}
	for i, name := range names {
		st.Subscribers[name] = counts[i]
		st.add(counts[i])
	}
	return st, errors.Join(errs...)
}

// Run calls RunOnce, pausing Interval between the end of one round and
// the start of the next, until ctx ends, and then returns ctx.Err(). A
// round's errors are logged and do not stop Run. A Deliverer that fails
// Check is returned as its *itsm.ValidationError at once.
func (d *Deliverer) Run(ctx context.Context) error {
	c, err := d.config()
	if err != nil {
		return err
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if _, err := d.round(ctx, c); err != nil && ctx.Err() == nil {
			c.log.ErrorContext(ctx, "outbox: delivery round failed", "error", err)
		}
		t.Reset(c.interval)
	}
}

// DeadLetters returns up to limit dead letters of subscriber whose
// message ID is greater than after, by message ID: record.Store's
// DeadLetters on the Deliverer's Store. The subscriber need not be among
// Subscribers (a removed one's dead letters can still be read).
func (d *Deliverer) DeadLetters(ctx context.Context, subscriber string, after int64, limit int) ([]record.DeadLetter, error) {
	if d.Store == nil {
		return nil, itsm.NewValidationError("outbox deliverer", "store", "must be set")
	}
	return d.Store.DeadLetters(ctx, subscriber, after, limit)
}

// Replay offers dead letters of subscriber to it again, with their
// attempts counted afresh, at the next round: record.Store's Replay on
// the Deliverer's Store, so an ID that is not a dead letter of subscriber
// is an *itsm.NotFoundError and then none is replayed.
func (d *Deliverer) Replay(ctx context.Context, subscriber string, ids ...int64) error {
	if d.Store == nil {
		return itsm.NewValidationError("outbox deliverer", "store", "must be set")
	}
	return d.Store.Replay(ctx, subscriber, ids...)
}

// drain runs the round of one subscriber.
func (c config) drain(ctx context.Context, name string, h Handler) (Counts, error) {
	var n Counts
	for {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("outbox: subscriber %q: %w", name, err)
		}
		msgs, err := c.store.Claim(ctx, name, c.clock.Now(), c.lease, c.batch)
		if err != nil {
			c.log.ErrorContext(ctx, "outbox: claim failed", "subscriber", name, "error", err)
			return n, fmt.Errorf("outbox: subscriber %q: claim: %w", name, err)
		}
		for _, m := range msgs {
			if err := c.deliver(ctx, name, h, m, &n); err != nil {
				return n, fmt.Errorf("outbox: subscriber %q: message %d: %w", name, m.ID, err)
			}
		}
		if len(msgs) < c.batch {
			return n, nil
		}
	}
}

// deliver delivers m to h and stores the outcome.
func (c config) deliver(ctx context.Context, name string, h Handler, m record.Message, n *Counts) error {
	err := c.call(ctx, h, m)
	// The outcome of a delivery that ended is stored even when ctx ends
	// meanwhile, so that a stopping deliverer does not deliver it again.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	if err == nil {
		if err := c.store.Ack(sctx, name, m.ID); err != nil {
			c.log.ErrorContext(ctx, "outbox: acknowledging a delivered message failed", "subscriber", name, "message", m.ID, "error", err)
			return fmt.Errorf("acknowledge: %w", err)
		}
		n.Delivered++
		c.log.DebugContext(ctx, "outbox: delivered", "subscriber", name, "message", m.ID, "attempts", m.Attempts)
		return nil
	}
	if ctx.Err() != nil {
		// Stopping: the failure may be the deliverer's rather than the
		// subscriber's, so it is not stored; the lease brings the
		// message back.
		return ctx.Err()
	}
	reason := Reason(err)
	now := c.clock.Now()
	if errors.Is(err, ErrPermanent) || m.Attempts >= c.maxAttempts {
		if err := c.store.Bury(sctx, name, m.ID, now, reason); err != nil {
			c.log.ErrorContext(ctx, "outbox: burying a message failed", "subscriber", name, "message", m.ID, "error", err)
			return fmt.Errorf("bury: %w", err)
		}
		n.Buried++
		c.log.ErrorContext(ctx, "outbox: message is a dead letter", "subscriber", name, "message", m.ID,
			"attempts", m.Attempts, "permanent", errors.Is(err, ErrPermanent), "error", reason)
		return nil
	}
	delay := max(c.backoff.Delay(m.Attempts), 0)
	until := now.Add(delay)
	if err := c.store.Defer(sctx, name, m.ID, until, reason); err != nil {
		c.log.ErrorContext(ctx, "outbox: deferring a failed message failed", "subscriber", name, "message", m.ID, "error", err)
		return fmt.Errorf("defer: %w", err)
	}
	n.Deferred++
	c.log.WarnContext(ctx, "outbox: delivery failed", "subscriber", name, "message", m.ID,
		"attempts", m.Attempts, "retry_at", until, "error", reason)
	return nil
}

// call runs h.Deliver under the timeout, turning a panic into an error.
func (c config) call(ctx context.Context, h Handler, m record.Message) (err error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: p}
		}
	}()
	return h.Deliver(ctx, m)
}

// PanicError is the failure of a delivery whose Handler panicked: the
// deliverer recovers, and the delivery counts as failed (it is tried
// again, as after an error).
type PanicError struct {
	// Value is what the Handler panicked with.
	Value any
}

// Error returns "outbox: handler panicked: " and the value.
func (e *PanicError) Error() string { return fmt.Sprintf("outbox: handler panicked: %v", e.Value) }

// Reason returns the text a deliverer keeps as a failed message's last
// error: err's message with invalid UTF-8 and NUL bytes replaced by
// U+FFFD, cut by record.TrimReason. Reason(nil) is "".
func Reason(err error) string {
	if err == nil {
		return ""
	}
	s := strings.ToValidUTF8(err.Error(), "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	return record.TrimReason(s)
}
