package storagetest_test

import (
	"testing"

	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/memory"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// TestTimerScenarios runs the golden SLA timer scenarios over the memory
// store, so that they run with this package's own tests; the SQL adapters
// call storagetest.TestTimerScenarios from theirs.
func TestTimerScenarios(t *testing.T) {
	t.Parallel()
	storagetest.TestTimerScenarios(t, func(t *testing.T) record.Store { return memory.New() })
}
