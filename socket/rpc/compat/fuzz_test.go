package compat_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/protosocket-go/protosocket/socket/rpc/compat"
)

// FuzzServerInbound feeds any byte sequence to a compat server (Pooled
// unary handlers that echo or wait for their ctx, and a streaming
// handler) and closes: the connection must end, with every handler done,
// within a bound; never a panic, a hang or a leak (goleak checks at the
// end). Seeds come from the encoder.
func FuzzServerInbound(f *testing.F) {
	var seed []byte
	for _, m := range []msg{
		{id: 1, body: []byte("x")},
		{id: 2, body: []byte("block")},
		{id: 2, code: compat.Cancel},
		{id: 3, body: []byte("s:abc")},
		{id: 3, code: 7},
		{id: 4, code: compat.End},
		{id: 1 << 40, code: 256, body: []byte("y")},
	} {
		b, _ := codec{}.Append(nil, &m)
		f.Add(delimited(b))
		seed = append(seed, delimited(b)...)
	}
	f.Add(seed)
	f.Add([]byte{0x02, 0xff, 0xff})
	srv := compat.NewServer[msg, msg](peekCodec{}, peekCodec{}, func(ctx context.Context, req, resp *msg) error {
		if string(req.body) == "block" {
			<-ctx.Done()
			return ctx.Err()
		}
		resp.body = req.body
		return nil
	}, compat.Options{MaxInFlight: 64})
	srv.HandleStream(func(req *msg) bool { return len(req.body) > 2 && req.body[1] == ':' },
		func(ctx context.Context, req *msg, s *compat.ServerStream[msg, msg]) error {
			for _, c := range req.body[2:] {
				if err := s.Send(&msg{body: []byte{c}}); err != nil {
					return err
				}
			}
			return nil
		})
	f.Fuzz(func(t *testing.T, b []byte) {
		c1, c2 := net.Pipe()
		conn, err := srv.ServeConn(c1)
		if err != nil {
			t.Fatal(err)
		}
		drained := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, c2); close(drained) }()
		_ = c2.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = c2.Write(b)
		_ = c2.Close()
		select {
		case <-conn.Closed():
		case <-time.After(10 * time.Second):
			t.Fatalf("the connection did not end after its peer closed (input %x)", b)
		}
		<-drained
	})
}
