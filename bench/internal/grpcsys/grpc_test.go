package grpcsys

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/mem"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/bench/internal/load/loadtest"
	"github.com/protosocket-go/protosocket/internal/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

// Every scenario runs with every codec (and with the harness's
// configuration), including payloads of several buffers.
func TestRunEveryScenario(t *testing.T) {
	for _, o := range []Options{{}, {Codec: CodecBytes}, {Codec: CodecSubtype}, harness} {
		t.Run(o.String(), func(t *testing.T) {
			loadtest.RunScenarios(t, NewWith(o), 2, 300*time.Millisecond,
				loadtest.Scenario{Scenario: load.Unary, Concurrency: 16},
				loadtest.Scenario{Scenario: load.Pipelined, Concurrency: 32},
				loadtest.Scenario{Scenario: load.ServerStream, Concurrency: 1},
				loadtest.Scenario{Scenario: load.Bidi, Concurrency: 32})
		})
	}
}

func TestDialUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = New().Dial(ctx, addr, load.Options{Conns: 1})
	require.ErrorIs(t, err, ErrUnavailable)
}

func TestCodecRoundTrip(t *testing.T) {
	// A copying message (streams): the wire bytes do not change with the
	// caller's buffer.
	in := &msg{b: []byte("payload"), copy: true}
	wire, err := codec{}.Marshal(in)
	require.NoError(t, err)
	in.b[0] = 'X'
	var out msg
	require.NoError(t, codec{}.Unmarshal(wire, &out))
	assert.Equal(t, "payload", string(out.b))
	// A unary request travels as it is: no copy, no allocation.
	un := &msg{b: []byte("payload")}
	wire, err = codec{}.Marshal(un)
	require.NoError(t, err)
	assert.Same(t, &un.b[0], &wire[0])
	// Unmarshal copies: data is valid only during the call.
	data := []byte("reply")
	require.NoError(t, codec{}.Unmarshal(data, &out))
	data[0] = 'X'
	assert.Equal(t, "reply", string(out.b))
	_, err = codec{}.Marshal("not a msg")
	require.Error(t, err)
	require.Error(t, codec{}.Unmarshal(wire, new(int)))
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range gRPCConfigs {
		require.NoError(t, o.Validate(), "%v", o)
	}
	for _, o := range []Options{{CallContext: -1}, {CallContext: SharedContext + 1}, {Codec: -1}, {Codec: CodecSubtype + 1}, {Window: -1}, {Window: 1000}} {
		err := o.Validate()
		require.ErrorIs(t, err, ErrInvalidOptions, "%+v", o)
		var oe *OptionError
		require.ErrorAs(t, err, &oe)
		_, err = NewWith(o).Serve(context.Background(), "127.0.0.1:0", load.Options{})
		require.ErrorIs(t, err, ErrInvalidOptions)
		_, err = NewWith(o).Dial(context.Background(), "127.0.0.1:1", load.Options{})
		require.ErrorIs(t, err, ErrInvalidOptions)
	}
}

// Each call context mode completes calls, and a caller's own context is
// canceled when the run's context ends.
func TestCallContexts(t *testing.T) {
	for _, mode := range []CallContext{CallerContext, RunContext, BackgroundContext, SharedContext} {
		t.Run(mode.String(), func(t *testing.T) {
			sys := NewWith(Options{CallContext: mode})
			opts := load.Options{Scenario: load.Unary, Payload: 16, Conns: 1, Concurrency: 1}
			srv, err := sys.Serve(context.Background(), "127.0.0.1:0", opts)
			require.NoError(t, err)
			defer srv.Close()
			c, err := sys.Dial(context.Background(), srv.Addr(), opts)
			require.NoError(t, err)
			defer c.Close()
			k, err := c.NewCaller(0)
			require.NoError(t, err)
			run, end := context.WithCancel(context.Background())
			require.NoError(t, k.Call(run, make([]byte, 16)))
			if mode == CallerContext {
				own := k.(*caller).own.own
				require.NoError(t, own.Err())
				end()
				require.Eventually(t, func() bool { return own.Err() != nil }, 5*time.Second, time.Millisecond)
			}
			end()
			require.NoError(t, k.Close())
		})
	}
	assert.Equal(t, "CallContext(7)", CallContext(7).String())
	assert.Equal(t, "Codec(7)", Codec(7).String())
}

