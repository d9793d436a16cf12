package rpc

import (
	"context"
	"errors"
	"fmt"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

// Code is the status code of an *Error. Codes 1..16 are gRPC's, with
// the same numbers and meanings (google.golang.org/grpc/codes), so an
// error maps one to one from and to grpc-go's; CodeOverloaded and
// CodeProtocol are protosocket's own. On the wire a code travels as its
// wire number (docs/rpc-wire.md, "Status codes"), which keeps the numbers
// of older peers: WireCode and CodeFromWire translate.
type Code uint32

// Status codes. 1..999 are reserved for this package; applications use
// CodeAppMin and up. A code this package does not define, received from
// a (newer) peer below CodeAppMin, reads as CodeUnknown.
const (
	// CodeCanceled: the call was canceled.
	CodeCanceled Code = 1
	// CodeUnknown: the handler failed with an error that is not an
	// *Error, or a peer sent a code this version does not know.
	CodeUnknown Code = 2
	// CodeInvalidArgument: the request was not acceptable.
	CodeInvalidArgument Code = 3
	// CodeDeadlineExceeded: the call's deadline passed on the server.
	CodeDeadlineExceeded Code = 4
	// CodeNotFound: a requested entity was not found (gRPC's meaning; an
	// unregistered method is CodeUnimplemented).
	CodeNotFound Code = 5
	// CodeAlreadyExists: the entity a client tried to create exists.
	CodeAlreadyExists Code = 6
	// CodePermissionDenied: the caller may not do this.
	CodePermissionDenied Code = 7
	// CodeResourceExhausted: a resource or size limit was hit (a request
	// over ServerOptions.MaxRequestSize or the server's
	// Socket.MaxFrameSize: not processed; retrying the same request fails
	// the same way. A response over the client's Socket.MaxFrameSize: the
	// call ran, its response was discarded).
	CodeResourceExhausted Code = 8
	// CodeFailedPrecondition: the system is not in the state the
	// operation requires.
	CodeFailedPrecondition Code = 9
	// CodeAborted: the operation was aborted (a concurrency conflict).
	CodeAborted Code = 10
	// CodeOutOfRange: the operation went past the valid range.
	CodeOutOfRange Code = 11
	// CodeUnimplemented: no handler is registered for the method.
	CodeUnimplemented Code = 12
	// CodeInternal: the server failed (a handler panicked).
	CodeInternal Code = 13
	// CodeUnavailable: the server is draining; the call was not processed
	// and may be retried on another connection.
	CodeUnavailable Code = 14
	// CodeDataLoss: unrecoverable data loss or corruption.
	CodeDataLoss Code = 15
	// CodeUnauthenticated: the caller has no valid credentials.
	CodeUnauthenticated Code = 16
	// CodeOverloaded: the connection is at its in-flight limit
	// (MaxInFlight) or its request copies at their byte budget
	// (MaxConnRequestBytes, MaxServerRequestBytes); the call
	// was not processed and may be retried (it matches ErrUnavailable;
	// to grpc-go it maps to codes.Unavailable).
	CodeOverloaded Code = 100
	// CodeProtocol: the peer broke the protocol for this call (duplicate
	// id, missing credit, malformed prefix). No gRPC counterpart (grpc-go
	// would say codes.Internal).
	CodeProtocol Code = 101
	// CodeAppMin is the first code free for applications.
	CodeAppMin Code = 1000
)

// Sentinel errors. An *Error unwraps to the sentinel of its code, so
// errors.Is(err, ErrOverloaded) works on a received error frame, and
// errors.As(err, &e) with e *Error gives the code and message. An *Error
// with CodeDeadlineExceeded also matches context.DeadlineExceeded; one
// with CodeOverloaded also matches ErrUnavailable (not processed, safe to
// retry). See the package doc's error table.
var (
	ErrCanceled         = errors.New("rpc: canceled")
	ErrUnknown          = errors.New("rpc: unknown error")
	ErrInvalidArgument  = errors.New("rpc: invalid argument")
	ErrDeadlineExceeded = errors.New("rpc: deadline exceeded")
	ErrNotFound         = errors.New("rpc: not found")
	ErrAlreadyExists    = errors.New("rpc: already exists")
	ErrPermissionDenied = errors.New("rpc: permission denied")
	// ErrResourceExhausted is the sentinel of CodeResourceExhausted.
	ErrResourceExhausted  = errors.New("rpc: resource exhausted")
	ErrFailedPrecondition = errors.New("rpc: failed precondition")
	ErrAborted            = errors.New("rpc: aborted")
	ErrOutOfRange         = errors.New("rpc: out of range")
	ErrUnimplemented      = errors.New("rpc: method not implemented")
	ErrInternal           = errors.New("rpc: internal error")
	ErrUnavailable        = errors.New("rpc: unavailable")
	ErrDataLoss           = errors.New("rpc: data loss")
	ErrUnauthenticated    = errors.New("rpc: unauthenticated")
	ErrOverloaded         = errors.New("rpc: overloaded")
	ErrProtocol           = errors.New("rpc: protocol error")
	// ErrApplication is what an *Error with a code of CodeAppMin or more
	// unwraps to.
	ErrApplication = errors.New("rpc: application error")

	// ErrClosed: the connection died with the call in flight, so the
	// call may have run; calls pending on a connection that closes end
	// with a *ClosedError matching it (and the connection's cause). It is
	// also matched by the errors of objects used after their Close
	// (ErrCallerClosed, ErrStreamClosed, a closed balance.Pool).
	ErrClosed = errors.New("rpc: connection closed")
	// ErrTooManyCalls: every call slot of the client is in use
	// (ClientOptions.MaxInFlight). The call was not sent: it matches
	// ErrUnavailable.
	ErrTooManyCalls error = &wrapped{"rpc: too many calls in flight", ErrUnavailable}
	// ErrCallerClosed: a Caller used after its Close. It matches ErrClosed.
	ErrCallerClosed error = &wrapped{"rpc: Caller used after Close", ErrClosed}
	// ErrMalformed: bytes from the peer that are not a valid RPC frame body.
	ErrMalformed = wire.ErrMalformed
	// ErrMetadataTooLarge: a metadata key, value or block over its limit.
	ErrMetadataTooLarge error = &Error{Code: CodeInvalidArgument, Message: "rpc: metadata too large"}
	// ErrStreamClosed: Send on a stream whose sending half has ended, or
	// a stream used after Close. It matches ErrClosed.
	ErrStreamClosed error = &wrapped{"rpc: stream closed", ErrClosed}
	// ErrInvalidOptions is matched by every error Validate returns.
	ErrInvalidOptions = errors.New("rpc: invalid options")
)

var codeErrs = [...]error{
	CodeCanceled:           ErrCanceled,
	CodeUnknown:            ErrUnknown,
	CodeInvalidArgument:    ErrInvalidArgument,
	CodeDeadlineExceeded:   ErrDeadlineExceeded,
	CodeNotFound:           ErrNotFound,
	CodeAlreadyExists:      ErrAlreadyExists,
	CodePermissionDenied:   ErrPermissionDenied,
	CodeResourceExhausted:  ErrResourceExhausted,
	CodeFailedPrecondition: ErrFailedPrecondition,
	CodeAborted:            ErrAborted,
	CodeOutOfRange:         ErrOutOfRange,
	CodeUnimplemented:      ErrUnimplemented,
	CodeInternal:           ErrInternal,
	CodeUnavailable:        ErrUnavailable,
	CodeDataLoss:           ErrDataLoss,
	CodeUnauthenticated:    ErrUnauthenticated,
	CodeOverloaded:         ErrOverloaded,
	CodeProtocol:           ErrProtocol,
}

// wireCodes maps a Code below CodeAppMin to its wire number. Wire numbers
// 1..10 are the ones every version has sent (so older peers read them
// unchanged); the codes added with gRPC's set take 11..18.
var wireCodes = [...]uint32{
	CodeCanceled:           1,
	CodeUnknown:            2,
	CodeInvalidArgument:    3,
	CodeDeadlineExceeded:   4,
	CodeNotFound:           5,
	CodeOverloaded:         6,
	CodeUnavailable:        7,
	CodeInternal:           8,
	CodeProtocol:           9,
	CodeResourceExhausted:  10,
	CodeAlreadyExists:      11,
	CodePermissionDenied:   12,
	CodeFailedPrecondition: 13,
	CodeAborted:            14,
	CodeOutOfRange:         15,
	CodeUnimplemented:      16,
	CodeDataLoss:           17,
	CodeUnauthenticated:    18,
}

// fromWire is wireCodes inverted.
var fromWire = func() (m [19]Code) {
	for c, w := range wireCodes {
		if w != 0 {
			m[w] = Code(c)
		}
	}
	return m
}()

// WireCode returns the number c travels as (docs/rpc-wire.md, "Status
// codes"): application codes (CodeAppMin and up) unchanged, a code this
// package does not define as CodeUnknown's.
func (c Code) WireCode() uint32 {
	if c >= CodeAppMin {
		return uint32(c)
	}
	if int(c) < len(wireCodes) && wireCodes[c] != 0 {
		return wireCodes[c]
	}
	return wireCodes[CodeUnknown]
}

// CodeFromWire returns the Code of wire number w: application codes
// unchanged, a number below CodeAppMin that this version does not know
// (a newer peer's) as CodeUnknown.
func CodeFromWire(w uint32) Code {
	if w >= uint32(CodeAppMin) {
		return Code(w)
	}
	if int(w) < len(fromWire) && fromWire[w] != 0 {
		return fromWire[w]
	}
	return CodeUnknown
}

// wrapped is a sentinel that also matches a more general one.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// Sentinel returns the sentinel error of code: ErrApplication for
// application codes (CodeAppMin and up), ErrUnknown for a code below it
// that this package does not define.
func (c Code) Sentinel() error {
	if int(c) < len(codeErrs) && codeErrs[c] != nil {
		return codeErrs[c]
	}
	if c >= CodeAppMin {
		return ErrApplication
	}
	return ErrUnknown
}

// String returns the code's name as grpc-go spells it ("NotFound"), or
// "Code(n)".
func (c Code) String() string {
	if int(c) < len(codeNames) && codeNames[c] != "" {
		return codeNames[c]
	}
	return fmt.Sprintf("Code(%d)", uint32(c))
}

var codeNames = [...]string{
	CodeCanceled: "Canceled", CodeUnknown: "Unknown", CodeInvalidArgument: "InvalidArgument",
	CodeDeadlineExceeded: "DeadlineExceeded", CodeNotFound: "NotFound", CodeAlreadyExists: "AlreadyExists",
	CodePermissionDenied: "PermissionDenied", CodeResourceExhausted: "ResourceExhausted",
	CodeFailedPrecondition: "FailedPrecondition", CodeAborted: "Aborted", CodeOutOfRange: "OutOfRange",
	CodeUnimplemented: "Unimplemented", CodeInternal: "Internal", CodeUnavailable: "Unavailable",
	CodeDataLoss: "DataLoss", CodeUnauthenticated: "Unauthenticated", CodeOverloaded: "Overloaded",
	CodeProtocol: "Protocol",
}

// Error is an error carried by a wire.KindError frame: a code, a message and
// optional structured details. Return one from a handler to choose the
// code the caller sees; on the client it is what a call returns for an
// error frame.
//
// On the wire Message is cut to wire.MaxErrorMessage bytes (at a UTF-8
// boundary) and invalid UTF-8 in it is replaced by U+FFFD, on sending and
// on receiving. Details are opaque bytes (for example a serialized
// google.rpc.Status's details); over wire.MaxErrorDetails they are dropped and
// the message says so.
type Error struct {
	Code    Code
	Message string
	Details []byte
}

// NewError returns an *Error with code and message.
func NewError(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// Error implements error.
func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%v (code %d)", e.Code.Sentinel(), e.Code)
	}
	return fmt.Sprintf("%v (code %d): %s", e.Code.Sentinel(), e.Code, e.Message)
}

