package storage

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/itsmkit/itsmkit/itsm"
)

// Checkpoint is a signed statement of a transparency log's state: which
// log (Origin) has how many entries (Tree.N) with which root hash
// (Tree.Hash). Its text, signed as a note (golang.org/x/mod/sumdb/note),
// is three lines: the origin, the size in decimal and the root hash in
// standard base64.
type Checkpoint struct {
	// Origin names the log, such as "itsm.example.com/audit"; the
	// application chooses it, and verifiers refuse a checkpoint of
	// another log.
	Origin string
	// Tree is the size and root hash of the log.
	Tree tlog.Tree
}

// Text returns the checkpoint's note text: origin, size and base64 root
// hash, one a line.
func (c Checkpoint) Text() string {
	return c.Origin + "\n" + strconv.FormatInt(c.Tree.N, 10) + "\n" + base64.StdEncoding.EncodeToString(c.Tree.Hash[:]) + "\n"
}

// ErrCheckpoint is matched by a *CheckpointError: a signed checkpoint that
// cannot be trusted.
var ErrCheckpoint = errors.New("storage: checkpoint not trusted")

// CheckpointError reports a signed checkpoint that is malformed, is of
// another log, or carries no valid signature by a known key. It matches
// ErrCheckpoint and what Err matches (such as a *note.UnverifiedNoteError).
type CheckpointError struct {
	// Reason says what is wrong.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

// Error says why the checkpoint is refused.
func (e *CheckpointError) Error() string {
	if e.Err != nil {
		return "storage: checkpoint not trusted: " + e.Reason + ": " + e.Err.Error()
	}
	return "storage: checkpoint not trusted: " + e.Reason
}

// Unwrap returns ErrCheckpoint and Err.
func (e *CheckpointError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrCheckpoint}
	}
	return []error{ErrCheckpoint, e.Err}
}

// validOrigin reports whether origin can be the first line of a
// checkpoint: non-empty UTF-8 without newlines or leading or trailing
// spaces.
func validOrigin(origin string) bool {
	return origin != "" && utf8.ValidString(origin) && !strings.ContainsAny(origin, "\n\r") &&
		strings.TrimSpace(origin) == origin
}

// SignCheckpoint returns c signed by signer, as a note. An invalid origin
// (empty, with a newline or surrounding spaces, or not UTF-8) or a
// negative size is an *itsm.ValidationError; a failure of signer is
// returned wrapped.
func SignCheckpoint(c Checkpoint, signer note.Signer) ([]byte, error) {
	if !validOrigin(c.Origin) {
		return nil, itsm.NewValidationError("checkpoint", "origin", "must be one line of UTF-8 text without surrounding spaces")
	}
	if c.Tree.N < 0 {
		return nil, itsm.NewValidationError("checkpoint", "size", "must not be negative")
	}
	if signer == nil {
		return nil, itsm.NewValidationError("checkpoint", "signer", "must not be nil")
	}
	msg, err := note.Sign(&note.Note{Text: c.Text()}, signer)
	if err != nil {
		return nil, fmt.Errorf("storage: sign checkpoint: %w", err)
	}
	return msg, nil
}

// OpenCheckpoint verifies signed, a checkpoint note, and returns what it
// says. It must carry a valid signature by one of verifiers and name the
// log origin; otherwise the error is a *CheckpointError (matching
// ErrCheckpoint): a signature by an unknown key or a forged one, a
// malformed note, or another log's checkpoint.
func OpenCheckpoint(signed []byte, origin string, verifiers note.Verifiers) (*Checkpoint, error) {
	if verifiers == nil {
		return nil, &CheckpointError{Reason: "no verifiers given"}
	}
	n, err := note.Open(signed, verifiers)
	if err != nil {
		return nil, &CheckpointError{Reason: "signature does not verify", Err: err}
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) != 3 {
		return nil, &CheckpointError{Reason: fmt.Sprintf("text has %d lines, want 3", len(lines))}
	}
	if lines[0] != origin {
		return nil, &CheckpointError{Reason: fmt.Sprintf("checkpoint of log %q, want %q", lines[0], origin)}
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return nil, &CheckpointError{Reason: fmt.Sprintf("size %q is not a non-negative decimal", lines[1])}
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		return nil, &CheckpointError{Reason: fmt.Sprintf("root hash %q is not %d bytes in base64", lines[2], tlog.HashSize)}
	}
	c := &Checkpoint{Origin: origin, Tree: tlog.Tree{N: size}}
	copy(c.Tree.Hash[:], raw)
	return c, nil
}

