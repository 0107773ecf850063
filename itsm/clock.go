package itsm

import "time"

// Clock tells the time. Services take one instead of calling time.Now, so
// tests and simulations can drive time (see itsmtest.Clock).
type Clock interface {
	// Now returns the current instant.
	Now() time.Time
}

// SystemClock is the Clock that reads the system's wall clock. Its zero
// value is ready to use.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// ClockFunc adapts a function to the Clock interface.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// ClockOrSystem returns c, or SystemClock when c is nil. Constructors use
// it so that a zero Config means "real time".
func ClockOrSystem(c Clock) Clock {
	if c == nil {
		return SystemClock{}
	}
	return c
}
