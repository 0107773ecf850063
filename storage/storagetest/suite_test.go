package storagetest_test

import (
	"fmt"
	"testing"

	"github.com/itsmkit/itsmkit/itsm"

	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/memory"
	"github.com/itsmkit/itsmkit/storage/storagetest"
)

// TestStore runs the suite over the memory store, with the suite's own
// kind, so that the suite's checks run with this package's tests.
func TestStore(t *testing.T) {
	t.Parallel()
	storagetest.TestStore(t, func(t *testing.T) record.Store {
		t.Parallel()
		return memory.New()
	})
}

// TestTimerWorker runs the worker checks over the memory store.
func TestTimerWorker(t *testing.T) {
	t.Parallel()
	storagetest.TestTimerWorker(t, func(t *testing.T) storagetest.WorkerStore {
		return memory.New(memory.WithCalendars(storagetest.WorkerCalendars()))
	})
}

// TestStoreSchemas runs the suite over kinds unlike CustomKind, to check
// that it generates sound fixtures from any schema: one with a single
// state and no attribute, and one with many states and every attribute
// type required. It checks what the suite generates, not concurrency,
// so it does not run under the race detector, which makes it slow.
func TestStoreSchemas(t *testing.T) {
	if raceEnabled {
		t.Skip("checks fixtures only; slow under the race detector")
	}
	t.Parallel()
	minimal := record.MustNewSchema(record.SchemaDef{
		Kind: "minimal", Prefix: "MIN",
		States: []record.StateDef{{Name: "open", Category: itsm.CategoryActive}},
	})
	var states []record.StateDef
	for i, c := range itsm.StateCategories() {
		for j := range 2 {
			states = append(states, record.StateDef{Name: fmt.Sprintf("s%d_%d", i, j), Category: c})
		}
	}
	var attrs []record.Attribute
	for _, typ := range []record.AttrType{record.AttrText, record.AttrInt, record.AttrDecimal, record.AttrBool, record.AttrTime, record.AttrChoice} {
		a := record.Attribute{Name: "req_" + typ.String(), Type: typ, Required: true, Filterable: true}
		if typ == record.AttrChoice {
			for k := range 12 {
				a.Choices = append(a.Choices, fmt.Sprintf("c%02d", k))
			}
		}
		attrs = append(attrs, a)
	}
	wide := record.MustNewSchema(record.SchemaDef{Kind: "wide", Prefix: "W1", States: states, Attributes: attrs})
	storagetest.TestStore(t, func(t *testing.T) record.Store {
		t.Parallel()
		return memory.New()
	}, minimal, wide, storagetest.CustomKind())
}
