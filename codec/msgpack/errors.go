package msgpack

import (
	"errors"
	"fmt"

	"github.com/tinylib/msgp/msgp"

	"github.com/protosocket-go/protosocket/frame"
)

// Sentinel errors; every error of this package matches one of them.
var (
	// ErrMarker: the 5-byte length prefix does not start with 0xce.
	ErrMarker = errors.New("msgpack: length marker is not 0xce")
	// ErrTooLarge: a length over the maximum body size.
	ErrTooLarge = errors.New("msgpack: message too large")
	// ErrArity: an array (a struct) with the wrong number of elements.
	ErrArity = errors.New("msgpack: wrong number of fields")
	// ErrTrailing: bytes left in the frame after the message.
	ErrTrailing = errors.New("msgpack: trailing bytes after the message")
	// ErrDecode: a body that does not decode as the message type.
	ErrDecode = errors.New("msgpack: undecodable message")
	// ErrEncode: a message that cannot be encoded.
	ErrEncode = errors.New("msgpack: unencodable message")
)

// Error is the error type of this package. errors.Is matches Kind, the
// frame package's sentinel for framing errors, and Cause.
type Error struct {
	Kind   error  // one of the sentinels above
	Detail string // what was found
	Cause  error  // msgp's error, if any
}

func (e *Error) Error() string {
	s := e.Kind.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns Kind, the frame sentinel it stands for (ErrMarker:
// frame.ErrMalformed, ErrTooLarge: frame.ErrFrameTooLarge) and Cause.
func (e *Error) Unwrap() []error {
	out := []error{e.Kind}
	switch e.Kind {
	case ErrMarker:
		out = append(out, frame.ErrMalformed)
	case ErrTooLarge:
		out = append(out, frame.ErrFrameTooLarge)
	}
	if e.Cause != nil {
		out = append(out, e.Cause)
	}
	return out
}

func newError(kind, cause error, format string, args ...any) *Error {
	return &Error{Kind: kind, Cause: cause, Detail: fmt.Sprintf(format, args...)}
}

// decodeError classifies msgp's decode error.
func decodeError(err error, typ string) *Error {
	var ae msgp.ArrayError
	if errors.As(err, &ae) {
		return newError(ErrArity, err, "%s", typ)
	}
	return newError(ErrDecode, err, "%s", typ)
}
