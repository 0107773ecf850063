package incident_test

import (
	"sort"
	"testing"

	"github.com/itsmkit/itsmkit/record"
	"github.com/itsmkit/itsmkit/storage/memory"
)

// storeFactory returns a fresh, empty store for one test.
type storeFactory func(t testing.TB) record.Store

func memoryStore(testing.TB) record.Store { return memory.New() }

// stores lists the stores every service test runs on; the SQL stores are
// added by sql_stores_test.go.
var stores = map[string]storeFactory{"memory": memoryStore}

// TestService runs every service test on every store, so that the rules
// hold alike whatever keeps the incidents.
func TestService(t *testing.T) {
	t.Parallel()
	for _, storeName := range sortedKeys(stores) {
		st := stores[storeName]
		t.Run(storeName, func(t *testing.T) {
			t.Parallel()
			for _, name := range sortedKeys(serviceTests) {
				fn := serviceTests[name]
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					fn(t, st)
				})
			}
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