// AuditLog is what a store's transparency log offers to checkpoints and
// their verification; *sqlite.Store and *postgres.Store implement it.
type AuditLog interface {
	// AuditTree returns the log's current size and root hash, computed
	// from the tree hashes the log keeps.
	AuditTree(ctx context.Context) (tlog.Tree, error)
	// ProveAuditTree returns a proof (tlog.ProveTree) that the log's tree
	// of size n contains its tree of size old, from the tree hashes the
	// log keeps.
	ProveAuditTree(ctx context.Context, n, old int64) (tlog.TreeProof, error)
	// VerifyAuditSeals checks the seals (see Seal) of the log entries
	// from index from up to n (excluded) when the store seals entries:
	// each must carry the seal of its leaf, except, when from is 0, the
	// entries before the log's first sealed one (appended before the
	// store had its key). It returns the first problem as a *TamperError
	// (CheckSeal); a store without a seal key returns nil.
	VerifyAuditSeals(ctx context.Context, from, n int64) error
	// VerifyAuditLog checks the whole log, its audit events and its
	// records against cp (nil checks all but what only a checkpoint can
	// tell) and reports every problem found.
	VerifyAuditLog(ctx context.Context, cp *Checkpoint) (*AuditReport, error)
}

// CheckpointSink keeps signed checkpoints outside the database, such as
// FileSink.
type CheckpointSink interface {
	// Put keeps signed, durably, as the latest checkpoint.
	Put(ctx context.Context, signed []byte) error
	// Latest returns the checkpoint Put last, or nil with no error when
	// none was.
	Latest(ctx context.Context) ([]byte, error)
}

// Checkpointer issues signed checkpoints of a store's audit log into a
// sink, on demand (Issue) or every Interval (Run), and verifies the log
// against the latest one (Verify). The signing key stays with it: the
// database never sees it.
type Checkpointer struct {
	// Log is the store, such as a *sqlite.Store.
	Log AuditLog
	// Origin names the log in its checkpoints (see Checkpoint).
	Origin string
	// Signer signs the checkpoints.
	Signer note.Signer
	// Verifiers verify the sink's checkpoints (at least Signer's key).
	Verifiers note.Verifiers
	// Sink keeps the checkpoints.
	Sink CheckpointSink
	// Interval is Run's pause between checkpoints; default one minute.
	Interval time.Duration
	// OnError is told about a failed checkpoint in Run, which carries on
	// with the next. Nil ignores errors.
	OnError func(error)
}

// Latest returns the sink's latest checkpoint, verified, or nil when the
// sink has none. A checkpoint that does not verify is a *CheckpointError.
func (c *Checkpointer) Latest(ctx context.Context) (*Checkpoint, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	signed, err := c.Sink.Latest(ctx)
	if err != nil {
		return nil, fmt.Errorf("storage: read latest checkpoint: %w", err)
	}
	if signed == nil {
		return nil, nil
	}
	return OpenCheckpoint(signed, c.Origin, c.Verifiers)
}

func (c *Checkpointer) check() error {
	switch {
	case c.Log == nil:
		return itsm.NewValidationError("checkpointer", "log", "must not be nil")
	case c.Sink == nil:
		return itsm.NewValidationError("checkpointer", "sink", "must not be nil")
	case c.Signer == nil:
		return itsm.NewValidationError("checkpointer", "signer", "must not be nil")
	case c.Verifiers == nil:
		return itsm.NewValidationError("checkpointer", "verifiers", "must not be nil")
	case !validOrigin(c.Origin):
		return itsm.NewValidationError("checkpointer", "origin", "must be one line of UTF-8 text without surrounding spaces")
	}
	return nil
}

