package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/itsmkit/itsmkit/itsm"
)

// MaxCheckpointSize is the largest signed checkpoint FileSink keeps.
const MaxCheckpointSize = 1 << 16

// FileSink is a CheckpointSink over an append-only file: each checkpoint
// Put is appended, framed by a line "checkpoint <length>", and the file is
// synced to disk before Put returns, so that a checkpoint Put is never
// lost and the file keeps every checkpoint ever issued. A frame cut short
// by a crash is dropped when the file is opened again. One FileSink, in
// one process, should write a file; it is safe for concurrent use.
type FileSink struct {
	mu     sync.Mutex
	f      *os.File
	latest []byte
}

var _ CheckpointSink = (*FileSink)(nil)

// OpenFileSink opens (creating it if needed, with its directory entry
// synced) the checkpoint file at path. A file that is not a checkpoint
// file is refused with an error matching ErrCorrupt; a frame cut short at
// the end is truncated away.
func OpenFileSink(path string) (*FileSink, error) {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("storage: open checkpoint file: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		if err := syncDir(filepath.Dir(path)); err != nil {
			_ = f.Close()
			return nil, err
		}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("storage: read checkpoint file: %w", err)
	}
	latest, end, err := parseFrames(data)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("storage: checkpoint file %s: %w", path, err)
	}
	if end < len(data) {
		if err := f.Truncate(int64(end)); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("storage: drop the torn end of the checkpoint file: %w", err)
		}
		if err := f.Sync(); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("storage: sync checkpoint file: %w", err)
		}
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("storage: checkpoint file: %w", err)
	}
	return &FileSink{f: f, latest: latest}, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("storage: sync checkpoint directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("storage: sync checkpoint directory: %w", err)
	}
	return nil
}

const framePrefix = "checkpoint "

// parseFrames returns the last complete frame's content and where the
// complete frames end. A header that is not a frame header is ErrCorrupt;
// an incomplete last frame ends the complete ones.
func parseFrames(data []byte) (latest []byte, end int, err error) {
	for end < len(data) {
		rest := data[end:]
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			if tornHeader(rest) {
				return latest, end, nil // a header cut short
			}
			return nil, 0, fmt.Errorf("%w: no frame header at byte %d", ErrCorrupt, end)
		}
		header := rest[:nl]
		num, ok := bytes.CutPrefix(header, []byte(framePrefix))
		n, perr := strconv.Atoi(string(num))
		if !ok || perr != nil || n <= 0 || n > MaxCheckpointSize || strconv.Itoa(n) != string(num) {
			return nil, 0, fmt.Errorf("%w: bad frame header %q at byte %d", ErrCorrupt, header, end)
		}
		if len(rest) < nl+1+n {
			return latest, end, nil // a frame cut short
		}
		latest = rest[nl+1 : nl+1+n]
		end += nl + 1 + n
	}
	return latest, end, nil
}

// tornHeader reports whether b is the start of a frame header.
func tornHeader(b []byte) bool {
	p := min(len(b), len(framePrefix))
	if string(b[:p]) != framePrefix[:p] || len(b) > len(framePrefix)+len(strconv.Itoa(MaxCheckpointSize)) {
		return false
	}
	for _, c := range b[p:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Put appends signed to the file and syncs it. An empty or oversize
// (beyond MaxCheckpointSize) checkpoint is an *itsm.ValidationError; after
// Close, Put fails with os.ErrClosed. A failed write or sync is returned
// and the file is cut back to the checkpoints before it.
func (s *FileSink) Put(ctx context.Context, signed []byte) error {
	if len(signed) == 0 || len(signed) > MaxCheckpointSize {
		return itsm.NewValidationError("checkpoint", "size", "must be 1 to %d bytes, not %d", MaxCheckpointSize, len(signed))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return fmt.Errorf("storage: checkpoint file: %w", os.ErrClosed)
	}
	at, err := s.f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("storage: checkpoint file: %w", err)
	}
	frame := append([]byte(framePrefix+strconv.Itoa(len(signed))+"\n"), signed...)
	if _, err = s.f.Write(frame); err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		_ = s.f.Truncate(at)
		return fmt.Errorf("storage: write checkpoint file: %w", err)
	}
	s.latest = bytes.Clone(signed)
	return nil
}

// Latest returns the checkpoint Put last (in this or an earlier run), or
// nil when the file holds none.
func (s *FileSink) Latest(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.latest), nil
}

// Close closes the file. Closing twice returns nil.
func (s *FileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
