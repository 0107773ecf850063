package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/itsmkit/itsmkit/incident"
	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage"
)

// tx is the incident.Tx handed to InTx's fn. Each write method is atomic
// on its own: when it fails, none of its statements is kept, so fn may
// carry on with the transaction.
type tx struct {
	reader
	done atomic.Bool
}

var _ incident.Tx = (*tx)(nil)

// check refuses use after InTx has returned.
func (t *tx) check(ctx context.Context) error {
	if t.done.Load() {
		return ErrTxDone
	}
	return ctx.Err()
}

// The read methods of incident.Reader, guarded by check.

func (t *tx) Get(ctx context.Context, id string) (*incident.Incident, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	return t.reader.Get(ctx, id)
}

func (t *tx) GetByNumber(ctx context.Context, number string) (*incident.Incident, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	return t.reader.GetByNumber(ctx, number)
}

func (t *tx) List(ctx context.Context, q incident.Query) (incident.Page, error) {
	if err := t.check(ctx); err != nil {
		return incident.Page{}, err
	}
	return t.reader.List(ctx, q)
}

func (t *tx) Children(ctx context.Context, id string) ([]*incident.Incident, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	return t.reader.Children(ctx, id)
}

func (t *tx) Timers(ctx context.Context, id string) ([]incident.TimerRecord, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	return t.reader.Timers(ctx, id)
}

func (t *tx) TimersDue(ctx context.Context, before time.Time, limit int) ([]incident.TimerRecord, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	return t.reader.TimersDue(ctx, before, limit)
}

func (t *tx) History(ctx context.Context, id string) ([]itsm.Event, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	return t.reader.History(ctx, id)
}

func (t *tx) ResolvedBefore(ctx context.Context, before time.Time, limit int) ([]*incident.Incident, error) {
	if err := t.check(ctx); err != nil {
		return nil, err
	}
	return t.reader.ResolvedBefore(ctx, before, limit)
}

// NextNumber returns the next value of the sequence named kind, from 1.
// The sequence is part of the transaction, so a rollback hands the value
// out again. An empty kind is an *itsm.ValidationError.
func (t *tx) NextNumber(ctx context.Context, kind string) (int64, error) {
	if err := t.check(ctx); err != nil {
		return 0, err
	}
	if kind == "" {
		return 0, itsm.NewValidationError("number sequence", "kind", "must not be empty")
	}
	var n int64
	err := t.q.QueryRowContext(ctx, sqlNextNumber, kind).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: next %s number: %w", kind, mapErr(err))
	}
	return n, nil
}

// savepoint runs fn under a savepoint when several statements must stand
// or fall together, so that a failed write method leaves nothing behind.
func (t *tx) savepoint(ctx context.Context, fn func() error) error {
	if _, err := t.q.ExecContext(ctx, sqlSavepoint); err != nil {
		return mapErr(err)
	}
	if err := fn(); err != nil {
		bg := context.WithoutCancel(ctx)
		_, rbErr := t.q.ExecContext(bg, sqlRollbackTo)
		_, relErr := t.q.ExecContext(bg, sqlRelease)
		if rbErr != nil || relErr != nil {
			return errors.Join(err, rbErr, relErr)
		}
		return err
	}
	_, err := t.q.ExecContext(ctx, sqlRelease)
	return mapErr(err)
}

// atomic runs fn so that its statements stand or fall together: under a
// savepoint when it runs several, and as it is when it runs one, which
// SQLite keeps or undoes whole by itself.
func (t *tx) atomic(ctx context.Context, several bool, fn func() error) error {
	if !several {
		return fn()
	}
	return t.savepoint(ctx, fn)
}

