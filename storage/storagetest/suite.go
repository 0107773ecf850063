package storagetest

import (
	"context"
	"testing"

	"github.com/itsmkit/itsmkit/record"
)

// TestStore checks that the stores newStore makes implement record.Store
// as package record documents it. It runs every check as a subtest of t,
// in groups ("Create", "List", "Timers", ...), and calls newStore first
// thing in each subtest, with the subtest's *testing.T, expecting a fresh,
// empty store every time (see the package documentation for what the
// factory may do with t). A nil store fails the subtest.
//
// The checks of records run once per schema in schemas, under a subtest
// "kind=<name>" of their group, on records generated from the schema: its
// states with their categories, values for its attributes (required ones
// always set) and header fields varied deterministically. With no schema
// they run over CustomKind. Every subtest declares all of schemas, and a
// second kind of the suite's own for checks across kinds, before it
// starts. A nil schema or two schemas of one kind fail t.
//
// The checks need no particular clock and make no timing assertions; the
// concurrency checks start goroutines that use the store through InTx,
// Claim and the read methods only.
func TestStore(t *testing.T, newStore func(t *testing.T) record.Store, schemas ...*record.Schema) {
	t.Helper()
	if len(schemas) == 0 {
		schemas = []*record.Schema{CustomKind()}
	}
	seen := make(map[string]bool)
	for i, s := range schemas {
		if s == nil {
			t.Fatalf("storagetest: schema %d is nil", i)
		}
		if seen[s.Kind()] {
			t.Fatalf("storagetest: kind %q is given twice", s.Kind())
		}
		seen[s.Kind()] = true
	}
	su := &suite{newStore: newStore, schemas: schemas, other: otherKind(schemas)}
	for _, g := range groups() {
		t.Run(g.name, func(t *testing.T) {
			if !g.perKind {
				for _, c := range g.checks {
					t.Run(c.name, func(t *testing.T) { c.run(su.env(t, schemas[0])) })
				}
				return
			}
			for _, s := range schemas {
				t.Run("kind="+s.Kind(), func(t *testing.T) {
					for _, c := range g.checks {
						t.Run(c.name, func(t *testing.T) { c.run(su.env(t, s)) })
					}
				})
			}
		})
	}
}

// group is a named list of checks; the checks of a perKind group run once
// per schema.
type group struct {
	name    string
	perKind bool
	checks  []check
}

// check is one conformance check.
type check struct {
	name string
	run  func(e *env)
}

// groups returns every group of checks, in the order they run.
func groups() []group {
	return []group{
		{"Create", true, createChecks},
		{"Get", true, getChecks},
		{"Update", true, updateChecks},
		{"Copies", true, copyChecks},
		{"List", true, listChecks()},
		{"Journal", true, journalChecks},
		{"Limits", true, limitChecks},
		{"Links", true, linkChecks},
		{"Timers", true, timerChecks},
		{"Events", true, eventChecks},
		{"Outbox", false, outboxChecks},
		{"Outcomes", false, outcomeChecks},
		{"DeadLetters", false, deadLetterChecks},
		{"NextNumber", true, numberChecks},
		{"Tx", true, txChecks},
		{"Concurrency", true, concurrencyChecks},
		{"Declare", false, declareChecks},
	}
}

type suite struct {
	newStore func(t *testing.T) record.Store
	schemas  []*record.Schema
	other    *record.Schema
}

// env is what one check works with: a fresh store with every schema
// declared, the kind under test and its generator, and the second kind.
type env struct {
	t      *testing.T
	ctx    context.Context
	store  record.Store
	schema *record.Schema
	gen    *gen
	other  *record.Schema
	// og generates records of other.
	og *gen
	// canaries are the records refusedInTx created.
	canaries []record.Ref
}

// env makes a fresh store for the subtest t and declares the schemas.
func (su *suite) env(t *testing.T, s *record.Schema) *env {
	store := su.newStore(t)
	if store == nil {
		t.Fatal("storagetest: newStore returned a nil record.Store")
	}
	ctx := t.Context()
	if err := store.Declare(ctx, append([]*record.Schema{su.other}, su.schemas...)...); err != nil {
		t.Fatalf("storagetest: Declare: %v", err)
	}
	return &env{t: t, ctx: ctx, store: store, schema: s, gen: newGen(s, 1), other: su.other, og: newGen(su.other, 2)}
}
