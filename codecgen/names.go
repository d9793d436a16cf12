package codecgen

// This file owns the list of top-level Go identifiers the generator
// declares for each schema declaration. The checker reserves all of them,
// so two declarations whose generated names collide (message BuildCar next
// to message Car, enum Build { car }, enum Schema { id }) are reported at
// generation time with file:line:col instead of producing Go that does not
// compile. TestGeneratedNamesRegistered checks that every top-level
// identifier in generated code is listed here.

// schemaNames are declared once per generated file.
var schemaNames = []string{"SchemaID", "SchemaVersion", "compactSlots"}

// enumNames lists the identifiers generated for enum e.
func enumNames(e *Enum) []string {
	out := []string{e.Name}
	for _, v := range e.Values {
		out = append(out, e.Name+GoName(v.Name))
	}
	return out
}

// bitsetNames lists the identifiers generated for bit set b.
func bitsetNames(b *Bitset) []string {
	out := []string{b.Name, lowerFirst(b.Name) + "Known"}
	for _, v := range b.Bits {
		out = append(out, b.Name+GoName(v.Name))
	}
	return out
}

// structNames lists the identifiers generated for struct st.
func structNames(st *Struct) []string {
	out := []string{st.Name, "decode" + st.Name, "encode" + st.Name, "check" + st.Name, "unknown" + st.Name}
	for _, f := range st.Fields {
		if f.Optional && f.Type.Kind != KFloat32 && f.Type.Kind != KFloat64 {
			out = append(out, st.Name+f.GoName+"Null")
		}
	}
	return out
}

// messageNames lists the identifiers generated for every message m (its
// record's names come from recordNames, its direct builder's from
// appenderNames).
func messageNames(m *Record) []string {
	n := m.Name
	return []string{n + "TypeID", "Wrap" + n, "Wrap" + n + "Limits", "Build" + n}
}

// appenderNames lists the identifiers generated for message m's direct
// builder, none if it has none. Whether it has one depends on the field
// types and the layout, so it is valid only once m is checked (its types
// resolved, its constant fields moved out of Fields, its slots counted).
func appenderNames(m *Record) []string {
	if !hasAppender(m) {
		return nil
	}
	n := m.Name
	return []string{"Append" + n, n + "Appender", lowerFirst(n) + "Blank", lowerFirst(n) + "BlankInit"}
}

// recordNames lists the identifiers generated for a message's or group
// element's record r.
func recordNames(r *Record) []string {
	n := r.Name
	l := lowerFirst(n)
	out := []string{n, n + "Value", n + "Builder", n + "FixedSize", l + "Slots", l + "Layout", l + "FromRecord", "wrap" + n}
	if !r.IsMessage {
		out = append(out, n+"Group", n+"GroupBuilder", l+"FromBytes")
	}
	return out
}

// reservedMethods are the methods every generated reader or builder has;
// no field may generate one of them.
var reservedMethods = []string{"Bytes", "Validate", "UnknownValue", "String", "ToValue", "Finish", "AppendTo"}
