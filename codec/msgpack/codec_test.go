package msgpack_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/codec/msgpack"
	"github.com/protosocket-go/protosocket/examples/rustecho/mpecho"
	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc/compat"
)

type (
	reqCodec  = msgpack.Compat[mpecho.Request, *mpecho.Request]
	respCodec = msgpack.Compat[mpecho.Response, *mpecho.Response]
)

// The bytes rmp-serde writes for example-messagepack's messages: structs
// as arrays, Option as nil or the value, a unit variant as its name, a
// newtype variant as a one-entry map from its name.
func TestRmpSerdeBytes(t *testing.T) {
	tests := []struct {
		name string
		m    interface{ MarshalMsg([]byte) ([]byte, error) }
		want []byte
	}{
		{"request", &mpecho.Request{RequestID: 300, Body: &mpecho.EchoRequest{Message: "x", Nanotime: 5}},
			[]byte{0x94, 0xcd, 0x01, 0x2c, 0x00, 0x92, 0xa1, 'x', 0x05, 0xa5, 'U', 'n', 'a', 'r', 'y'}},
		{"stream request, no body", &mpecho.Request{RequestID: 1, Code: 1, ResponseBehavior: mpecho.Stream},
			[]byte{0x94, 0x01, 0x01, 0xc0, 0xa6, 'S', 't', 'r', 'e', 'a', 'm'}},
		{"cancel", &mpecho.Response{RequestID: 300, Code: 1},
			[]byte{0x93, 0xcd, 0x01, 0x2c, 0x01, 0xc0}},
		{"echo", &mpecho.Response{RequestID: 300, Kind: mpecho.EchoResponseKind{Echo: &mpecho.EchoResponse{Message: "x", Nanotime: 5}}},
			[]byte{0x93, 0xcd, 0x01, 0x2c, 0x00, 0x81, 0xa4, 'E', 'c', 'h', 'o', 0x92, 0xa1, 'x', 0x05}},
		{"stream item", &mpecho.Response{RequestID: 2, Kind: mpecho.EchoResponseKind{Stream: &mpecho.EchoStream{Message: "x", Nanotime: 5, Sequence: 7}}},
			[]byte{0x93, 0x02, 0x00, 0x81, 0xa6, 'S', 't', 'r', 'e', 'a', 'm', 0x93, 0xa1, 'x', 0x05, 0x07}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.m.MarshalMsg(nil)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	// rmp-serde also accepts a variant by index.
	var r mpecho.Response
	require.NoError(t, respCodec{}.Parse([]byte{0x93, 0x02, 0x00, 0x81, 0x00, 0x92, 0xa1, 'x', 0x05}, &r))
	assert.Equal(t, "x", r.Kind.Echo.Message)
}

func TestFraming(t *testing.T) {
	b, err := msgpack.Framing.AppendPrefix(nil, frame.Header{}, make([]byte, 300))
	require.NoError(t, err)
	assert.Equal(t, []byte{0xce, 0x00, 0x00, 0x01, 0x2c}, b)

	sp, err := msgpack.Framing.Split([]byte{0xce, 0, 0}, 100)
	require.NoError(t, err)
	assert.Equal(t, frame.Split{Kind: frame.NeedMore, N: 2}, sp)
	sp, err = msgpack.Framing.Split([]byte{0xce, 0, 0, 0, 2, 0x90, 0xc0, 0xff}, 100)
	require.NoError(t, err)
	assert.Equal(t, frame.Complete, sp.Kind)
	assert.Equal(t, 7, sp.N)
	assert.Equal(t, 2, sp.Len)

	// A marker other than 0xce (a uint16 length, a fixint): typed errors
	// that the socket reports as protocol errors.
	for _, bad := range [][]byte{{0xcd, 0, 5}, {0x05}, {0xcf}} {
		_, err = msgpack.Framing.Split(bad, 100)
		require.ErrorIs(t, err, msgpack.ErrMarker)
		require.ErrorIs(t, err, frame.ErrMalformed)
	}
	// An oversized length is refused from the 5 prefix bytes alone.
	_, err = msgpack.Framing.Split([]byte{0xce, 0xff, 0xff, 0xff, 0xff}, 1<<20)
	require.ErrorIs(t, err, msgpack.ErrTooLarge)
	require.ErrorIs(t, err, frame.ErrFrameTooLarge)
}

func TestBadBodies(t *testing.T) {
	var rq mpecho.Request
	var rs mpecho.Response
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"wrong arity", []byte{0x92, 0x01, 0x00}, msgpack.ErrArity},
		{"nested wrong arity", []byte{0x94, 0x01, 0x00, 0x91, 0xa1, 'x', 0xa5, 'U', 'n', 'a', 'r', 'y'}, msgpack.ErrArity},
		{"not an array", []byte{0x81, 0x01, 0x02}, msgpack.ErrDecode},
		{"trailing bytes", []byte{0x94, 0x01, 0x00, 0xc0, 0xa5, 'U', 'n', 'a', 'r', 'y', 0xc0}, msgpack.ErrTrailing},
		{"unknown variant", []byte{0x94, 0x01, 0x00, 0xc0, 0xa4, 'N', 'o', 'p', 'e'}, mpecho.ErrVariant},
		{"variant index out of range", []byte{0x94, 0x01, 0x00, 0xc0, 0x07}, mpecho.ErrVariant},
		{"code over u32", []byte{0x94, 0x01, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 0x00}, msgpack.ErrDecode},
		{"negative id", []byte{0x94, 0xff, 0x00, 0xc0, 0x00}, msgpack.ErrDecode},
		{"truncated", []byte{0x94, 0x01}, msgpack.ErrDecode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := reqCodec{}.Parse(tt.b, &rq)
			require.ErrorIs(t, err, tt.want)
			var me *msgpack.Error
			require.ErrorAs(t, err, &me)
		})
	}
	// A response kind map with two entries.
	require.ErrorIs(t, respCodec{}.Parse([]byte{0x93, 0x01, 0x00, 0x82, 0xa4, 'E', 'c', 'h', 'o', 0x92, 0xa0, 0x00, 0x00, 0x00}, &rs), mpecho.ErrVariant)

	// Peek: id and code only, typed errors otherwise.
	id, code, err := msgpack.Peek([]byte{0x93, 0xcd, 0x01, 0x2c, 0x01, 0xc0})
	require.NoError(t, err)
	assert.Equal(t, uint64(300), id)
	assert.Equal(t, compat.Cancel, code)
	for _, bad := range [][]byte{{0x91, 0x01}, {0xc0}, {0x92, 0x01, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0}, {}} {
		_, _, err := msgpack.Peek(bad)
		var me *msgpack.Error
		require.ErrorAs(t, err, &me, "%x", bad)
	}
}

