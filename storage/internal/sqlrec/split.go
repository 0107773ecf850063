package sqlrec

import "github.com/itsmkit/itsmkit/record"

// SplitBy returns one copy of q per distinct value of vals, in the order
// of their first appearance, each narrowed to its value by set. Adapters
// split a query on several values of one filter this way, so that each
// part reads its index in List order and the parts merge; distinct values
// select disjoint records, so the merge needs no deduplication.
func SplitBy[T comparable](q record.Query, vals []T, set func(p *record.Query, v T)) []record.Query {
	out := make([]record.Query, 0, len(vals))
	seen := make(map[T]bool, len(vals))
	for _, v := range vals {
		if seen[v] {
			continue
		}
		seen[v] = true
		p := q
		set(&p, v)
		out = append(out, p)
	}
	return out
}
