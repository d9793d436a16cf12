package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

func TestPrefixRoundTrip(t *testing.T) {
	md, err := rpc.Metadata(nil).Append("a", []byte("1"))
	require.NoError(t, err)
	md, err = md.Append("bb", nil)
	require.NoError(t, err)
	for _, p := range []wire.Prefix{{}, {Timeout: time.Second}, {Metadata: md}, {Timeout: time.Nanosecond, Metadata: md}} {
		b, err := wire.AppendPrefix([]byte("x"), p)
		require.NoError(t, err)
		got, body, err := wire.ParsePrefix(p.Flags(), append(b[1:], "body"...))
		require.NoError(t, err)
		assert.Equal(t, p.Timeout, got.Timeout)
		assert.Equal(t, []byte(p.Metadata), []byte(got.Metadata))
		assert.Equal(t, "body", string(body))
	}
	v, ok := md.Get("bb")
	assert.True(t, ok)
	assert.Empty(t, v)
	_, ok = md.Get("zz")
	assert.False(t, ok)
	var keys []string
	md.Range(func(k, _ []byte) bool { keys = append(keys, string(k)); return true })
	assert.Equal(t, []string{"a", "bb"}, keys)
}

func TestParsePrefixErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags uint16
		in    []byte
	}{
		{"reserved", 0x0400, nil},
		{"short timeout", wire.FlagDeadline, []byte{1}},
		{"zero timeout", wire.FlagDeadline, make([]byte, 8)},
		{"huge timeout", wire.FlagDeadline, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
		{"short md length", wire.FlagMetadata, []byte{1}},
		{"md past end", wire.FlagMetadata, []byte{5, 0, 1}},
		{"md bad entry", wire.FlagMetadata, []byte{2, 0, 9, 'a'}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := wire.ParsePrefix(tc.flags, tc.in)
			require.ErrorIs(t, err, rpc.ErrMalformed)
		})
	}
	_, err := rpc.Metadata(nil).Append(string(make([]byte, 256)), nil)
	require.ErrorIs(t, err, rpc.ErrMetadataTooLarge)
}

func TestErrorAndCreditBodies(t *testing.T) {
	b := rpc.AppendErrorBody(nil, rpc.CodeOverloaded, "busy")
	assert.Equal(t, []byte{6, 0, 0, 0, 'b', 'u', 's', 'y'}, b)
	code, msg, err := rpc.ParseErrorBody(b)
	require.NoError(t, err)
	assert.Equal(t, rpc.CodeOverloaded, code)
	assert.Equal(t, "busy", string(msg))
	_, _, err = rpc.ParseErrorBody([]byte{1})
	require.ErrorIs(t, err, rpc.ErrMalformed)
	long := rpc.AppendErrorBody(nil, 1, string(make([]byte, 5000)))
	assert.Len(t, long, 4+wire.MaxErrorMessage)

	n, rest, err := wire.ParseCredit(append(wire.AppendCredit(nil, 64), 'x'))
	require.NoError(t, err)
	assert.Equal(t, uint32(64), n)
	assert.Equal(t, "x", string(rest))
	for _, bad := range [][]byte{{1, 0}, wire.AppendCredit(nil, 0), wire.AppendCredit(nil, wire.MaxCredit+1)} {
		_, _, err = wire.ParseCredit(bad)
		require.ErrorIs(t, err, rpc.ErrMalformed)
	}
}

func TestErrorMatching(t *testing.T) {
	for code, want := range map[rpc.Code]error{
		rpc.CodeCanceled: rpc.ErrCanceled, rpc.CodeOverloaded: rpc.ErrOverloaded, rpc.CodeUnavailable: rpc.ErrUnavailable,
		rpc.CodeProtocol: rpc.ErrProtocol, rpc.CodeAppMin: rpc.ErrApplication, 500: rpc.ErrUnknown,
		rpc.CodeResourceExhausted: rpc.ErrResourceExhausted,
	} {
		assert.ErrorIs(t, rpc.NewError(code, "m"), want, "code %d", code)
	}
	// Not processed, safe to retry: Unavailable and Overloaded only.
	for code, want := range map[rpc.Code]bool{rpc.CodeUnavailable: true, rpc.CodeOverloaded: true,
		rpc.CodeResourceExhausted: false, rpc.CodeInternal: false, rpc.CodeDeadlineExceeded: false} {
		assert.Equal(t, want, errors.Is(rpc.NewError(code, "m"), rpc.ErrUnavailable), "code %d", code)
	}
	// Only the deadline code matches the context error (see Error.Is).
	for _, tc := range []struct {
		code rpc.Code
		want bool
	}{
		{rpc.CodeDeadlineExceeded, true}, {rpc.CodeCanceled, false}, {rpc.CodeUnknown, false}, {rpc.CodeAppMin + 4, false},
	} {
		err := fmt.Errorf("wrapped: %w", rpc.NewError(tc.code, "m"))
		assert.Equal(t, tc.want, errors.Is(err, context.DeadlineExceeded), "code %d", tc.code)
		assert.False(t, errors.Is(err, context.Canceled), "code %d", tc.code)
	}
}

func TestOptionsValidate(t *testing.T) {
	require.ErrorIs(t, rpc.ClientOptions{MaxInFlight: -1}.Validate(), rpc.ErrInvalidOptions)
	require.ErrorIs(t, rpc.ServerOptions{Workers: -1}.Validate(), rpc.ErrInvalidOptions)
	require.ErrorIs(t, rpc.ServerOptions{StreamWindow: 1 << 20}.Validate(), rpc.ErrInvalidOptions)
	require.ErrorIs(t, rpc.ServerOptions{MaxRequestSize: -1}.Validate(), rpc.ErrInvalidOptions)
	require.ErrorIs(t, rpc.ServerOptions{DrainLinger: -1}.Validate(), rpc.ErrInvalidOptions)
	var oe *rpc.OptionError
	require.ErrorAs(t, rpc.ClientOptions{StreamWindow: -5}.Validate(), &oe)
	assert.Equal(t, "StreamWindow", oe.Field)
	require.NoError(t, rpc.ClientOptions{}.Validate())
	require.NoError(t, rpc.ServerOptions{}.Validate())
	_, err := rpc.NewServer(rpc.ServerOptions{MaxInFlight: -1})
	require.ErrorIs(t, err, rpc.ErrInvalidOptions)
}
