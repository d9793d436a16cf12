package protobuf_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/protosocket-go/protosocket/codec/protobuf"
	"github.com/protosocket-go/protosocket/examples/protoecho/echo"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket/rpc/compat"
)

// TestAppendDelimitedBytes pins the wire bytes: what writeDelimitedTo
// writes for the same message (length 6, then field 1 = 7, field 3 = "hi").
func TestAppendDelimitedBytes(t *testing.T) {
	tests := []struct {
		name string
		msg  proto.Message
		want []byte
	}{
		{"empty", &echo.EchoRequest{}, []byte{0x00}},
		{"id and text", &echo.EchoRequest{RequestId: 7, Message: "hi"}, []byte{0x06, 0x08, 0x07, 0x1a, 0x02, 'h', 'i'}},
		{"control", &echo.EchoResponse{RequestId: 1, Code: echo.Control_END}, []byte{0x04, 0x08, 0x01, 0x10, 0x02}},
		{"two-byte length", &echo.EchoRequest{Message: string(bytes.Repeat([]byte{'a'}, 200))},
			append([]byte{0xcb, 0x01, 0x1a, 0xc8, 0x01}, bytes.Repeat([]byte{'a'}, 200)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := protobuf.AppendDelimited([]byte("prefix"), tt.msg)
			require.NoError(t, err)
			assert.Equal(t, append([]byte("prefix"), tt.want...), got)

			body, n, err := protobuf.SplitDelimited(got[len("prefix"):], 0)
			require.NoError(t, err)
			assert.Equal(t, len(tt.want), n)
			back := tt.msg.ProtoReflect().New().Interface()
			require.NoError(t, protobuf.Unmarshal(body, back))
			assert.True(t, proto.Equal(tt.msg, back))
		})
	}
}

func TestSplitDelimitedHostile(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		max     int
		wantErr error
		wantN   int
	}{
		{"empty needs more", nil, 0, nil, 0},
		{"unfinished varint needs more", []byte{0x80}, 0, nil, 0},
		{"short body needs more", []byte{0x03, 1}, 0, nil, 0},
		{"eleven-byte varint", bytes.Repeat([]byte{0x80}, 11), 1 << 62, protobuf.ErrMalformedVarint, 0},
		{"64-bit overflow", append(bytes.Repeat([]byte{0x80}, 9), 0x02), 1 << 62, protobuf.ErrMalformedVarint, 0},
		{"over max", []byte{0x0b}, 10, protobuf.ErrTooLarge, 0},
		{"over max before body", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 0, protobuf.ErrTooLarge, 0},
		{"max exactly", append([]byte{0x0a}, make([]byte, 10)...), 10, nil, 11},
		{"non-minimal length", []byte{0x81, 0x00, 'x'}, 0, nil, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, n, err := protobuf.SplitDelimited(tt.in, tt.max)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				var pe *protobuf.Error
				require.ErrorAs(t, err, &pe)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantN, n)
		})
	}
}

func TestUnmarshalErrors(t *testing.T) {
	m := &echo.EchoRequest{Message: "stale"}
	err := protobuf.Unmarshal([]byte{0x1a, 0x05, 'a'}, m) // string field cut short
	require.ErrorIs(t, err, protobuf.ErrDecode)
	var pe *protobuf.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "protoecho.EchoRequest", string(pe.Type))
	require.Error(t, pe.Cause)

	// Reuse: decoding replaces, never merges.
	require.NoError(t, protobuf.Unmarshal([]byte{0x08, 0x03}, m))
	assert.Equal(t, uint64(3), m.GetRequestId())
	assert.Empty(t, m.GetMessage())

	_, err = protobuf.Append(nil, &echo.EchoRequest{Message: "\xff"}) // invalid UTF-8 in a proto3 string
	require.ErrorIs(t, err, protobuf.ErrEncode)
	// The same on decode, through protoecho's vtprotobuf methods too.
	require.ErrorIs(t, protobuf.Unmarshal([]byte{0x1a, 0x01, 0xff}, m), protobuf.ErrDecode)
	require.ErrorIs(t, protobuf.Unmarshal([]byte{0x1a, 0x01, 0xff}, &echo.EchoResponse{}), protobuf.ErrDecode)
}