// incidentArgs returns the values of the incidents columns after id, in
// the order of incidentCols, without version.
func incidentArgs(inc *incident.Incident) ([]any, error) {
	roles, err := encodeRoles(inc.Caller.Roles)
	if err != nil {
		return nil, err
	}
	var parent any
	if inc.ParentID != "" {
		parent = inc.ParentID
	}
	return []any{inc.Number, inc.Title, inc.Description, inc.Caller.ID, inc.Caller.Name, roles,
		inc.Service, inc.ConfigItem, inc.Category, int64(inc.Impact), int64(inc.Urgency), int64(inc.Priority),
		boolInt(inc.PriorityOverridden), string(inc.State), string(inc.HoldReason), inc.AssignmentGroup,
		inc.Assignee, string(inc.ResolutionCode), inc.ResolutionNotes, inc.CancelReason,
		micro(inc.OpenedAt), nullMicro(inc.FirstResponseAt), nullMicro(inc.ResolvedAt), nullMicro(inc.ClosedAt),
		micro(inc.UpdatedAt), int64(inc.ReopenCount), boolInt(inc.Major), parent}, nil
}

const incidentInsert = `INSERT INTO incidents (` + incidentCols + `) VALUES (` +
	`?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`

const incidentUpdate = `UPDATE incidents SET number = ?, title = ?, description = ?, caller_id = ?,
	caller_name = ?, caller_roles = ?, service = ?, config_item = ?, category = ?, impact = ?,
	urgency = ?, priority = ?, priority_overridden = ?, state = ?, hold_reason = ?,
	assignment_group = ?, assignee = ?, resolution_code = ?, resolution_notes = ?,
	cancel_reason = ?, opened_at = ?, first_response_at = ?, resolved_at = ?, closed_at = ?,
	updated_at = ?, reopen_count = ?, major = ?, parent_id = ?, version = version + 1
	WHERE id = ? AND version = ?`

// Create stores inc with Version 1 and sets inc.Version to 1. A nil
// incident or an empty ID or Number is an *itsm.ValidationError; an ID or
// Number already stored is an error matching itsm.ErrConflict.
func (t *tx) Create(ctx context.Context, inc *incident.Incident) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if err := incident.ValidateKeys(inc); err != nil {
		return err
	}
	args, err := incidentArgs(inc)
	if err != nil {
		return fmt.Errorf("sqlite: create incident %s: %w", inc.ID, err)
	}
	write := func() error {
		if _, err := t.q.ExecContext(ctx, incidentInsert, append([]any{inc.ID}, args...)...); err != nil {
			return fmt.Errorf("sqlite: create incident %s (%s): %w", inc.ID, inc.Number, mapErr(err))
		}
		return t.writeDetails(ctx, inc)
	}
	if err := t.atomic(ctx, hasDetails(inc), write); err != nil {
		return err
	}
	inc.Version = 1
	return nil
}

// Update replaces the stored incident with inc when the stored version
// equals inc.Version, and sets inc.Version to the next version. Otherwise
// nothing changes and the error is an *itsm.ConflictError (with Expected
// and Actual), or an *itsm.NotFoundError when there is no such incident. A
// changed Number must be free (itsm.ErrConflict otherwise).
func (t *tx) Update(ctx context.Context, inc *incident.Incident) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if err := incident.ValidateKeys(inc); err != nil {
		return err
	}
	args, err := incidentArgs(inc)
	if err != nil {
		return fmt.Errorf("sqlite: update incident %s: %w", inc.ID, err)
	}
	err = t.savepoint(ctx, func() error {
		res, err := t.q.ExecContext(ctx, incidentUpdate, append(args, inc.ID, inc.Version)...)
		if err != nil {
			return fmt.Errorf("sqlite: update incident %s: %w", inc.ID, mapErr(err))
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if err != nil {
				return mapErr(err)
			}
			var cur int64
			err := t.q.QueryRowContext(ctx, sqlVersion, inc.ID).Scan(&cur)
			if errors.Is(err, sql.ErrNoRows) {
				return &itsm.NotFoundError{Kind: incident.Kind, ID: inc.ID}
			}
			if err != nil {
				return fmt.Errorf("sqlite: update incident %s: %w", inc.ID, mapErr(err))
			}
			return &itsm.ConflictError{Kind: incident.Kind, ID: inc.ID, Expected: inc.Version, Actual: cur}
		}
		for _, del := range []string{sqlDeleteJournal, sqlDeleteProblems, sqlDeleteChanges} {
			if _, err := t.q.ExecContext(ctx, del, inc.ID); err != nil {
				return fmt.Errorf("sqlite: update incident %s: %w", inc.ID, mapErr(err))
			}
		}
		return t.writeDetails(ctx, inc)
	})
	if err != nil {
		return err
	}
	inc.Version++
	return nil
}

