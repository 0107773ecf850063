package storage_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/storage"
)

func TestRetryable(t *testing.T) {
	t.Parallel()
	require.NoError(t, storage.Retryable(nil))
	base := &itsm.ConflictError{Kind: "incident", ID: "1", Expected: 1}
	err := fmt.Errorf("commit: %w", storage.Retryable(base))
	require.True(t, storage.IsRetryable(err))
	require.ErrorIs(t, err, itsm.ErrConflict)
	var ce *itsm.ConflictError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "commit: itsm: incident 1 changed since version 1 (retryable)", err.Error())
	require.False(t, storage.IsRetryable(errors.New("syntax error")))
}