func TestReader(t *testing.T) {
	var stream []byte
	for i := range 3 {
		var err error
		stream, err = protobuf.AppendDelimited(stream, &echo.EchoRequest{RequestId: uint64(i), Message: "m"})
		require.NoError(t, err)
	}
	r := protobuf.NewReader(bytes.NewReader(stream), 0)
	var m echo.EchoRequest
	for i := range 3 {
		require.NoError(t, r.Read(&m))
		assert.Equal(t, uint64(i), m.GetRequestId())
	}
	require.ErrorIs(t, r.Read(&m), io.EOF)

	tests := []struct {
		name    string
		in      []byte
		max     int
		wantErr error
	}{
		{"truncated prefix", []byte{0x80}, 0, protobuf.ErrTruncated},
		{"truncated body", []byte{0x05, 0x08}, 0, protobuf.ErrTruncated},
		{"over max (option applies)", []byte{0x06, 0x08, 0x01, 0x08, 0x01, 0x08, 0x02}, 4, protobuf.ErrTooLarge},
		{"huge length, no allocation", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, 0, protobuf.ErrTooLarge},
		{"malformed varint", bytes.Repeat([]byte{0x80}, 11), 1 << 62, protobuf.ErrMalformedVarint},
		{"undecodable body", []byte{0x02, 0xff, 0xff}, 0, protobuf.ErrDecode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := protobuf.NewReader(bytes.NewReader(tt.in), tt.max).Read(&m)
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
	// The same 5-byte message passes with the default maximum.
	require.NoError(t, protobuf.NewReader(bytes.NewReader([]byte{0x06, 0x08, 0x01, 0x08, 0x01, 0x08, 0x02}), 0).Read(&m))
	assert.Equal(t, uint64(2), m.GetRequestId())
}

func TestNewCompatFields(t *testing.T) {
	_, err := protobuf.NewCompat[echo.EchoRequest](99, 0)
	require.ErrorIs(t, err, protobuf.ErrField)
	_, err = protobuf.NewCompat[echo.EchoRequest](3, 0) // message: a string
	require.ErrorIs(t, err, protobuf.ErrField)
	_, err = protobuf.NewCompat[echo.EchoRequest](2, 0) // enum as id: refused
	require.ErrorIs(t, err, protobuf.ErrField)

	c, err := protobuf.NewCompat[echo.EchoRequest](0, 0)
	require.NoError(t, err)
	m := &echo.EchoRequest{}
	c.SetID(m, 42)
	c.SetControl(m, compat.Cancel)
	assert.Equal(t, uint64(42), m.GetRequestId())
	assert.Equal(t, echo.Control_CANCEL, m.GetCode())
	assert.Equal(t, uint64(42), c.ID(m))
	assert.Equal(t, compat.Cancel, c.Control(m))
	// A uint32 field works as the control too (stream_count, number 4).
	c4, err := protobuf.NewCompat[echo.EchoRequest](1, 4)
	require.NoError(t, err)
	c4.SetControl(m, compat.End)
	assert.Equal(t, uint32(2), m.GetStreamCount())
}

// TestCompatServerAndClient runs socket/rpc/compat's server (both modes)
// and client over this codec.
func TestCompatServerAndClient(t *testing.T) {
	for _, mode := range []compat.Mode{compat.Pooled, compat.Inline} {
		cl := startCompat(t, compat.Options{Mode: mode})
		var resp echo.EchoResponse
		for i := range 3 {
			require.NoError(t, cl.Call(context.Background(), &echo.EchoRequest{Message: "x"}, &resp))
			assert.Equal(t, "re: x", resp.GetMessage())
			assert.Equal(t, uint64(i+1), resp.GetRequestId())
			assert.Equal(t, echo.Control_NORMAL, resp.GetCode())
		}
	}
}

func startCompat(t testing.TB, opts compat.Options) *compat.Client[echo.EchoRequest, echo.EchoResponse] {
	reqc, err := protobuf.NewCompat[echo.EchoRequest](0, 0)
	require.NoError(t, err)
	respc, err := protobuf.NewCompat[echo.EchoResponse](0, 0)
	require.NoError(t, err)
	srv := compat.NewServer(reqc, respc, func(_ context.Context, req *echo.EchoRequest, resp *echo.EchoResponse) error {
		resp.Message = "re: " + req.GetMessage()
		return nil
	}, opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	cl, err := compat.Dial(context.Background(), "tcp", ln.Addr().String(), reqc, respc, compat.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cl.Close(); stop(); <-done })
	return cl
}

// TestCompatCallAllocs: a compat round trip (client and server in this
// process) allocates only protobuf-go's own and the handler's: the
// request's string decoded on the server, the handler's "re: " + message,
// the response's string decoded on the client. (SetID/SetControl write the
// generated struct's fields through Go reflection: protoreflect's Set
// allocated 4 more per call.)
func TestCompatCallAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	for _, mode := range []compat.Mode{compat.Inline, compat.Pooled} {
		cl := startCompat(t, compat.Options{Mode: mode})
		req := &echo.EchoRequest{Message: "steady"}
		var resp echo.EchoResponse
		allocs := testing.AllocsPerRun(500, func() {
			if err := cl.Call(context.Background(), req, &resp); err != nil {
				panic(err)
			}
		})
		t.Logf("mode %d: %.2f allocations per call", mode, allocs)
		assert.LessOrEqual(t, allocs, 3.0)
	}
}

func TestCompatPeekAgreesWithParse(t *testing.T) {
	c, err := protobuf.NewCompat[echo.EchoRequest](0, 0)
	require.NoError(t, err)
	for _, m := range []*echo.EchoRequest{{}, {RequestId: 300, Message: "x"}, {RequestId: 1 << 63, Code: echo.Control_END, StreamCount: 9}} {
		b, err := protobuf.Append(nil, m)
		require.NoError(t, err)
		id, code, err := c.Peek(b)
		require.NoError(t, err)
		assert.Equal(t, m.GetRequestId(), id)
		assert.Equal(t, compat.Control(m.GetCode()), code)
	}
	// The Rust example's bytes: id 300, body "x"; a Cancel.
	id, code, err := c.Peek([]byte{0x08, 0xac, 0x02, 0x1a, 0x01, 0x78})
	require.NoError(t, err)
	assert.Equal(t, uint64(300), id)
	assert.Equal(t, compat.Normal, code)
	id, code, err = c.Peek([]byte{0x08, 0xac, 0x02, 0x10, 0x01})
	require.NoError(t, err)
	assert.Equal(t, uint64(300), id)
	assert.Equal(t, compat.Cancel, code)
	_, _, err = c.Peek([]byte{0x08})
	require.ErrorIs(t, err, protobuf.ErrDecode)
}

func TestAppendDelimitedAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	m := &echo.EchoRequest{RequestId: 9, Message: "steady state"}
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		buf, err = protobuf.AppendDelimited(buf[:0], m)
		if err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs)

	var into echo.EchoRequest
	body := buf[1:]
	allocs = testing.AllocsPerRun(100, func() {
		if err := protobuf.Unmarshal(body, &into); err != nil {
			panic(err)
		}
	})
	assert.LessOrEqual(t, allocs, 1.0, "only the string field's copy")
}

func TestErrorText(t *testing.T) {
	_, _, err := protobuf.SplitDelimited([]byte{0x0b}, 10)
	assert.Equal(t, "protobuf: message too large: length 11 or more exceeds maximum 10", err.Error())
	assert.False(t, errors.Is(err, protobuf.ErrDecode))
}
