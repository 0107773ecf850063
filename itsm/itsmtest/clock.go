// Package itsmtest provides helpers for testing code that uses itsmkit:
// a settable Clock and actors with common roles.
package itsmtest

import (
	"sync"
	"time"
)

// Clock is an itsm.Clock that only moves when told to. It is safe for
// concurrent use, so a test can advance it while services read it.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's current reading.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t, forwards or backwards.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock by d (which may be negative) and returns the new
// reading. It adds real elapsed time, so advancing 24 hours across a
// daylight-saving change lands on a different wall-clock hour.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}
