package record

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// linkReader is a Tx that knows only links and link type locks; its other
// methods panic.
type linkReader struct {
	Tx
	links  []Link
	calls  int
	err    error
	byRef  map[Ref][]Link
	locked []string
}

func (r *linkReader) LockLinkTypes(_ context.Context, types ...string) error {
	if err := CheckLinkTypeNames(types); err != nil {
		return err
	}
	r.locked = append(r.locked, types...)
	return nil
}

func (r *linkReader) Links(_ context.Context, ref Ref) ([]Link, error) {
	r.calls++
	if r.err != nil {
		return nil, r.err
	}
	if r.byRef == nil {
		r.byRef = map[Ref][]Link{}
		for _, l := range r.links {
			r.byRef[l.From] = append(r.byRef[l.From], l)
			if l.To != l.From {
				r.byRef[l.To] = append(r.byRef[l.To], l)
			}
		}
	}
	return append([]Link{}, r.byRef[ref]...), nil
}

func TestCheckCycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ref := func(id string) Ref { return Ref{Kind: "ticket", ID: id} }
	link := func(typ, from, to string) Link { return Link{Type: typ, From: ref(from), To: ref(to)} }
	dup := DuplicateOf.Name

	tests := []struct {
		name   string
		stored []Link
		add    Link
		cycle  bool
	}{
		{"nothing stored", nil, link(dup, "a", "b"), false},
		{"direct cycle", []Link{link(dup, "a", "b")}, link(dup, "b", "a"), true},
		{"indirect cycle", []Link{link(dup, "a", "b"), link(dup, "b", "c")}, link(dup, "c", "a"), true},
		{"the same link again", []Link{link(dup, "a", "b")}, link(dup, "a", "b"), false},
		{"chain without a cycle", []Link{link(dup, "a", "b"), link(dup, "b", "c")}, link(dup, "a", "c"), false},
		{"links of another type", []Link{link(CausedBy.Name, "a", "b")}, link(dup, "b", "a"), false},
		{"links against the direction", []Link{link(dup, "c", "b"), link(dup, "a", "c")}, link(dup, "a", "b"), false},
		{"diamond", []Link{link(dup, "b", "c"), link(dup, "b", "d"), link(dup, "c", "e"), link(dup, "d", "e")}, link(dup, "a", "b"), false},
		{"diamond closed", []Link{link(dup, "b", "c"), link(dup, "b", "d"), link(dup, "c", "e"), link(dup, "d", "e")}, link(dup, "e", "b"), true},
		{"a loop elsewhere", []Link{link(dup, "b", "c"), link(dup, "c", "b")}, link(dup, "a", "b"), false},
		{"same ID of another kind", []Link{{Type: dup, From: ref("b"), To: Ref{Kind: "problem", ID: "a"}}}, link(dup, "a", "b"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &linkReader{links: tc.stored}
			err := CheckCycle(ctx, r, tc.add)
			require.Equal(t, []string{tc.add.Type}, r.locked, "the link type is locked before links are read")
			if !tc.cycle {
				require.NoError(t, err)
				return
			}
			require.Equal(t, []string{"link"}, fieldsOf(t, err))
			require.Contains(t, err.Error(), "would close a cycle")
		})
	}

	t.Run("self link", func(t *testing.T) {
		t.Parallel()
		r := &linkReader{}
		require.Equal(t, []string{"link"}, fieldsOf(t, CheckCycle(ctx, r, link(dup, "a", "a"))))
		require.Zero(t, r.calls)
	})
	t.Run("lock errors are passed on", func(t *testing.T) {
		t.Parallel()
		r := &linkReader{}
		require.Equal(t, []string{"[0]"}, fieldsOf(t, CheckCycle(ctx, r, link("Not A Type", "a", "b"))))
		require.Zero(t, r.calls)
	})
	t.Run("reader errors are passed on", func(t *testing.T) {
		t.Parallel()
		boom := errors.New("boom")
		require.ErrorIs(t, CheckCycle(ctx, &linkReader{err: boom}, link(dup, "a", "b")), boom)
	})
	t.Run("walk limit", func(t *testing.T) {
		t.Parallel()
		// A chain r0 → r1 → ... of n records, and a new link x → r0.
		chain := func(n int) []Link {
			var ls []Link
			for i := 1; i < n; i++ {
				ls = append(ls, link(dup, "r"+strconv.Itoa(i-1), "r"+strconv.Itoa(i)))
			}
			return ls
		}
		r := &linkReader{links: chain(MaxCycleWalk)}
		require.NoError(t, CheckCycle(ctx, r, link(dup, "x", "r0")), "exactly MaxCycleWalk records")
		r = &linkReader{links: chain(MaxCycleWalk + 1)}
		err := CheckCycle(ctx, r, link(dup, "x", "r0"))
		require.Equal(t, []string{"link"}, fieldsOf(t, err))
		require.Contains(t, err.Error(), "more than 10000 records")
	})
}
