package codecgen

import (
	"errors"
	"strings"
)

// Sentinel errors; the typed errors below unwrap to them.
var (
	// ErrSchema: a schema file has a syntax or semantic error.
	ErrSchema = errors.New("codecgen: invalid schema")
	// ErrIncompatible: a new schema version breaks readers or writers of
	// the old one.
	ErrIncompatible = errors.New("codecgen: incompatible schema change")
)

// Error is a schema error at a position: "people.schema:3:5: unknown type
// "strng"". It unwraps to ErrSchema.
type Error struct {
	Pos Pos
	Msg string
}

// Error implements error.
func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Unwrap returns ErrSchema.
func (e *Error) Unwrap() error { return ErrSchema }

// ErrorList holds every error found in one schema, in file order. It
// unwraps to each of them, so errors.Is(err, ErrSchema) holds.
type ErrorList []*Error

// Error joins the errors one per line.
func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap returns the errors.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Incompatibility is one breaking change found by Check: "new.schema:12:
// Person.age: type changed from int32 to int64 (was old.schema:10)". It
// unwraps to ErrIncompatible.
type Incompatibility struct {
	Pos    Pos // in the new schema (or the old one for removals)
	OldPos Pos
	Msg    string
}

// Error formats the change as file:line: message.
func (e *Incompatibility) Error() string {
	s := e.Pos.File + ":" + itoa(e.Pos.Line) + ": " + e.Msg
	if e.OldPos.File != "" && e.OldPos != e.Pos {
		s += " (was " + e.OldPos.File + ":" + itoa(e.OldPos.Line) + ")"
	}
	return s
}

// Unwrap returns ErrIncompatible.
func (e *Incompatibility) Unwrap() error { return ErrIncompatible }