// serveEcho runs a compat server with example-messagepack's service: a
// request without body is rejected (Cancel); UNARY echoes once; STREAM
// sends one EchoStream per byte of the message, then End.
func serveEcho(t *testing.T) string {
	srv := compat.NewServer[mpecho.Request, mpecho.Response](reqCodec{}, respCodec{},
		func(_ context.Context, req *mpecho.Request, resp *mpecho.Response) error {
			if req.Body == nil {
				return errors.New("no body")
			}
			resp.Kind.Echo = &mpecho.EchoResponse{Message: req.Body.Message, Nanotime: req.Body.Nanotime}
			return nil
		}, compat.Options{Socket: socket.Options{Framing: msgpack.Framing}})
	srv.HandleStream(func(req *mpecho.Request) bool { return req.ResponseBehavior == mpecho.Stream && req.Body != nil },
		func(_ context.Context, req *mpecho.Request, s *compat.ServerStream[mpecho.Request, mpecho.Response]) error {
			var item mpecho.Response
			st := &mpecho.EchoStream{Nanotime: req.Body.Nanotime}
			item.Kind.Stream = st
			for i, c := range []byte(req.Body.Message) {
				st.Message, st.Sequence = string(rune(c)), uint64(i)
				if err := s.Send(&item); err != nil {
					return err
				}
			}
			return nil
		})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ctx, ln) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return ln.Addr().String()
}

func framed(body []byte) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{0xce}, uint32(len(body))), body...)
}