// Every codec echoes the payload bytes exactly, at sizes below and above
// grpc-go's 16 KiB frames (it hands a codec the whole message, in one
// buffer, either way: TestCodecV2 covers several), on
// unary calls and on a bidi stream whose sender rewrites its buffer right
// after each Send.
func TestEchoContent(t *testing.T) {
	for _, o := range []Options{{}, {Codec: CodecBytes}, {Codec: CodecSubtype}, harness} {
		t.Run(o.String(), func(t *testing.T) {
			ctx := context.Background()
			sys := NewWith(o)
			for _, sc := range []load.Scenario{load.Unary, load.Bidi} {
				opts := load.Options{Scenario: sc, Payload: 16, Conns: 1, Concurrency: 1}
				srv, err := sys.Serve(ctx, "127.0.0.1:0", opts)
				require.NoError(t, err)
				c, err := sys.Dial(ctx, srv.Addr(), opts)
				require.NoError(t, err)
				var k load.Caller
				var s load.Stream
				if sc == load.Unary {
					k, err = c.NewCaller(0)
				} else {
					s, err = c.OpenStream(ctx, 0)
				}
				require.NoError(t, err)
				for _, n := range []int{0, 1, 16, 20_000, 300_000} {
					if sc == load.Bidi && n < load.StampSize {
						continue
					}
					req := make([]byte, n)
					for i := range req {
						req[i] = byte(i*7 + n)
					}
					want := append([]byte(nil), req...)
					if sc == load.Unary {
						require.NoError(t, k.Call(ctx, req), "%d bytes", n)
						assert.True(t, bytes.Equal(want, k.(*caller).last), "unary, %d bytes", n)
						continue
					}
					require.NoError(t, s.Send(req))
					clear(req) // the message already sent must not change
					got, err := s.Recv()
					require.NoError(t, err)
					assert.True(t, bytes.Equal(want, got), "bidi, %d bytes", n)
				}
				if k != nil {
					require.NoError(t, k.Close())
				}
				if s != nil {
					require.NoError(t, s.Close())
				}
				require.NoError(t, c.Close())
				require.NoError(t, srv.Close())
			}
		})
	}
}

// codecV2 copies a message of several buffers into the caller's reply
// buffer, passes the server's received buffers back unchanged (its
// reference handed over), and copies a stream message so that its sender
// may rewrite its buffer.
func TestCodecV2(t *testing.T) {
	var c codecV2
	data := mem.BufferSlice{mem.SliceBuffer("pay"), mem.SliceBuffer("lo"), mem.SliceBuffer("ad")}
	m := msg{b: make([]byte, 0, 2)}
	require.NoError(t, c.Unmarshal(data, &m))
	assert.Equal(t, "payload", string(m.b))

	var e echo
	require.NoError(t, c.Unmarshal(data, &e))
	assert.Equal(t, "payload", string(e.payload()))
	out, err := c.Marshal(&e)
	require.NoError(t, err)
	assert.Equal(t, "payload", string(out.Materialize()))
	assert.Nil(t, e.data, "the reference passed to grpc-go")

	s := msg{b: []byte("stamp"), copy: true}
	out, err = c.Marshal(&s)
	require.NoError(t, err)
	s.b[0] = 'X'
	assert.Equal(t, "stamp", string(out.Materialize()))
	out.Free()

	u := msg{b: []byte("req")}
	out, err = c.Marshal(&u)
	require.NoError(t, err)
	assert.Same(t, &u.b[0], &out[0].ReadOnlyData()[0], "a unary request travels uncopied")

	_, err = c.Marshal("not a msg")
	require.Error(t, err)
	require.Error(t, c.Unmarshal(data, new(int)))
}
