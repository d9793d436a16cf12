package compat_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket/rpc/compat"
)

// msg is a tiny hand-rolled protobuf message shaped like the Rust
// examples' messages: id = field 1 (varint), code = field 2 (varint), body
// = field 3 (bytes). Like prost it omits zero fields, so a Normal message
// has no code on the wire.
type msg struct {
	id   uint64
	code compat.Control
	body []byte
}

// Protobuf keys: field number << 3 | wire type (0 varint, 2 bytes).
const (
	tagID   = 1 << 3
	tagCode = 2 << 3
	tagBody = 3<<3 | 2
)

// codec is a compat.Codec without a Peeker; peekCodec adds one.
type codec struct{}

func (codec) Append(dst []byte, m *msg) ([]byte, error) {
	if m.id != 0 {
		dst = append(dst, tagID)
		dst = binary.AppendUvarint(dst, m.id)
	}
	if m.code != 0 {
		dst = append(dst, tagCode)
		dst = binary.AppendUvarint(dst, uint64(m.code))
	}
	if len(m.body) > 0 {
		dst = append(dst, tagBody)
		dst = binary.AppendUvarint(dst, uint64(len(m.body)))
		dst = append(dst, m.body...)
	}
	return dst, nil
}

var errBad = errors.New("bad message")

func (codec) Parse(b []byte, m *msg) error {
	m.id, m.code, m.body = 0, 0, m.body[:0]
	for len(b) > 0 {
		key := b[0]
		b = b[1:]
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return errBad
		}
		b = b[n:]
		switch key {
		case tagID:
			m.id = v
		case tagCode:
			m.code = compat.Control(v) // u32 in the schema: truncated as prost does
		case tagBody:
			if v > uint64(len(b)) {
				return errBad
			}
			m.body = append(m.body, b[:v]...)
			b = b[v:]
		default:
			return errBad
		}
	}
	return nil
}

func (codec) ID(m *msg) uint64                    { return m.id }
func (codec) SetID(m *msg, id uint64)             { m.id = id }
func (codec) Control(m *msg) compat.Control       { return m.code }
func (codec) SetControl(m *msg, c compat.Control) { m.code = c }

type peekCodec struct{ codec }

func (peekCodec) Peek(b []byte) (id uint64, code compat.Control, err error) {
	for len(b) > 0 {
		key := b[0]
		v, n := binary.Uvarint(b[1:])
		if n <= 0 {
			return 0, 0, errBad
		}
		b = b[1+n:]
		switch key {
		case tagID:
			id = v
		case tagCode:
			code = compat.Control(v)
		case tagBody:
			if v > uint64(len(b)) {
				return 0, 0, errBad
			}
			b = b[v:]
		default:
			return 0, 0, errBad
		}
	}
	return id, code, nil
}

// enc is the prost encoding of a message (zero fields omitted).
func enc(id uint64, code uint64, body string) []byte {
	var b []byte
	if id != 0 {
		b = binary.AppendUvarint(append(b, tagID), id)
	}
	if code != 0 {
		b = binary.AppendUvarint(append(b, tagCode), code)
	}
	if body != "" {
		b = binary.AppendUvarint(append(b, tagBody), uint64(len(body)))
		b = append(b, body...)
	}
	return b
}

// delimited puts a uvarint length in front of body.
func delimited(body []byte) []byte {
	return append(binary.AppendUvarint(nil, uint64(len(body))), body...)
}

// rawPeer is a fake Rust-style peer on a plain TCP connection.
type rawPeer struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func newRawPeer(t *testing.T, nc net.Conn) *rawPeer {
	t.Cleanup(func() { _ = nc.Close() })
	return &rawPeer{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func dialRaw(t *testing.T, addr string) *rawPeer {
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	return newRawPeer(t, nc)
}

// send writes delimited messages.
func (p *rawPeer) send(bodies ...[]byte) {
	var b []byte
	for _, body := range bodies {
		b = append(b, delimited(body)...)
	}
	_, err := p.nc.Write(b)
	require.NoError(p.t, err)
}

// sendBytes writes b as it is.
func (p *rawPeer) sendBytes(b []byte) {
	_, err := p.nc.Write(b)
	require.NoError(p.t, err)
}

// recv reads one delimited message (10 s at most).
func (p *rawPeer) recv() []byte {
	p.t.Helper()
	b, err := p.recvWithin(10 * time.Second)
	require.NoError(p.t, err)
	return b
}

func (p *rawPeer) recvWithin(d time.Duration) ([]byte, error) {
	_ = p.nc.SetReadDeadline(time.Now().Add(d))
	n, err := binary.ReadUvarint(p.br)
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	_, err = io.ReadFull(p.br, b)
	return b, err
}

// expectNothing asserts that no message arrives within d.
func (p *rawPeer) expectNothing(d time.Duration) {
	p.t.Helper()
	b, err := p.recvWithin(d)
	var ne net.Error
	require.True(p.t, errors.As(err, &ne) && ne.Timeout(), "expected nothing, got %x (%v)", b, err)
}

// parse decodes a received message with the test codec.
func parse(t *testing.T, b []byte) msg {
	var m msg
	require.NoError(t, codec{}.Parse(b, &m))
	return m
}

// serve runs srv on loopback until the test ends.
func serve(t *testing.T, srv *compat.Server[msg, msg]) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ctx, ln) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return ln.Addr().String()
}

func start(t *testing.T, h compat.Handler[msg, msg], opts compat.Options) string {
	return serve(t, compat.NewServer[msg, msg](codec{}, codec{}, h, opts))
}

func echoHandler(_ context.Context, req, resp *msg) error {
	resp.body = append(resp.body[:0], req.body...)
	return nil
}

// fakeRustServer accepts one connection and hands it to fn as a rawPeer.
func fakeRustServer(t *testing.T, fn func(p *rawPeer)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		fn(newRawPeer(t, nc))
	})
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) *compat.Client[msg, msg] {
	cl, err := compat.Dial[msg, msg](context.Background(), "tcp", addr, codec{}, codec{}, compat.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}
