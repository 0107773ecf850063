package record

import (
	"strconv"
	"time"

	"github.com/itsmkit/itsmkit/itsm"
)

// Cascade says what a state change of a link's To record does to its From
// record. The record core only declares it; the practices carry it out.
type Cascade uint8

const (
	// CascadeNone: the records only refer to each other.
	CascadeNone Cascade = iota
	// CascadeResolve: resolving the To record resolves the From record
	// with the same resolution (a parent resolves its children, an
	// original its duplicates).
	CascadeResolve
)

var cascadeNames = [...]string{"none", "resolve"}

// String returns "none" or "resolve", or "Cascade(N)" for an invalid
// cascade.
func (c Cascade) String() string {
	if int(c) < len(cascadeNames) {
		return cascadeNames[c]
	}
	return "Cascade(" + strconv.Itoa(int(c)) + ")"
}

// Valid reports whether c is one of the declared cascades.
func (c Cascade) Valid() bool { return c <= CascadeResolve }

// MarshalText encodes c as String does; an invalid cascade is an
// *itsm.ValidationError.
func (c Cascade) MarshalText() ([]byte, error) {
	if !c.Valid() {
		return nil, itsm.NewValidationError("link type", "cascade", "%s is not a cascade", c)
	}
	return []byte(c.String()), nil
}

// UnmarshalText decodes "none" or "resolve"; anything else (case
// matters) is an *itsm.ValidationError and leaves c unchanged.
func (c *Cascade) UnmarshalText(b []byte) error {
	for i, n := range cascadeNames {
		if string(b) == n {
			*c = Cascade(i)
			return nil
		}
	}
	return itsm.NewValidationError("link type", "cascade", "%q is not a cascade (none or resolve)", b)
}

// LinkType declares a kind of link. Links are directed, From → To, and
// read the same from both ends.
type LinkType struct {
	// Name identifies the type, such as "caused_by": a lower-case
	// identifier like a kind name.
	Name string `json:"name"`
	// Inverse is how the link reads from its To end, such as "causes".
	Inverse string `json:"inverse"`
	// Cascade says what resolving the To record does to the From record.
	Cascade Cascade `json:"cascade"`
	// Acyclic refuses a link that would close a cycle of links of this
	// type (A duplicates B duplicates A).
	Acyclic bool `json:"acyclic"`
}

// The link types every store knows. ChildOf is kept as the child's
// Header.Parent rather than as a stored link, so that children are a
// Query filter; the others are stored links.
var (
	ChildOf     = LinkType{Name: "child_of", Inverse: "parent_of", Cascade: CascadeResolve, Acyclic: true}
	DuplicateOf = LinkType{Name: "duplicate_of", Inverse: "duplicated_by", Cascade: CascadeResolve, Acyclic: true}
	CausedBy    = LinkType{Name: "caused_by", Inverse: "causes", Cascade: CascadeNone, Acyclic: true}
	FixedBy     = LinkType{Name: "fixed_by", Inverse: "fixes", Cascade: CascadeNone, Acyclic: true}
	RelatedTo   = LinkType{Name: "related_to", Inverse: "related_to", Cascade: CascadeNone, Acyclic: false}
)

// LinkTypes returns the built-in stored link types (ChildOf excluded).
func LinkTypes() []LinkType { return []LinkType{DuplicateOf, CausedBy, FixedBy, RelatedTo} }

// Link is one typed, directed link between two records.
type Link struct {
	Type string `json:"type"`
	From Ref    `json:"from"`
	To   Ref    `json:"to"`
	// CreatedAt and CreatedBy say when and by whom the link was made.
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

// Other returns the end of l that is not ref, and whether ref is an end of
// l at all; for a link from a record to itself (which CheckLinks refuses)
// it returns ref.
func (l Link) Other(ref Ref) (Ref, bool) {
	switch ref {
	case l.From:
		return l.To, true
	case l.To:
		return l.From, true
	}
	return Ref{}, false
}

// CheckLinkTypeNames checks link type names as Tx.LockLinkTypes takes
// them: each must be a well-formed type name (a lower-case identifier). It
// returns one *itsm.ValidationError naming each problem as "[i]", or nil.
func CheckLinkTypeNames(types []string) error {
	v := &itsm.ValidationError{Subject: "link types"}
	for i, t := range types {
		if !validName(t) {
			v.Add("["+strconv.Itoa(i)+"]", "%q is not a link type name", t)
		}
	}
	return v.Err()
}

// CheckLinks checks links before a store keeps them: each has a
// well-formed type name (any lower-case identifier, not only the built-in
// types) that is not ChildOf (which is the header's Parent), both ends
// with a well-formed kind and an ID (1 to MaxIDLen bytes of valid UTF-8
// without NUL bytes), ends that differ, a creation time in the years 1 to
// 9999 and a creator of 1 to MaxIDLen bytes. It returns one
// *itsm.ValidationError naming each problem as "[i].field" (type,
// from.kind, from.id, to.kind, to.id, to, created_at, created_by), or nil.
func CheckLinks(links []Link) error { return checkLinks(links, true) }

// CheckLinkKeys checks what removing links needs: CheckLinks without the
// creation time and creator, which a removal does not name. Stores call it
// in RemoveLinks.
func CheckLinkKeys(links []Link) error { return checkLinks(links, false) }

func checkLinks(links []Link, created bool) error {
	v := &itsm.ValidationError{Subject: "links"}
	for i, l := range links {
		at := "[" + strconv.Itoa(i) + "]."
		switch {
		case l.Type == ChildOf.Name:
			v.Add(at+"type", "%s is kept as the child's parent, not as a link", ChildOf.Name)
		case !validName(l.Type):
			v.Add(at+"type", "%q is not a link type name", l.Type)
		}
		for _, end := range []struct {
			name string
			ref  Ref
		}{{"from", l.From}, {"to", l.To}} {
			if !validName(end.ref.Kind) {
				v.Add(at+end.name+".kind", "%q is not a kind name", end.ref.Kind)
			}
			if msg := idProblem(end.ref.ID); msg != "" {
				v.Add(at+end.name+".id", "%s", msg)
			}
		}
		if l.From == l.To {
			v.Add(at+"to", "a record cannot link to itself")
		}
		if !created {
			continue
		}
		if l.CreatedAt.IsZero() {
			v.Add(at+"created_at", "must be set")
		} else if !validInstant(l.CreatedAt) {
			v.Add(at+"created_at", "lies outside the years 1 to 9999 (UTC)")
		}
		if msg := idProblem(l.CreatedBy); msg != "" {
			v.Add(at+"created_by", "%s", msg)
		}
	}
	return v.Err()
}