// Unwrap returns the sentinel of the code.
func (e *Error) Unwrap() error { return e.Code.Sentinel() }

// Is makes an *Error with CodeDeadlineExceeded match
// context.DeadlineExceeded too: the deadline travels on the wire, so the
// server's timer may answer before the client's context fires, and
// errors.Is(err, context.DeadlineExceeded) holds whichever side noticed
// first. (Through Unwrap it also matches ErrDeadlineExceeded; a call
// ended by the client's own context returns ctx.Err(), which does not.)
// An *Error with CodeOverloaded also matches ErrUnavailable: neither was
// processed, both are safe to retry.
func (e *Error) Is(target error) bool {
	switch target {
	case context.DeadlineExceeded:
		return e.Code == CodeDeadlineExceeded
	case ErrUnavailable:
		return e.Code == CodeOverloaded
	}
	return false
}

// notSent is the error of a call that never left the client (the
// connection was closed or draining before its request was queued): it
// was not processed, so it matches ErrUnavailable (and not ErrClosed).
func notSent(why string) *Error {
	return &Error{Code: CodeUnavailable, Message: "not sent: " + why}
}

// ClosedError is the error of calls that ended because the connection
// closed. It matches ErrClosed and unwraps to the connection's cause.
type ClosedError struct {
	Cause error
}

// Error implements error.
func (e *ClosedError) Error() string {
	if e.Cause == nil {
		return ErrClosed.Error()
	}
	return ErrClosed.Error() + ": " + e.Cause.Error()
}

// Unwrap returns ErrClosed and the cause.
func (e *ClosedError) Unwrap() []error { return []error{ErrClosed, e.Cause} }

// OptionError describes one bad options field. It unwraps to
// ErrInvalidOptions.
type OptionError struct {
	Field  string
	Value  int64
	Reason string
}

// Error implements error.
func (e *OptionError) Error() string {
	return fmt.Sprintf("%v: %s = %d: %s", ErrInvalidOptions, e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOptions.
func (e *OptionError) Unwrap() error { return ErrInvalidOptions }

// toError converts a handler's error into the *Error of an error frame.
func toError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, ErrUnavailable):
		return &Error{Code: CodeUnavailable, Message: err.Error()}
	case errors.Is(err, ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: CodeDeadlineExceeded, Message: err.Error()}
	case errors.Is(err, ErrCanceled), errors.Is(err, context.Canceled):
		return &Error{Code: CodeCanceled, Message: err.Error()}
	}
	return &Error{Code: CodeUnknown, Message: err.Error()}
}
