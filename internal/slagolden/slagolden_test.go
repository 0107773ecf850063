package slagolden

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	for name, data := range map[string]string{
		"unknown field": `{"id":"x","events":[{"op":"start","at":"2025-01-06T09:00:00Z"}],"extra":1}`,
		"no events":     `{"id":"x"}`,
		"empty":         "\n  \n",
	} {
		if _, err := Decode([]byte(data)); err == nil {
			t.Errorf("%s: Decode accepted %q", name, data)
		}
	}
	got, err := Decode([]byte("\n" + `{"id":"x","events":[{"op":"start","at":"2025-01-06T09:00:00Z"}]}` + "\n\n"))
	if err != nil || len(got) != 1 || got[0].ID != "x" {
		t.Errorf("Decode: got %+v, %v; want scenario x", got, err)
	}
}

// TestStatusDiffsEveryField checks that StatusDiffs reports a change to
// any one field of an expected status, naming it: it takes a query with
// thresholds and prior cycles whose status agrees with the replayed timer
// and changes its fields one at a time.
func TestStatusDiffsEveryField(t *testing.T) {
	t.Parallel()
	scenarios, err := Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	for i := range scenarios {
		sc := &scenarios[i]
		for _, q := range sc.Queries {
			orig := q.Want
			if len(orig.Thresholds) == 0 || len(orig.PriorCycles) == 0 || orig.Target == nil {
				continue
			}
			cal, err := sc.NewCalendar()
			if err != nil {
				t.Fatal(err)
			}
			tm, err := sc.NewTimer(cal)
			if err != nil {
				t.Fatal(err)
			}
			if d := TimerDiffs(orig, tm, q.At); len(d) > 0 {
				t.Fatalf("%s at %s: %q", sc.ID, FormatInstant(q.At), d)
			}
			// w is changed in place, in arrays of its own; restore puts
			// orig back into them.
			w := orig
			w.Thresholds = slices.Clone(orig.Thresholds)
			w.PriorCycles = slices.Clone(orig.PriorCycles)
			restore := func() {
				ths, pcs := w.Thresholds[:len(orig.Thresholds)], w.PriorCycles[:len(orig.PriorCycles)]
				copy(ths, orig.Thresholds)
				copy(pcs, orig.PriorCycles)
				w = orig
				w.Thresholds, w.PriorCycles = ths, pcs
			}
			checked := 0
			forEachField(reflect.ValueOf(&w).Elem(), "", func(name string, change func()) {
				checked++
				change()
				d := TimerDiffs(w, tm, q.At)
				if len(d) == 0 || !strings.Contains(strings.Join(d, "\n"), name+":") {
					t.Errorf("%s changed: got diffs %q", name, d)
				}
				restore()
				if d := TimerDiffs(w, tm, q.At); len(d) > 0 {
					t.Fatalf("%s restored: %q", name, d)
				}
			})
			if want := 18 + 4*len(orig.Thresholds) + 9*len(orig.PriorCycles); checked != want {
				t.Errorf("%d fields changed, want %d", checked, want)
			}
			return
		}
	}
	t.Fatal("no query with thresholds, prior cycles and a target")
}

// forEachField calls fn for every leaf field of v (a struct) and for
// every slice, with the field's name as StatusDiffs reports it and a
// function that changes the field (or drops the slice's last element).
func forEachField(v reflect.Value, prefix string, fn func(name string, change func())) {
	for i := range v.NumField() {
		f := v.Field(i)
		name := prefix + strings.Split(v.Type().Field(i).Tag.Get("json"), ",")[0]
		switch f.Kind() {
		case reflect.String:
			fn(name, func() { f.SetString(f.String() + "1") })
		case reflect.Int, reflect.Int32, reflect.Int64:
			fn(name, func() { f.SetInt(f.Int() + 1) })
		case reflect.Bool:
			fn(name, func() { f.SetBool(!f.Bool()) })
		case reflect.Pointer: // *TargetSpec
			fn(name, func() {
				g := f.Interface().(*TargetSpec)
				n := int64(1)
				if g.Seconds != nil {
					n += *g.Seconds
				}
				f.Set(reflect.ValueOf(&TargetSpec{Seconds: &n}))
			})
		case reflect.Slice:
			fn("len("+name+")", func() { f.Set(f.Slice(0, f.Len()-1)) })
			for j := range f.Len() {
				forEachField(f.Index(j), name+"["+strconv.Itoa(j)+"].", fn)
			}
		default:
			panic("forEachField: " + name + ": " + f.Kind().String())
		}
	}
}
