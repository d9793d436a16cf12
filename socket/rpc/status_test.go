package rpc_test

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

// gRPC's codes (google.golang.org/grpc/codes), by number: each must be
// the rpc Code with the same number and name.
var grpcCodes = map[uint32]string{
	1: "Canceled", 2: "Unknown", 3: "InvalidArgument", 4: "DeadlineExceeded", 5: "NotFound",
	6: "AlreadyExists", 7: "PermissionDenied", 8: "ResourceExhausted", 9: "FailedPrecondition",
	10: "Aborted", 11: "OutOfRange", 12: "Unimplemented", 13: "Internal", 14: "Unavailable",
	15: "DataLoss", 16: "Unauthenticated",
}

func TestCodesAreGRPCs(t *testing.T) {
	sentinels := map[string]error{}
	for n, name := range grpcCodes {
		c := rpc.Code(n)
		assert.Equal(t, name, c.String(), "code %d", n)
		s := c.Sentinel()
		assert.ErrorIs(t, rpc.NewError(c, "m"), s)
		if prev, dup := sentinels[s.Error()]; dup {
			t.Fatalf("code %d shares sentinel %v", n, prev)
		}
		sentinels[s.Error()] = s
		// Through the wire and back.
		code, _, err := rpc.ParseErrorBody(rpc.AppendErrorBody(nil, c, "m"))
		require.NoError(t, err)
		assert.Equal(t, c, code)
	}
	for _, c := range []rpc.Code{rpc.CodeOverloaded, rpc.CodeProtocol, rpc.CodeAppMin + 3} {
		code, _, err := rpc.ParseErrorBody(rpc.AppendErrorBody(nil, c, "m"))
		require.NoError(t, err)
		assert.Equal(t, c, code)
	}
	// Only Unavailable and Overloaded mean "not processed".
	for n := range grpcCodes {
		assert.Equal(t, n == 14, errors.Is(rpc.NewError(rpc.Code(n), ""), rpc.ErrUnavailable), "code %d", n)
	}
}

// The wire keeps the numbers older peers send and read.
func TestWireCodesKeepOlderPeers(t *testing.T) {
	legacy := map[uint32]rpc.Code{1: rpc.CodeCanceled, 2: rpc.CodeUnknown, 3: rpc.CodeInvalidArgument,
		4: rpc.CodeDeadlineExceeded, 5: rpc.CodeNotFound, 6: rpc.CodeOverloaded, 7: rpc.CodeUnavailable,
		8: rpc.CodeInternal, 9: rpc.CodeProtocol, 10: rpc.CodeResourceExhausted}
	for w, c := range legacy {
		assert.Equal(t, c, rpc.CodeFromWire(w), "wire %d", w)
		assert.Equal(t, w, c.WireCode(), "code %v", c)
	}
	// A newer peer's code we do not know is Unknown; application codes pass.
	for _, w := range []uint32{0, 19, 500, 999} {
		assert.Equal(t, rpc.CodeUnknown, rpc.CodeFromWire(w), "wire %d", w)
	}
	assert.Equal(t, rpc.CodeAppMin+42, rpc.CodeFromWire(uint32(rpc.CodeAppMin)+42))
	assert.Equal(t, rpc.CodeUnknown.WireCode(), rpc.Code(77).WireCode(), "an undefined code is sent as Unknown")
}