// A fake Rust client writing rmp-serde's bytes gets rmp-serde's bytes.
func TestServerBytes(t *testing.T) {
	nc, err := net.Dial("tcp", serveEcho(t))
	require.NoError(t, err)
	defer nc.Close()
	read := func() []byte {
		require.NoError(t, nc.SetReadDeadline(time.Now().Add(10*time.Second)))
		p := make([]byte, 5)
		_, err := io.ReadFull(nc, p)
		require.NoError(t, err)
		require.Equal(t, byte(0xce), p[0])
		b := make([]byte, binary.BigEndian.Uint32(p[1:]))
		_, err = io.ReadFull(nc, b)
		require.NoError(t, err)
		return b
	}
	// Unary, id 300, "x".
	_, err = nc.Write(framed([]byte{0x94, 0xcd, 0x01, 0x2c, 0x00, 0x92, 0xa1, 'x', 0x05, 0xa5, 'U', 'n', 'a', 'r', 'y'}))
	require.NoError(t, err)
	assert.Equal(t, []byte{0x93, 0xcd, 0x01, 0x2c, 0x00, 0x81, 0xa4, 'E', 'c', 'h', 'o', 0x92, 0xa1, 'x', 0x05}, read())
	// No body: rejected with Cancel [300, 1, nil].
	_, err = nc.Write(framed([]byte{0x94, 0xcd, 0x01, 0x2c, 0x00, 0xc0, 0xa5, 'U', 'n', 'a', 'r', 'y'}))
	require.NoError(t, err)
	assert.Equal(t, []byte{0x93, 0xcd, 0x01, 0x2c, 0x01, 0xc0}, read())
	// Stream "ab": two items, then End [2, 2, nil].
	_, err = nc.Write(framed([]byte{0x94, 0x02, 0x00, 0x92, 0xa2, 'a', 'b', 0x00, 0xa6, 'S', 't', 'r', 'e', 'a', 'm'}))
	require.NoError(t, err)
	assert.Equal(t, []byte{0x93, 0x02, 0x00, 0x81, 0xa6, 'S', 't', 'r', 'e', 'a', 'm', 0x93, 0xa1, 'a', 0x00, 0x00}, read())
	assert.Equal(t, []byte{0x93, 0x02, 0x00, 0x81, 0xa6, 'S', 't', 'r', 'e', 'a', 'm', 0x93, 0xa1, 'b', 0x00, 0x01}, read())
	assert.Equal(t, []byte{0x93, 0x02, 0x02, 0xc0}, read())
	// A marker other than 0xce closes the connection.
	_, err = nc.Write([]byte{0xcd, 0x00, 0x05})
	require.NoError(t, err)
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = io.ReadAll(nc)
	require.NoError(t, err, "closed (EOF), not a timeout")
}

// The Go compat client and server over MessagePack.
func TestGoClientServer(t *testing.T) {
	cl, err := compat.Dial[mpecho.Request, mpecho.Response](context.Background(), "tcp", serveEcho(t), reqCodec{}, respCodec{},
		compat.Options{Socket: socket.Options{Framing: msgpack.Framing}})
	require.NoError(t, err)
	defer cl.Close()
	var resp mpecho.Response
	require.NoError(t, cl.Call(context.Background(), &mpecho.Request{Body: &mpecho.EchoRequest{Message: "hi", Nanotime: 9}}, &resp))
	assert.Equal(t, "hi", resp.Kind.Echo.Message)
	assert.Equal(t, uint64(9), resp.Kind.Echo.Nanotime)
	require.ErrorIs(t, cl.Call(context.Background(), &mpecho.Request{}, &resp), compat.ErrCancelledRemotely)
	st, err := cl.Stream(context.Background(), &mpecho.Request{Body: &mpecho.EchoRequest{Message: "xyz"}, ResponseBehavior: mpecho.Stream})
	require.NoError(t, err)
	defer st.Close()
	var got string
	for i := 0; ; i++ {
		r, err := st.Recv()
		if err != nil {
			require.ErrorIs(t, err, io.EOF)
			break
		}
		assert.Equal(t, uint64(i), r.Kind.Stream.Sequence)
		got += r.Kind.Stream.Message
	}
	assert.Equal(t, "xyz", got)
}
