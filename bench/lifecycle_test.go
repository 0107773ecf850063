package bench

import (
	"context"
	"errors"
	"testing"

	"github.com/qmuntal/stateless"

	"github.com/itsmkit/itsmkit/itsm"
)

// The machine both libraries run: Open -start-> Working -finish-> Done
// -reopen-> Open, with a guard on finish that reads the record. Every
// iteration fires exactly one transition, cycling through the three.

type benchState string

type benchAction string

type benchRecord struct {
	Resolution string
}

var (
	benchActions = [3]benchAction{"start", "finish", "reopen"}
	benchActor   = itsm.Actor{ID: "bench", Roles: []itsm.Role{"agent"}}
	errNoResult  = errors.New("no resolution")
)

func newItsmkit(tb testing.TB) *itsm.Lifecycle[benchState, benchAction, *benchRecord] {
	tb.Helper()
	l, err := itsm.NewLifecycle(itsm.Definition[benchState, benchAction, *benchRecord]{
		Kind:    "bench",
		Initial: "Open",
		States:  []benchState{"Open", "Working", "Done"},
		Categories: map[benchState]itsm.StateCategory{
			"Open": itsm.CategoryNew, "Working": itsm.CategoryActive, "Done": itsm.CategoryResolved,
		},
		Transitions: []itsm.Transition[benchState, benchAction, *benchRecord]{
			{Action: "start", From: []benchState{"Open"}, To: "Working"},
			{Action: "finish", From: []benchState{"Working"}, To: "Done", Guards: []itsm.Guard[*benchRecord]{{
				Name: "has-resolution",
				Check: func(r *benchRecord, _ itsm.Actor) error {
					if r.Resolution == "" {
						return errNoResult
					}
					return nil
				},
			}}},
			{Action: "reopen", From: []benchState{"Done"}, To: "Open"},
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

func newStateless(rec *benchRecord) *stateless.StateMachine {
	sm := stateless.NewStateMachine(benchState("Open"))
	sm.Configure(benchState("Open")).Permit(benchAction("start"), benchState("Working"))
	sm.Configure(benchState("Working")).Permit(benchAction("finish"), benchState("Done"),
		func(context.Context, ...any) bool { return rec.Resolution != "" })
	sm.Configure(benchState("Done")).Permit(benchAction("reopen"), benchState("Open"))
	return sm
}

func TestBothMachinesAgree(t *testing.T) {
	rec := &benchRecord{Resolution: "done"}
	l := newItsmkit(t)
	sm := newStateless(rec)
	s := l.Initial()
	for i := 0; i < 9; i++ {
		a := benchActions[i%3]
		next, err := l.Fire(rec, s, a, benchActor)
		if err != nil {
			t.Fatal(err)
		}
		s = next
		if err := sm.Fire(a); err != nil {
			t.Fatal(err)
		}
		if got := sm.MustState(); got != s {
			t.Fatalf("step %d: stateless in %v, itsmkit in %v", i, got, s)
		}
	}
	rec.Resolution = ""
	if _, err := l.Fire(rec, "Working", "finish", benchActor); !errors.Is(err, itsm.ErrInvalidTransition) {
		t.Fatalf("itsmkit guard did not refuse: %v", err)
	}
	if err := sm.Fire(benchAction("start")); err != nil {
		t.Fatal(err)
	}
	if err := sm.Fire(benchAction("finish")); err == nil {
		t.Fatal("stateless guard did not refuse")
	}
}

func BenchmarkFire(b *testing.B) {
	rec := &benchRecord{Resolution: "done"}
	b.Run("impl=itsmkit", func(b *testing.B) {
		l := newItsmkit(b)
		s := l.Initial()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			next, err := l.Fire(rec, s, benchActions[i], benchActor)
			if err != nil {
				b.Fatal(err)
			}
			s = next
			if i++; i == len(benchActions) {
				i = 0
			}
		}
	})
	b.Run("impl=stateless", func(b *testing.B) {
		sm := newStateless(rec)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := sm.Fire(benchActions[i]); err != nil {
				b.Fatal(err)
			}
			if i++; i == len(benchActions) {
				i = 0
			}
		}
	})
}

func BenchmarkPermitted(b *testing.B) {
	rec := &benchRecord{Resolution: "done"}
	b.Run("impl=itsmkit", func(b *testing.B) {
		l := newItsmkit(b)
		buf := make([]benchAction, 0, 4)
		b.ReportAllocs()
		for b.Loop() {
			buf = l.AppendPermitted(buf[:0], rec, "Working", benchActor)
			if len(buf) != 1 {
				b.Fatal(buf)
			}
		}
	})
	b.Run("impl=stateless", func(b *testing.B) {
		sm := newStateless(rec)
		if err := sm.Fire(benchAction("start")); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			ts, err := sm.PermittedTriggers()
			if err != nil || len(ts) != 1 {
				b.Fatal(ts, err)
			}
		}
	})
}
