package river

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"

	riverqueue "github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/outbox"
	"github.com/itsmkit/itsmkit/record"
)

// Kind is the River job kind of EventArgs. It is stable: jobs inserted by
// one version of this package are worked by workers built with another.
const Kind = "itsm_event"

// EventKey is the identity of an audit event: the record it belongs to and
// its place in that record's event sequence. No two events share a key,
// and every delivery of one event carries the same key.
type EventKey struct {
	// Kind is the record kind, such as "incident".
	Kind string `json:"kind"`
	// RecordID identifies the record.
	RecordID string `json:"record_id"`
	// Sequence is the event's number among the record's events, from 1.
	Sequence int64 `json:"sequence"`
}

// KeyOf returns the identity of e.
func KeyOf(e itsm.Event) EventKey {
	return EventKey{Kind: e.Kind, RecordID: e.RecordID, Sequence: e.Sequence}
}

// String renders the key as "kind/record_id#sequence", for logs and error
// messages; it is not meant to be parsed.
func (k EventKey) String() string {
	return k.Kind + "/" + k.RecordID + "#" + strconv.FormatInt(k.Sequence, 10)
}

// EventArgs are the arguments of the job a Forwarder inserts for one outbox
// message. Register a river.Worker[EventArgs] to work them.
//
// River encodes them as JSON: {"key": {...}, "message_id": 7, "event":
// {...}}, where the event has itsm.Event's own JSON form.
type EventArgs struct {
	// Key is the event's identity, KeyOf(Event). River's unique-job check
	// looks at this field alone, so that a repeated delivery of the same
	// event inserts no second job.
	Key EventKey `json:"key" river:"unique"`
	// MessageID is the ID of the outbox message that carried the event, in
	// the store that appended it; informational only.
	MessageID int64 `json:"message_id"`
	// Event is the audit event, as appended.
	Event itsm.Event `json:"event"`
}

// Kind returns Kind, the job kind River files EventArgs under.
func (EventArgs) Kind() string { return Kind }

// Config sets up a Forwarder. The zero value inserts every job in River's
// default queue at River's default priority.
type Config struct {
	// Queue is the queue jobs go to; empty means River's default queue
	// ("default"). It must be a River queue name: at most 64 lower-case
	// letters and digits, runs of them separated by single underscores,
	// hyphens or vertical bars.
	Queue string
	// Priority is the jobs' priority from 1 (highest, River's default) to
	// 4; 0 means River's default.
	Priority int
	// Opts, if set, chooses the insert options of each message's job:
	// scheduling, tags, metadata, attempts, or a queue and priority that
	// differ from Queue and Priority, which fill in a zero Queue or
	// Priority it returns. Its UniqueOpts are always replaced by the
	// Forwarder's own, which keep one job per event. Options that River
	// would refuse make Deliver fail permanently.
	Opts func(m record.Message) riverqueue.InsertOpts
}

// Forwarder is an outbox.Handler that inserts one River job (EventArgs,
// kind Kind) for each outbox message. It is generic over River's driver
// transaction type, so it works with any driver, riverpgxv5 on PostgreSQL
// in particular; see the package documentation about SQLite.
//
// Delivery is at least once, so the same message may come more than once,
// even at the same time: River's unique jobs, keyed by the event's
// identity and counted in every job state, make every repeat insert
// nothing while the first job is still in River's table, whatever its
// state. River's job cleaner removes finished jobs after their retention
// period (river.Config's CompletedJobRetentionPeriod and
// CancelledJobRetentionPeriod, a day by default, and
// DiscardedJobRetentionPeriod, a week); a repeat that comes later inserts
// a new job. Set them to -1 to keep jobs for good.
//
// A Forwarder is safe for concurrent use.
type Forwarder[TTx any] struct {
	client   *riverqueue.Client[TTx]
	queue    string
	priority int
	opts     func(record.Message) riverqueue.InsertOpts
}

