package itsmtest_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/itsmkit/itsmkit/itsm"
	"github.com/itsmkit/itsmkit/itsm/itsmtest"
)

var _ itsm.Clock = (*itsmtest.Clock)(nil)

func TestClockConcurrentUse(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := itsmtest.NewClock(start)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Second)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	require.Equal(t, start.Add(800*time.Second), c.Now())
	c.Set(start)
	require.Equal(t, start, c.Now())
	require.Equal(t, start.Add(-time.Hour), c.Advance(-time.Hour))
}

func TestClockAdvanceIsRealTimeAcrossDST(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	c := itsmtest.NewClock(time.Date(2026, 3, 7, 12, 0, 0, 0, ny))
	got := c.Advance(24 * time.Hour).In(ny)
	require.Equal(t, 13, got.Hour(), "24 real hours across spring-forward end an hour later on the clock")
}