// Issue signs a checkpoint of the log as it is now, puts it in the sink
// and returns it. Before signing it checks that the log only grew since
// the sink's latest checkpoint: a log that is smaller, or whose tree does
// not contain the latest checkpoint's (by a tlog consistency proof from
// the log's tree hashes), is a *TamperError (CheckTree) and nothing is
// signed, so a log rewound or rewritten is never signed over; so is an
// entry appended since without the store's seal (CheckSeal, see
// AuditLog.VerifyAuditSeals). When the log
// has not changed since, the latest checkpoint is returned and the sink
// is left alone. A missing field of c is an *itsm.ValidationError; a
// latest checkpoint that does not verify is a *CheckpointError.
func (c *Checkpointer) Issue(ctx context.Context) ([]byte, error) {
	prev, err := c.Latest(ctx)
	if err != nil {
		return nil, err
	}
	tree, err := c.Log.AuditTree(ctx)
	if err != nil {
		return nil, err
	}
	var from int64
	if prev != nil {
		if err := c.extends(ctx, prev.Tree, tree); err != nil {
			return nil, err
		}
		if tree == prev.Tree {
			return c.Sink.Latest(ctx)
		}
		from = prev.Tree.N
	}
	if err := c.Log.VerifyAuditSeals(ctx, from, tree.N); err != nil {
		return nil, err
	}
	signed, err := SignCheckpoint(Checkpoint{Origin: c.Origin, Tree: tree}, c.Signer)
	if err != nil {
		return nil, err
	}
	if err := c.Sink.Put(ctx, signed); err != nil {
		return nil, fmt.Errorf("storage: keep checkpoint: %w", err)
	}
	return signed, nil
}

// extends checks that tree contains old.
func (c *Checkpointer) extends(ctx context.Context, old, tree tlog.Tree) error {
	fail := func(format string, args ...any) error {
		return &TamperError{Check: CheckTree, Index: -1, Problem: fmt.Sprintf(format, args...)}
	}
	switch {
	case tree.N < old.N:
		return fail("the log has %d entries, fewer than the %d of the latest checkpoint", tree.N, old.N)
	case tree.N == old.N:
		if tree.Hash != old.Hash {
			return fail("the log's root hash at size %d differs from the latest checkpoint's", tree.N)
		}
		return nil
	}
	proof, err := c.Log.ProveAuditTree(ctx, tree.N, old.N)
	if err != nil {
		return err
	}
	if err := tlog.CheckTree(proof, tree.N, tree.Hash, old.N, old.Hash); err != nil {
		return fail("the log's tree of size %d does not contain the latest checkpoint's tree of size %d", tree.N, old.N)
	}
	return nil
}

// Verify verifies the log against the sink's latest checkpoint (see
// AuditLog.VerifyAuditLog); with none in the sink it verifies without one,
// and the report's Checkpoint is nil. A latest checkpoint that does not
// verify is a *CheckpointError and nothing is read from the log.
func (c *Checkpointer) Verify(ctx context.Context) (*AuditReport, error) {
	cp, err := c.Latest(ctx)
	if err != nil {
		return nil, err
	}
	return c.Log.VerifyAuditLog(ctx, cp)
}

// Run issues a checkpoint at once and then every Interval until ctx is
// done, and then returns nil. Errors go to OnError; a misconfigured
// Checkpointer is an *itsm.ValidationError returned at once.
func (c *Checkpointer) Run(ctx context.Context) error {
	if err := c.check(); err != nil {
		return err
	}
	every := c.Interval
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := c.Issue(ctx); err != nil && c.OnError != nil && ctx.Err() == nil {
			c.OnError(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