// New returns a Forwarder that inserts jobs with client, which needs no
// queues or workers of its own (an insert-only client will do). It
// returns an *itsm.ValidationError when client is nil or cfg holds a
// queue name or priority that River refuses.
func New[TTx any](client *riverqueue.Client[TTx], cfg Config) (*Forwarder[TTx], error) {
	v := &itsm.ValidationError{Subject: "river forwarder"}
	if client == nil {
		v.Add("client", "must not be nil")
	}
	if cfg.Queue != "" {
		if msg := queueProblem(cfg.Queue); msg != "" {
			v.Add("queue", "%s", msg)
		}
	}
	if cfg.Priority != 0 {
		if msg := priorityProblem(cfg.Priority); msg != "" {
			v.Add("priority", "%s", msg)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return &Forwarder[TTx]{client: client, queue: cfg.Queue, priority: cfg.Priority, opts: cfg.Opts}, nil
}

// Deliver inserts the job for m, or nothing when a job for m's event is
// already there; see Forward.
func (f *Forwarder[TTx]) Deliver(ctx context.Context, m record.Message) error {
	_, err := f.Forward(ctx, m)
	return err
}

// Forward inserts the job for m and returns River's result, whose
// UniqueSkippedAsDuplicate is true (and whose Job is the job already
// there) when a job for the same event existed.
//
// An event that fails itsm.Event.Validate or has no sequence, and insert
// options from Config.Opts that River would refuse, give an error that
// matches outbox.ErrPermanent and itsm.ErrValidation, since no retry can
// fix them. Errors of the database (unreachable, timed out, ctx done) are
// returned wrapped and are not permanent.
func (f *Forwarder[TTx]) Forward(ctx context.Context, m record.Message) (*rivertype.JobInsertResult, error) {
	if err := outbox.CheckEvent(m.Event); err != nil {
		return nil, outbox.Permanent(err)
	}
	var opts riverqueue.InsertOpts
	if f.opts != nil {
		opts = f.opts(m)
	}
	if opts.Queue == "" {
		opts.Queue = f.queue
	}
	if opts.Priority == 0 {
		opts.Priority = f.priority
	}
	key := KeyOf(m.Event)
	if err := checkOpts(key, opts); err != nil {
		return nil, outbox.Permanent(err)
	}
	opts.UniqueOpts = riverqueue.UniqueOpts{ByArgs: true, ByState: rivertype.JobStates()}
	res, err := f.client.Insert(ctx, EventArgs{Key: key, MessageID: m.ID, Event: m.Event}, &opts)
	if err != nil {
		return nil, fmt.Errorf("river forwarder: insert job for event %s (outbox message %d): %w", key, m.ID, err)
	}
	return res, nil
}

// The rules River applies to insert options (river.InsertOpts and
// river.Config.Queues document them); checking them before inserting tells
// a message that can never be inserted from a database that is down.
var (
	queueRE = regexp.MustCompile(`^(?:[a-z0-9])+(?:[_|\-]?[a-z0-9]+)*$`)
	tagRE   = regexp.MustCompile(`\A[\w][\w\-]+[\w]\z`)
)

func queueProblem(q string) string {
	switch {
	case len(q) > 64, !queueRE.MatchString(q):
		return fmt.Sprintf("%q is not a River queue name (at most 64 lower-case letters and digits, runs of them separated by single underscores, hyphens or vertical bars)", q)
	}
	return ""
}

func priorityProblem(p int) string {
	if p < 1 || p > 4 {
		return fmt.Sprintf("must be between 1 and 4, got %d", p)
	}
	return ""
}

func checkOpts(key EventKey, o riverqueue.InsertOpts) error {
	v := &itsm.ValidationError{Subject: "river insert options for event " + key.String()}
	if o.Queue != "" {
		if msg := queueProblem(o.Queue); msg != "" {
			v.Add("queue", "%s", msg)
		}
	}
	if o.Priority != 0 {
		if msg := priorityProblem(o.Priority); msg != "" {
			v.Add("priority", "%s", msg)
		}
	}
	if o.MaxAttempts < 0 {
		v.Add("max_attempts", "must not be negative, got %d", o.MaxAttempts)
	}
	for i, tag := range o.Tags {
		if len(tag) > 255 || !tagRE.MatchString(tag) {
			v.Add("tags["+strconv.Itoa(i)+"]", "%q is not a River tag (3 to 255 letters, digits, underscores and inner hyphens)", tag)
		}
	}
	if len(o.Metadata) > 0 {
		if !json.Valid(o.Metadata) || !bytes.HasPrefix(bytes.TrimLeft(o.Metadata, " \t\r\n"), []byte("{")) {
			v.Add("metadata", "must be a JSON object")
		}
	}
	return v.Err()
}