func TestErrorBodyBounds(t *testing.T) {
	// Long messages are cut at a rune boundary; invalid UTF-8 replaced.
	long := strings.Repeat("é", wire.MaxErrorMessage) // 2 bytes each
	_, msg, err := rpc.ParseErrorBody(rpc.AppendErrorBody(nil, rpc.CodeInternal, long))
	require.NoError(t, err)
	assert.LessOrEqual(t, len(msg), wire.MaxErrorMessage)
	assert.True(t, utf8.Valid(msg))
	_, msg, err = rpc.ParseErrorBody(rpc.AppendErrorBody(nil, rpc.CodeInternal, "bad \xff\xfe end"))
	require.NoError(t, err)
	assert.Equal(t, "bad \uFFFD end", string(msg))
	// A receiver sanitizes what a hostile sender did not.
	raw := binary.LittleEndian.AppendUint32(nil, 8)
	raw = append(raw, "x\xc3"...)
	_, msg, err = rpc.ParseErrorBody(raw)
	require.NoError(t, err)
	assert.Equal(t, "x\uFFFD", wire.ErrorMessage(msg))
	assert.Len(t, wire.ErrorMessage(make([]byte, 3*wire.MaxErrorMessage)), wire.MaxErrorMessage)

	// Details round trip; over the limit they are dropped, and said so.
	b, fl := rpc.AppendError(nil, &rpc.Error{Code: rpc.CodeAborted, Message: "m", Details: []byte{0, 1, 2}})
	assert.Equal(t, wire.FlagErrorDetails, fl)
	code, msg, det, err := rpc.ParseError(fl, b)
	require.NoError(t, err)
	assert.Equal(t, rpc.CodeAborted, code)
	assert.Equal(t, "m", string(msg))
	assert.Equal(t, []byte{0, 1, 2}, det)
	b, fl = rpc.AppendError(nil, &rpc.Error{Code: rpc.CodeAborted, Message: "m", Details: make([]byte, wire.MaxErrorDetails+1)})
	assert.Zero(t, fl)
	_, msg, err = rpc.ParseErrorBody(b)
	require.NoError(t, err)
	assert.Contains(t, string(msg), "dropped")
	_, fl = rpc.AppendError(nil, &rpc.Error{Code: rpc.CodeAborted, Message: "m"})
	assert.Zero(t, fl, "no details: the body every version reads")

	// Malformed bodies with details.
	for name, bad := range map[string][]byte{
		"short":       {1, 0, 0},
		"no length":   binary.LittleEndian.AppendUint32(nil, 1),
		"long msg":    append(binary.LittleEndian.AppendUint32(nil, 1), 9, 0, 'x'),
		"big details": append(append(binary.LittleEndian.AppendUint32(nil, 1), 0, 0), make([]byte, wire.MaxErrorDetails+1)...),
	} {
		_, _, _, err := rpc.ParseError(wire.FlagErrorDetails, bad)
		assert.ErrorIs(t, err, rpc.ErrMalformed, name)
	}
}

// End to end: a handler's details and invalid UTF-8 reach the caller,
// on a unary call and on a stream; an unregistered method is
// Unimplemented.
func TestErrorDetailsEndToEnd(t *testing.T) {
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	srv.Handle(1, func(context.Context, []byte, []byte) ([]byte, error) {
		return nil, &rpc.Error{Code: rpc.CodePermissionDenied, Message: "no \xff", Details: []byte("detail")}
	}, rpc.Inline)
	srv.HandleStream(2, func(context.Context, *rpc.ServerStream) error {
		return &rpc.Error{Code: rpc.CodeFailedPrecondition, Message: "s", Details: []byte("sd")}
	})
	addr := serve(t, srv)
	c := dial(t, addr, rpc.ClientOptions{})
	ctx := testCtx(t)
	_, err = c.Call(ctx, 1, nil, nil)
	require.ErrorIs(t, err, rpc.ErrPermissionDenied)
	var e *rpc.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "no \uFFFD", e.Message)
	assert.Equal(t, "detail", string(e.Details))

	st, err := c.OpenStream(ctx, 2, nil)
	require.NoError(t, err)
	_, err = st.Recv(nil)
	require.ErrorIs(t, err, rpc.ErrFailedPrecondition)
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "sd", string(e.Details))
	_ = st.Close()

	_, err = c.Call(ctx, 3, nil, nil)
	require.ErrorIs(t, err, rpc.ErrUnimplemented)
	assert.NotErrorIs(t, err, rpc.ErrNotFound)
}
