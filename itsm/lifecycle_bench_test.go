package itsm_test

import (
	"testing"
)

// BenchmarkFire measures one successful transition: an open one, one with
// roles, a required field and two guards, one looked up by map in a large
// lifecycle, and the refusal path that builds a *TransitionError.
func BenchmarkFire(b *testing.B) {
	l := lcTicketLifecycle(b)
	rec := lcReadyTicket()
	b.Run("open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := l.Fire(rec, lcStAssigned, lcAcStart, lcAgent); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("guarded", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := l.Fire(rec, lcStInProgress, lcAcResolve, lcAgent); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("large", func(b *testing.B) {
		big := lcChain(b, 40)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := big.Fire(nil, "S31", "a31", lcGuest); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("refused", func(b *testing.B) {
		blocked := &lcTicket{ID: "T-2", Assignee: "bob", OpenTasks: 1}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := l.Fire(blocked, lcStInProgress, lcAcResolve, lcGuest); err == nil {
				b.Fatal("want a refusal")
			}
		}
	})
}

// BenchmarkPermitted measures listing the actions of a state into a reused
// buffer.
func BenchmarkPermitted(b *testing.B) {
	l := lcTicketLifecycle(b)
	rec := lcReadyTicket()
	buf := make([]lcTAction, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		buf = l.AppendPermitted(buf[:0], rec, lcStInProgress, lcAgent)
	}
}
