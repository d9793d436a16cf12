package codecgen

import (
	"fmt"
	"sort"
)

// Check compares an old and a new version of a schema and returns every
// change that breaks old readers of new data or new readers of old data
// (removed, retyped, renumbered or reordered fields and values, reused
// ids, fields added without a later "since" version, ...), sorted by
// position. An empty result means the new schema is a compatible
// evolution of the old one.
func Check(old, cur *Schema) []*Incompatibility {
	c := &compat{}
	if old.ID != cur.ID {
		c.add(cur.PkgPos, old.PkgPos, "schema id changed from %d to %d", old.ID, cur.ID)
	}
	if cur.Version < old.Version {
		c.add(cur.PkgPos, old.PkgPos, "schema version went down from %d to %d", old.Version, cur.Version)
	}
	enums := map[string]*Enum{}
	for _, e := range cur.Enums {
		enums[e.Name] = e
	}
	for _, o := range old.Enums {
		n, ok := enums[o.Name]
		if !ok {
			c.add(o.Pos, o.Pos, "enum %s removed", o.Name)
			continue
		}
		if n.Underlying != o.Underlying {
			c.add(n.Pos, o.Pos, "enum %s: underlying type changed", o.Name)
		}
		c.consts("enum "+o.Name, o.Values, n.Values, n.Pos)
	}
	bitsets := map[string]*Bitset{}
	for _, b := range cur.Bitsets {
		bitsets[b.Name] = b
	}
	for _, o := range old.Bitsets {
		n, ok := bitsets[o.Name]
		if !ok {
			c.add(o.Pos, o.Pos, "bitset %s removed", o.Name)
			continue
		}
		if n.Underlying != o.Underlying {
			c.add(n.Pos, o.Pos, "bitset %s: underlying type changed", o.Name)
		}
		c.consts("bitset "+o.Name, o.Bits, n.Bits, n.Pos)
	}
	structs := map[string]*Struct{}
	for _, s := range cur.Structs {
		structs[s.Name] = s
	}
	for _, o := range old.Structs {
		n, ok := structs[o.Name]
		if !ok {
			c.add(o.Pos, o.Pos, "struct %s removed", o.Name)
			continue
		}
		if structLayout(o) != structLayout(n) {
			c.add(n.Pos, o.Pos, "struct %s changed layout (structs are inline and cannot evolve): was {%s}, now {%s}", o.Name, structLayout(o), structLayout(n))
		}
	}
	msgs := map[string]*Record{}
	byID := map[uint32]*Record{}
	for _, m := range cur.Messages {
		msgs[m.Name] = m
		byID[m.TypeID] = m
	}
	for _, o := range old.Messages {
		n, ok := msgs[o.Name]
		if !ok {
			c.add(o.Pos, o.Pos, "message %s removed", o.Name)
			if r, reused := byID[o.TypeID]; reused {
				c.add(r.Pos, o.Pos, "message type id %d of removed message %s reused by %s", o.TypeID, o.Name, r.Name)
			}
			continue
		}
		if n.TypeID != o.TypeID {
			c.add(n.Pos, o.Pos, "message %s: type id changed from %d to %d", o.Name, o.TypeID, n.TypeID)
		}
		c.record(o, n, old.Version)
	}
	c.services(old, cur)
	sort.SliceStable(c.out, func(i, j int) bool {
		a, b := c.out[i].Pos, c.out[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
	return c.out
}

type compat struct{ out []*Incompatibility }

func (c *compat) add(pos, oldPos Pos, format string, args ...any) {
	c.out = append(c.out, &Incompatibility{Pos: pos, OldPos: oldPos, Msg: fmt.Sprintf(format, args...)})
}

func (c *compat) consts(what string, old, cur []*Const, pos Pos) {
	byName := map[string]*Const{}
	byVal := map[int64]*Const{}
	for _, v := range cur {
		byName[v.Name] = v
		byVal[v.Value] = v
	}
	for _, o := range old {
		n, ok := byName[o.Name]
		switch {
		case !ok:
			c.add(pos, o.Pos, "%s: value %s (%d) removed", what, o.Name, o.Value)
			if r, reused := byVal[o.Value]; reused {
				c.add(r.Pos, o.Pos, "%s: value %d reused by %s (was %s)", what, o.Value, r.Name, o.Name)
			}
		case n.Value != o.Value:
			c.add(n.Pos, o.Pos, "%s: value %s changed from %d to %d", what, o.Name, o.Value, n.Value)
		}
	}
}

func structLayout(s *Struct) string {
	out := ""
	for i, f := range s.Fields {
		if i > 0 {
			out += "; "
		}
		out += fmt.Sprintf("%s %s", f.Name, f.Type)
		if f.Optional {
			out += " optional"
		}
	}
	return out
}

// record compares two versions of a message or group.
func (c *compat) record(o, n *Record, oldVersion int) {
	byID := map[int]*Field{}
	for _, f := range n.Fields {
		byID[f.ID] = f
	}
	oldIDs := map[int]bool{}
	for _, of := range o.Fields {
		oldIDs[of.ID] = true
		nf, ok := byID[of.ID]
		if !ok {
			c.add(n.Pos, of.Pos, "%s: field %s (id %d) removed", o.Label, of.Name, of.ID)
			continue
		}
		where := o.Label + "." + of.Name
		if nf.Name != of.Name {
			c.add(nf.Pos, of.Pos, "%s: field id %d reused by %s", where, of.ID, nf.Name)
			continue
		}
		if nf.Type.String() != of.Type.String() {
			c.add(nf.Pos, of.Pos, "%s: type changed from %s to %s", where, of.Type, nf.Type)
			continue
		}
		if nf.Optional != of.Optional {
			c.add(nf.Pos, of.Pos, "%s: optional changed from %v to %v", where, of.Optional, nf.Optional)
		}
		if nf.Since != of.Since {
			c.add(nf.Pos, of.Pos, "%s: since changed from %d to %d", where, of.Since, nf.Since)
		}
		if rangeText(nf) != rangeText(of) {
			c.add(nf.Pos, of.Pos, "%s: range changed from %q to %q (old readers reject new values, or new readers old ones)", where, rangeText(of), rangeText(nf))
		}
		if defaultLit(nf) != defaultLit(of) {
			c.add(nf.Pos, of.Pos, "%s: default changed from %q to %q", where, defaultLit(of), defaultLit(nf))
		}
		if of.Type.IsFixed() && nf.Offset != of.Offset {
			c.add(nf.Pos, of.Pos, "%s: reordered: fixed offset moved from %d to %d", where, of.Offset, nf.Offset)
		}
		if !of.Type.IsFixed() && nf.Slot != of.Slot {
			c.add(nf.Pos, of.Pos, "%s: reordered: slot moved from %d to %d", where, of.Slot, nf.Slot)
		}
		if of.Group != nil && nf.Group != nil {
			c.record(of.Group, nf.Group, oldVersion)
		}
	}
	consts := map[string]*Field{}
	for _, f := range n.Consts {
		consts[f.Name] = f
	}
	for _, of := range o.Consts {
		nf, ok := consts[of.Name]
		switch {
		case !ok:
			c.add(n.Pos, of.Pos, "%s: constant %s removed", o.Label, of.Name)
		case nf.Const.Text != of.Const.Text || nf.Type.String() != of.Type.String():
			c.add(nf.Pos, of.Pos, "%s.%s: constant changed from %s %s to %s %s", o.Label, of.Name, of.Type, of.Const.Text, nf.Type, nf.Const.Text)
		}
	}
	for _, nf := range n.Fields {
		if !oldIDs[nf.ID] && nf.Since <= oldVersion {
			c.add(nf.Pos, Pos{}, "%s.%s: field added without a version: mark it \"since %d\"", n.Label, nf.Name, oldVersion+1)
		}
	}
}

// rangeText is a field's range as written, or "".
func rangeText(f *Field) string {
	if f.Range == nil {
		return ""
	}
	return f.Range.Min.Text + ".." + f.Range.Max.Text
}
