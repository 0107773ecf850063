package itsm

import (
	"strconv"
	"strings"
)

// Mermaid renders the lifecycle as a Mermaid stateDiagram-v2, for READMEs
// and documentation. The output is deterministic: the initial state first
// ("[*] --> Initial"), then one edge per source state of each transition in
// definition order, then one "State --> [*]" line per terminal state.
//
// Each edge is labelled with its action, followed where present by the
// required fields and guards in square brackets ("[needs resolution,
// no-open-tasks]") and by the roles allowed in parentheses ("(roles:
// agent, manager)"). A state whose name is not a plain identifier (letters,
// digits and underscores, starting with a letter) or is a Mermaid keyword
// is declared once as 'state "In Progress" as s2' and referred to by that
// alias. Line breaks and semicolons in labels are replaced so that they
// cannot break the diagram.
func (l *Lifecycle[S, A, R]) Mermaid() string {
	ids := l.mermaidIDs()
	var b strings.Builder
	b.WriteString("stateDiagram-v2\n")
	for i, s := range l.states {
		if ids[i] != string(s) {
			b.WriteString("    state \"")
			b.WriteString(mermaidText(strings.ReplaceAll(string(s), `"`, "'")))
			b.WriteString("\" as ")
			b.WriteString(ids[i])
			b.WriteByte('\n')
		}
	}
	b.WriteString("    [*] --> ")
	b.WriteString(ids[l.initial])
	b.WriteByte('\n')
	for ti, t := range l.def {
		label := mermaidText(mermaidLabel(t))
		to := ids[l.edges[ti].to]
		for _, f := range t.From {
			b.WriteString("    ")
			b.WriteString(ids[l.stateIndex(f)])
			b.WriteString(" --> ")
			b.WriteString(to)
			b.WriteString(" : ")
			b.WriteString(label)
			b.WriteByte('\n')
		}
	}
	for _, s := range l.terminals {
		b.WriteString("    ")
		b.WriteString(ids[l.stateIndex(s)])
		b.WriteString(" --> [*]\n")
	}
	return b.String()
}

// mermaidIDs returns the identifier used for each state in the diagram.
func (l *Lifecycle[S, A, R]) mermaidIDs() []string {
	ids := make([]string, len(l.states))
	taken := make(map[string]bool, len(l.states))
	for i, s := range l.states {
		if mermaidPlain(string(s)) {
			ids[i] = string(s)
			taken[ids[i]] = true
		}
	}
	for i := range l.states {
		if ids[i] != "" {
			continue
		}
		id := "s" + strconv.Itoa(i)
		for taken[id] {
			id += "_"
		}
		ids[i] = id
		taken[id] = true
	}
	return ids
}

// mermaidPlain reports whether s can be used as a state identifier as is.
func mermaidPlain(s string) bool {
	switch s {
	case "state", "note", "direction", "class", "classDef", "end", "as":
		return false
	}
	for i, c := range s {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || c != '_' && (c < '0' || c > '9')) {
			return false
		}
	}
	return s != ""
}

func mermaidLabel[S ~string, A ~string, R any](t Transition[S, A, R]) string {
	var b strings.Builder
	b.WriteString(string(t.Action))
	if len(t.Required) > 0 || len(t.Guards) > 0 {
		b.WriteString(" [")
		n := 0
		for _, f := range t.Required {
			if n > 0 {
				b.WriteString(", ")
			}
			b.WriteString("needs ")
			b.WriteString(f.Name)
			n++
		}
		for _, g := range t.Guards {
			if n > 0 {
				b.WriteString(", ")
			}
			b.WriteString(g.Name)
			n++
		}
		b.WriteByte(']')
	}
	if len(t.Roles) > 0 {
		b.WriteString(" (roles: ")
		for i, r := range t.Roles {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(string(r))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// mermaidText replaces characters that would end a Mermaid statement.
func mermaidText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == ';':
			return ','
		case r < ' ' || r == 0x7f || r == '\u2028' || r == '\u2029':
			return ' '
		}
		return r
	}, s)
}