func hasDetails(inc *incident.Incident) bool {
	return len(inc.Journal) > 0 || len(inc.ProblemIDs) > 0 || len(inc.ChangeIDs) > 0
}

// writeDetails inserts the journal entries and links of inc, one
// prepared statement per row.
func (t *tx) writeDetails(ctx context.Context, inc *incident.Incident) error {
	for i, e := range inc.Journal {
		if _, err := t.q.ExecContext(ctx, sqlInsertJournal, inc.ID, int64(i), string(e.Kind), e.Author, micro(e.At), e.Text); err != nil {
			return fmt.Errorf("sqlite: write journal of %s: %w", inc.ID, mapErr(err))
		}
	}
	for i, id := range inc.ProblemIDs {
		if _, err := t.q.ExecContext(ctx, sqlInsertProblem, inc.ID, int64(i), id); err != nil {
			return fmt.Errorf("sqlite: write problem links of %s: %w", inc.ID, mapErr(err))
		}
	}
	for i, id := range inc.ChangeIDs {
		if _, err := t.q.ExecContext(ctx, sqlInsertChange, inc.ID, int64(i), id); err != nil {
			return fmt.Errorf("sqlite: write change links of %s: %w", inc.ID, mapErr(err))
		}
	}
	return nil
}

// PutTimers inserts or replaces timers keyed by incident and ID, in one
// statement. A replaced timer keeps its place in the order of Timers.
// Every record needs an ID, an IncidentID and a Timer, or nothing is
// stored and the error is an *itsm.ValidationError; every incident must
// be stored, or nothing is stored and the error is an
// *itsm.NotFoundError for the first one missing. Triggers bring the SLA
// summary of each incident's row up to date.
func (t *tx) PutTimers(ctx context.Context, timers ...incident.TimerRecord) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if err := incident.ValidateTimerRecords(timers); err != nil {
		return err
	}
	if len(timers) == 0 {
		return nil
	}
	args := make([]any, 0, min(len(timers), maxTimersPerPut)*9)
	var batches [][]any
	for _, r := range timers {
		enc, err := json.Marshal(r.Timer)
		if err != nil {
			return fmt.Errorf("sqlite: encode timer %s: %w", r.ID, err)
		}
		stage, err := r.Stage.MarshalText()
		if err != nil {
			return fmt.Errorf("sqlite: encode timer %s: %w", r.ID, err)
		}
		args = append(args, r.ID, r.IncidentID, r.Timer.Policy(), string(r.Timer.Metric()), string(enc), string(stage),
			nullMicro(r.AtRiskAt), nullMicro(r.BreachAt), ceilMicro(r.NextWakeAt))
		if len(args) == maxTimersPerPut*9 {
			batches, args = append(batches, args), make([]any, 0, maxTimersPerPut*9)
		}
	}
	if len(args) > 0 {
		batches = append(batches, args)
	}
	// One statement per batch of up to maxTimersPerPut timers; several
	// batches run under a savepoint.
	write := func() error {
		for _, b := range batches {
			if _, err := t.q.ExecContext(ctx, sqlPutTimers[len(b)/9], b...); err != nil {
				if isUnknownIncident(err) {
					return t.missingIncident(ctx, timers, err)
				}
				return fmt.Errorf("sqlite: save timers: %w", mapErr(err))
			}
		}
		return nil
	}
	return t.atomic(ctx, len(batches) > 1, write)
}

