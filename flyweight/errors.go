package flyweight

import (
	"errors"
	"strconv"
)

// Sentinel errors. Use errors.Is to test for them; validation errors arrive
// wrapped in *Error.
var (
	// ErrShortBuffer: a header, slot table, length prefix or element lies
	// beyond the end of the buffer.
	ErrShortBuffer = errors.New("flyweight: buffer too short")
	// ErrBadOffset: a slot offset points before the data area or beyond
	// the record, or an absent slot carries a length.
	ErrBadOffset = errors.New("flyweight: offset out of range")
	// ErrOverlap: a slot starts before the end of the previous slot
	// (offsets must be forward-only and non-overlapping).
	ErrOverlap = errors.New("flyweight: overlapping or backward offset")
	// ErrBadLength: a length (slot, element or list) does not fit the
	// record or is not a multiple of the element size.
	ErrBadLength = errors.New("flyweight: bad length")
	// ErrTrailingData: a group's data holds bytes after its last element.
	ErrTrailingData = errors.New("flyweight: trailing data in group")
	// ErrTooDeep: records nest deeper than Limits.MaxDepth.
	ErrTooDeep = errors.New("flyweight: nesting too deep")
	// ErrTooManyElements: the message holds more group elements in total
	// than Limits.MaxElements.
	ErrTooManyElements = errors.New("flyweight: too many group elements")
	// ErrInvalidBool: a bool byte is neither 0 nor 1 (reported by Validate).
	ErrInvalidBool = errors.New("flyweight: invalid bool")
	// ErrUnknownEnum: an enum value has no name in the schema (reported by
	// Validate).
	ErrUnknownEnum = errors.New("flyweight: unknown enum value")
	// ErrUnknownBits: a bit set has bits the schema does not define
	// (reported by Validate).
	ErrUnknownBits = errors.New("flyweight: unknown bits in bit set")
	// ErrInvalidUTF8: a string field is not valid UTF-8 (reported by
	// Validate).
	ErrInvalidUTF8 = errors.New("flyweight: invalid UTF-8 in string")
	// ErrBuildOrder: a builder wrote a variable field or group out of slot
	// order, or while a nested group was still open.
	ErrBuildOrder = errors.New("flyweight: variable field written out of order")
	// ErrOpenGroup: a record was finished while one of its groups was
	// still open.
	ErrOpenGroup = errors.New("flyweight: group not ended")
	// ErrTooLarge: a record grew past 4 GiB or a group past 2^32-1
	// elements, which the u32 offsets cannot address.
	ErrTooLarge = errors.New("flyweight: record too large")
	// ErrBadLimits: a Limits value is negative.
	ErrBadLimits = errors.New("flyweight: invalid limits")
)

// Error describes where a message failed validation. It unwraps to one of
// the sentinel errors above.
type Error struct {
	Message string // message or group type, e.g. "Person" or "Person.kids"
	Field   string // field or part, e.g. "name", "header", "slot 3"
	Offset  int    // byte offset from the start of the wrapped buffer
	Err     error  // the sentinel
}

// Error implements error: "flyweight: bad length: Person.name at offset 12".
func (e *Error) Error() string {
	return e.Err.Error() + ": " + e.Message + "." + e.Field + " at offset " + strconv.Itoa(e.Offset)
}

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }

func newError(msg, field string, off int, err error) *Error {
	return &Error{Message: msg, Field: field, Offset: off, Err: err}
}

// NewError returns an *Error for generated Validate code.
func NewError(msg, field string, off int, err error) error {
	return newError(msg, field, off, err)
}
