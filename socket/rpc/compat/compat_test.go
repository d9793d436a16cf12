package compat_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket/rpc/compat"
)

// msg is a tiny hand-rolled protobuf message: id = field 1 (varint),
// code = field 2 (varint), body = field 3 (bytes), as in the Rust
// protosocket-rpc examples.
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

type codec struct{}

func (codec) Append(dst []byte, m *msg) ([]byte, error) {
	dst = append(dst, tagID)
	dst = binary.AppendUvarint(dst, m.id)
	dst = append(dst, tagCode)
	dst = binary.AppendUvarint(dst, uint64(m.code))
	if len(m.body) > 0 {
		dst = append(dst, tagBody)
		dst = binary.AppendUvarint(dst, uint64(len(m.body)))
		dst = append(dst, m.body...)
	}
	return dst, nil
}

var errBad = errors.New("bad message")

func (codec) Parse(b []byte, m *msg) error {
	*m = msg{}
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
			m.code = compat.Control(v)
		case tagBody:
			if v > uint64(len(b)) {
				return errBad
			}
			m.body = append([]byte(nil), b[:v]...)
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

func start(t *testing.T, h compat.Handler[msg, msg]) string {
	srv := compat.NewServer[msg, msg](codec{}, codec{}, h, compat.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ctx, ln) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return ln.Addr().String()
}

func TestCompatUnary(t *testing.T) {
	addr := start(t, func(_ context.Context, req, resp *msg) error {
		resp.body = append([]byte("re: "), req.body...)
		return nil
	})
	cl, err := compat.Dial[msg, msg](context.Background(), "tcp", addr, codec{}, codec{}, compat.Options{})
	require.NoError(t, err)
	defer cl.Close()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			body := []byte{byte('a' + i%26)}
			resp, err := cl.Call(context.Background(), &msg{body: body})
			if assert.NoError(t, err) {
				assert.Equal(t, "re: "+string(body), string(resp.body))
				assert.Equal(t, compat.Normal, resp.code)
			}
		})
	}
	wg.Wait()
}

func TestCompatWireFormat(t *testing.T) {
	// What a Rust protosocket-rpc client sends: a varint-delimited
	// protobuf message with id (field 1) and code (field 2).
	addr := start(t, func(_ context.Context, req, resp *msg) error {
		resp.body = req.body
		return nil
	})
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	req, _ := codec{}.Append(nil, &msg{id: 300, code: compat.Normal, body: []byte("x")})
	b := binary.AppendUvarint(nil, uint64(len(req)))
	_, err = nc.Write(append(b, req...))
	require.NoError(t, err)
	r := frame.NewReader(nc, frame.ReaderOptions{Framing: frame.Varint})
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(10*time.Second)))
	f, err := r.Next()
	require.NoError(t, err)
	// 08 ac 02 = id 300, 10 00 = code 0, 1a 01 78 = body "x"
	assert.Equal(t, []byte{0x08, 0xac, 0x02, 0x10, 0x00, 0x1a, 0x01, 'x'}, f.Payload)
}

func TestCompatCancel(t *testing.T) {
	canceled := make(chan struct{})
	entered := make(chan struct{})
	addr := start(t, func(ctx context.Context, req, resp *msg) error {
		close(entered)
		<-ctx.Done()
		close(canceled)
		return ctx.Err()
	})
	cl, err := compat.Dial[msg, msg](context.Background(), "tcp", addr, codec{}, codec{}, compat.Options{})
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { _, err := cl.Call(ctx, &msg{}); res <- err }()
	<-entered
	cancel()
	require.ErrorIs(t, <-res, context.Canceled)
	select {
	case <-canceled:
	case <-time.After(10 * time.Second):
		t.Fatal("the Cancel message did not cancel the handler")
	}
}

func TestCompatClosedEndsCalls(t *testing.T) {
	entered := make(chan struct{})
	addr := start(t, func(ctx context.Context, req, resp *msg) error {
		close(entered)
		<-ctx.Done()
		return ctx.Err()
	})
	cl, err := compat.Dial[msg, msg](context.Background(), "tcp", addr, codec{}, codec{}, compat.Options{})
	require.NoError(t, err)
	res := make(chan error, 1)
	go func() { _, err := cl.Call(context.Background(), &msg{}); res <- err }()
	<-entered
	require.NoError(t, cl.Close())
	require.ErrorIs(t, <-res, compat.ErrClosed)
}