// unknownIncident is the message of the trigger that refuses a timer of
// an incident that is not stored (migrations/0001_init.sql).
const unknownIncident = "sla timer of an unknown incident"

// isUnknownIncident reports whether err is that trigger's refusal.
func isUnknownIncident(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_TRIGGER &&
		strings.Contains(se.Error(), unknownIncident)
}

// missingIncident returns an *itsm.NotFoundError for the first incident
// of timers that is not stored, after the trigger refused one; err when
// all of them are there after all.
func (t *tx) missingIncident(ctx context.Context, timers []incident.TimerRecord, err error) error {
	looked := make(map[string]bool)
	for _, r := range timers {
		if looked[r.IncidentID] {
			continue
		}
		looked[r.IncidentID] = true
		var exists bool
		if qerr := t.q.QueryRowContext(ctx, sqlIncidentExists, r.IncidentID).Scan(&exists); qerr != nil {
			return fmt.Errorf("sqlite: save timers: %w", errors.Join(mapErr(err), mapErr(qerr)))
		}
		if !exists {
			return &itsm.NotFoundError{Kind: incident.Kind, ID: r.IncidentID}
		}
	}
	return fmt.Errorf("sqlite: save timers: %w", mapErr(err))
}

// execRows runs the one-row statement query for each of rows; several
// rows run under a savepoint, so that they are written all or none.
func (t *tx) execRows(ctx context.Context, query string, rows [][]any, what string) error {
	write := func() error {
		for _, row := range rows {
			if _, err := t.q.ExecContext(ctx, query, row...); err != nil {
				return fmt.Errorf("%s: %w", what, mapErr(err))
			}
		}
		return nil
	}
	return t.atomic(ctx, len(rows) > 1, write)
}

// AppendEvents appends events, numbering each one more than the last event
// of the same record (Kind and RecordID) and chaining it to that event's
// hash with storage.EventHash; a trigger moves the record's audit head in
// the same statement. Times are kept as storage.AuditTime. If any event
// fails Event.Validate nothing is appended and the error is an
// *itsm.ValidationError naming each problem as "[i].field".
func (t *tx) AppendEvents(ctx context.Context, events ...itsm.Event) error {
	if err := t.check(ctx); err != nil {
		return err
	}
	if err := itsm.ValidateEvents(events); err != nil {
		return err
	}
	if len(events) == 0 {
		return nil
	}
	type key struct{ kind, id string }
	heads := make(map[key]storage.AuditHead)
	rows := make([][]any, 0, len(events))
	for _, ev := range events {
		k := key{ev.Kind, ev.RecordID}
		head, ok := heads[k]
		if !ok {
			err := t.q.QueryRowContext(ctx, sqlAuditHead, ev.Kind, ev.RecordID).Scan(&head.Sequence, &head.Hash)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("sqlite: read audit head of %s %s: %w", ev.Kind, ev.RecordID, mapErr(err))
			}
		}
		ev.Sequence = head.Sequence + 1
		ev.At = storage.AuditTime(ev.At)
		hash := storage.EventHash(head.Hash, ev)
		roles, err := encodeRoles(ev.Actor.Roles)
		if err != nil {
			return err
		}
		changes, err := encodeChanges(ev.Changes)
		if err != nil {
			return err
		}
		var prev any
		if head.Hash != nil {
			prev = head.Hash
		}
		rows = append(rows, []any{ev.Kind, ev.RecordID, ev.Sequence, ev.Actor.ID, ev.Actor.Name, roles, micro(ev.At),
			ev.Action, ev.From, ev.To, changes, ev.Reason, prev, hash})
		heads[k] = storage.AuditHead{Sequence: ev.Sequence, Hash: hash}
	}
	return t.execRows(ctx, sqlInsertEvent, rows, "sqlite: append audit events")
}
