package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage"
)

// SQLSTATE codes the adapter translates.
const (
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeUndefinedTable       = "42P01"
	codeInvalidSchemaName    = "3F000"
	codeAdminShutdown        = "57P01"
	codeCrashShutdown        = "57P02"
	codeCannotConnectNow     = "57P03"
	codeTooManyConnections   = "53300"
	codeDiskFull             = "53100"
	codeReadOnlyTransaction  = "25006"
	codeDataCorrupted        = "XX001"
	codeIndexCorrupted       = "XX002"
	// codeProtocolViolation is in the connection class but reports a
	// message the server refused (in the simple protocol, a NUL byte in a
	// string), which fails again when retried.
	codeProtocolViolation = "08P01"
)

// mapError translates a driver error into the itsm vocabulary. kind and id
// name the record the statement was about, when there is one:
//
//   - pgx.ErrNoRows becomes an *itsm.NotFoundError for kind and id;
//   - 23505 unique_violation matches itsm.ErrConflict;
//   - 23503 foreign_key_violation (a row refers to a record that is not
//     stored) matches itsm.ErrNotFound;
//   - 40001 serialization_failure and 40P01 deadlock_detected become an
//     *itsm.ConflictError (for kind and id, or kind "transaction") wrapped
//     by storage.Retryable;
//   - a lost or refused connection (57P01 admin_shutdown, 57P02, 57P03,
//     53300, class 08 but 08P01 protocol_violation, io and network errors,
//     closed connections, and anything pgconn.SafeToRetry accepts) is
//     wrapped by storage.Retryable;
//   - class 22 (data exception, such as a NUL byte or invalid UTF-8 in a
//     string) becomes an *itsm.ValidationError;
//   - 53100 disk_full matches storage.ErrFull, 25006
//     read_only_sql_transaction (a read-only transaction or a standby
//     server) storage.ErrReadOnly, XX001 data_corrupted and XX002
//     index_corrupted storage.ErrCorrupt;
//   - 42P01 undefined_table and 3F000 invalid_schema_name say the schema
//     may not be migrated.
//
// Context cancellation and deadlines are returned as they are, never as
// retryable, and so is a commit of unknown outcome
// (storage.ErrUnknownOutcome). Anything else is returned unchanged.
// Errors already translated are not translated again.
func mapError(err error, kind, id string) error {
	if err == nil {
		return nil
	}
	if storage.IsRetryable(err) || errors.Is(err, storage.ErrUnknownOutcome) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		if kind == "" {
			kind = "row"
		}
		return &itsm.NotFoundError{Kind: kind, ID: id}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == codeUniqueViolation:
			return fmt.Errorf("postgres: %s (%s): %w", pe.Message, pe.ConstraintName, itsm.ErrConflict)
		case pe.Code == codeForeignKeyViolation:
			return fmt.Errorf("postgres: %s (%s): %w", pe.Message, pe.ConstraintName, itsm.ErrNotFound)
		case pe.Code == codeSerializationFailure || pe.Code == codeDeadlockDetected:
			if kind == "" {
				kind = "transaction"
			}
			return storage.Retryable(fmt.Errorf("postgres: %s (SQLSTATE %s): %w", pe.Message, pe.Code,
				&itsm.ConflictError{Kind: kind, ID: id}))
		case lostConnection(pe):
			return storage.Retryable(fmt.Errorf("postgres: %w", err))
		case strings.HasPrefix(pe.Code, "22"):
			field := pe.ColumnName
			if field == "" {
				field = "value"
			}
			return fmt.Errorf("postgres: %w", itsm.NewValidationError(kindOr(kind, "record"), field, "%s (SQLSTATE %s)", pe.Message, pe.Code))
		case pe.Code == codeDiskFull:
			return fmt.Errorf("postgres: %w: %w", storage.ErrFull, err)
		case pe.Code == codeReadOnlyTransaction:
			return fmt.Errorf("postgres: %w: %w", storage.ErrReadOnly, err)
		case pe.Code == codeDataCorrupted, pe.Code == codeIndexCorrupted:
			return fmt.Errorf("postgres: %w: %w", storage.ErrCorrupt, err)
		case pe.Code == codeUndefinedTable, pe.Code == codeInvalidSchemaName:
			return fmt.Errorf("postgres: %w (is the schema migrated? see Store.Migrate)", err)
		}
		return err
	}
	if connectionLost(err) {
		return storage.Retryable(fmt.Errorf("postgres: connection lost: %w", err))
	}
	return err
}

// lostConnection reports whether pe is one of the errors of a connection
// that failed or was closed (which mapError makes retryable), after which
// the session is gone.
func lostConnection(pe *pgconn.PgError) bool {
	switch {
	case pe.Code == codeAdminShutdown, pe.Code == codeCrashShutdown, pe.Code == codeCannotConnectNow,
		pe.Code == codeTooManyConnections, strings.HasPrefix(pe.Code, "08") && pe.Code != codeProtocolViolation:
		return true
	}
	return false
}

func kindOr(kind, def string) string {
	if kind == "" {
		return def
	}
	return kind
}

// connectionLost reports whether err says the connection failed or was
// closed under the statement, so that nothing of the transaction can have
// been committed by it and trying again on a new connection may work.
func connectionLost(err error) bool {
	if pgconn.SafeToRetry(err) {
		return true
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne):
		return true
	case errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE):
		return true
	}
	return false
}
