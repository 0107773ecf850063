package record

import (
	"context"

	"github.com/itsmkit/itsmkit/itsm"
)

// MaxCycleWalk bounds how many records CheckCycle visits.
const MaxCycleWalk = 10000

// CheckCycle reports whether storing l would close a cycle of links of
// l's type: whether l.From can be reached from l.To by following stored
// links of that type from their From end to their To end. It returns an
// *itsm.ValidationError for field "link" when it would, or when the walk
// visits more than MaxCycleWalk records; errors of tx are passed on.
// Practices call it in the transaction that then adds l (Tx.AddLinks),
// for types with Acyclic set.
//
// CheckCycle first locks l's type (Tx.LockLinkTypes) until tx ends, so
// that of two transactions that would each close half of a cycle, the
// second waits for the first and then sees its link.
func CheckCycle(ctx context.Context, tx Tx, l Link) error {
	if l.From == l.To {
		return itsm.NewValidationError(l.From.Kind, "link", "%s cannot be linked to itself", l.From)
	}
	if err := tx.LockLinkTypes(ctx, l.Type); err != nil {
		return err
	}
	r := Reader(tx)
	seen := map[Ref]bool{l.To: true}
	queue := []Ref{l.To}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		links, err := r.Links(ctx, cur)
		if err != nil {
			return err
		}
		for _, e := range links {
			if e.Type != l.Type || e.From != cur || seen[e.To] {
				continue
			}
			if e.To == l.From {
				return itsm.NewValidationError(l.From.Kind, "link", "%s %s %s would close a cycle", l.From, l.Type, l.To)
			}
			if len(seen) >= MaxCycleWalk {
				return itsm.NewValidationError(l.From.Kind, "link", "more than %d records are linked by %s", MaxCycleWalk, l.Type)
			}
			seen[e.To] = true
			queue = append(queue, e.To)
		}
	}
	return nil
}
