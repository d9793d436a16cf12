package rpc

import (
	"errors"

	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

// The protocol's codec is socket/rpc/internal/wire (frame kinds, flags,
// prefix, credit and error bodies; docs/rpc-wire.md). This file is rpc's
// side of it: the public Metadata type and the translations between the
// wire's numbers and rpc's Code, *Error and errors.

// Metadata is an encoded block of key/value pairs: for each, a uint8 key
// length, the key, a uint16 little-endian value length, the value. Build
// it with Append over a caller-owned buffer; read it with Get or Range
// without copying.
type Metadata []byte

// Append appends one pair to m, like binary.AppendUvarint. Keys over 255
// bytes or values over 65535 bytes are ErrMetadataTooLarge (m is returned
// unchanged).
func (m Metadata) Append(key string, value []byte) (Metadata, error) {
	b, err := wire.AppendPair(m, key, value)
	if err != nil {
		return m, ErrMetadataTooLarge
	}
	return b, nil
}

// Range calls fn for each pair in order until fn returns false. The
// slices are views into m. A malformed tail is ignored (the server has
// rejected it before a handler sees it).
func (m Metadata) Range(fn func(key, value []byte) bool) {
	for len(m) > 0 {
		k, v, rest, ok := wire.NextPair(m)
		if !ok || !fn(k, v) {
			return
		}
		m = rest
	}
}

// Get returns the value of the first pair whose key is key (a view into m).
func (m Metadata) Get(key string) ([]byte, bool) {
	for len(m) > 0 {
		k, v, rest, ok := wire.NextPair(m)
		if !ok {
			return nil, false
		}
		if string(k) == key {
			return v, true
		}
		m = rest
	}
	return nil, false
}

// appendPrefix is wire.AppendPrefix with rpc's ErrMetadataTooLarge.
func appendPrefix(dst []byte, p wire.Prefix) ([]byte, error) {
	b, err := wire.AppendPrefix(dst, p)
	if errors.Is(err, wire.ErrMetadataTooLarge) {
		return b, ErrMetadataTooLarge
	}
	return b, err
}

// appendErrorBody appends a KindError or KindGoAway body without details
// for code (Code.WireCode) and msg.
func appendErrorBody(dst []byte, code Code, msg string) []byte {
	return wire.AppendErrorBody(dst, code.WireCode(), msg)
}

// appendError appends the body of a KindError frame for e and returns the
// header flags to send it with (wire.FlagErrorDetails when e has details).
func appendError(dst []byte, e *Error) ([]byte, uint16) {
	return wire.AppendError(dst, e.Code.WireCode(), e.Message, e.Details)
}

// parseError is wire.ParseError with the code translated (CodeFromWire:
// unknown numbers below CodeAppMin are CodeUnknown).
func parseError(flags uint16, b []byte) (Code, []byte, []byte, error) {
	w, msg, details, err := wire.ParseError(flags, b)
	if err != nil {
		return 0, nil, nil, err
	}
	return CodeFromWire(w), msg, details, nil
}

// newReceivedError builds the *Error of a received KindError frame; a
// malformed body is CodeProtocol.
func newReceivedError(flags uint16, payload []byte) *Error {
	code, msg, details, err := parseError(flags, payload)
	if err != nil {
		return &Error{Code: CodeProtocol, Message: "malformed error frame: " + err.Error()}
	}
	e := &Error{Code: code, Message: wire.ErrorMessage(msg)}
	if len(details) > 0 {
		e.Details = append([]byte(nil), details...)
	}
	return e
}
