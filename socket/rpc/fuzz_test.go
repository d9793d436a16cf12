package rpc_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// hostileSeed encodes a sequence of frames a hostile client might send:
// unknown ids, duplicate ids, cancel before request, credit overflow,
// frames after the stream ended.
func hostileSeed() []byte {
	var b []byte
	add := func(kind uint8, flags uint16, id, method uint32, payload []byte) {
		b, _ = frame.AppendFrame(b, frame.Header{Kind: kind, Flags: flags, Stream: id, Type: method}, payload)
	}
	md, _ := rpc.Metadata(nil).Append("k", []byte("v"))
	b, _ = rpc.AppendOpening(b, rpc.KindRequest, 1, mEcho, rpc.Prefix{Timeout: time.Second, Metadata: md}, []byte("hi"))
	add(rpc.KindCancel, 0, 2, mEcho, nil)
	add(rpc.KindRequest, 0, 2, mBlockFuzz, nil)
	add(rpc.KindRequest, 0, 2, mBlockFuzz, nil) // duplicate
	add(rpc.KindCancel, 0, 2, 0, nil)
	add(rpc.KindStreamOpen, 0, 3, sBidi, rpc.AppendCredit(nil, 2))
	add(rpc.KindStreamMessage, 0, 3, sBidi, []byte("a"))
	add(rpc.KindCredit, 0, 3, sBidi, rpc.AppendCredit(nil, rpc.MaxCredit))
	add(rpc.KindEnd, 0, 3, sBidi, nil)
	add(rpc.KindStreamMessage, 0, 3, sBidi, []byte("after end"))
	add(rpc.KindFireAndForget, 0, 0, mEcho, []byte("faf"))
	add(rpc.KindPing, 0, 9, 0, nil)
	add(rpc.KindGoAway, 0, 0, 0, nil)
	return b
}

const mBlockFuzz uint32 = 50

func FuzzServerInbound(f *testing.F) {
	f.Add(hostileSeed())
	b, _ := rpc.AppendOpening(nil, rpc.KindRequest, 7, mEcho, rpc.Prefix{}, []byte("x"))
	f.Add(b)
	f.Add(b[:len(b)-1]) // cut mid-frame
	srv, err := rpc.NewServer(rpc.ServerOptions{MaxInFlight: 4, StreamWindow: 2, Workers: 2})
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	srv.Handle(mEcho, func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, req...), nil }, rpc.Pooled)
	srv.Handle(mEchoInline, func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, req...), nil }, rpc.Inline)
	srv.Handle(mBlockFuzz, func(ctx context.Context, req, dst []byte) ([]byte, error) {
		<-ctx.Done() // ends on cancel or connection close
		return dst, ctx.Err()
	}, rpc.Pooled)
	srv.HandleStream(sBidi, func(ctx context.Context, st *rpc.ServerStream) error {
		var buf []byte
		for {
			var err error
			if buf, err = st.Recv(buf[:0]); err != nil {
				return nil
			}
			if err := st.Send(buf); err != nil {
				return err
			}
		}
	})
	f.Fuzz(func(t *testing.T, in []byte) {
		cli, sv := net.Pipe()
		conn, err := srv.ServeConn(sv)
		if err != nil {
			t.Fatal(err)
		}
		drained := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, cli); close(drained) }()
		_ = cli.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = cli.Write(in)
		_ = cli.Close()
		select {
		case <-conn.Closed():
		case <-time.After(10 * time.Second):
			t.Fatal("server connection did not close after the peer left")
		}
		<-drained
	})
}
