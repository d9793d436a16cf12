package rpc_test

import (
	"context"
	"flag"
	"io"
	"net"
	"os"
	"runtime/pprof"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
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
	b, _ = wire.AppendOpening(b, wire.KindRequest, 1, mEcho, wire.Prefix{Timeout: time.Second, Metadata: md}, []byte("hi"))
	add(wire.KindCancel, 0, 2, mEcho, nil)
	add(wire.KindRequest, 0, 2, mBlockFuzz, nil)
	add(wire.KindRequest, 0, 2, mBlockFuzz, nil) // duplicate
	add(wire.KindCancel, 0, 2, 0, nil)
	add(wire.KindStreamOpen, 0, 3, sBidi, wire.AppendCredit(nil, 2))
	add(wire.KindStreamMessage, 0, 3, sBidi, []byte("a"))
	add(wire.KindCredit, 0, 3, sBidi, wire.AppendCredit(nil, wire.MaxCredit))
	add(wire.KindEnd, 0, 3, sBidi, nil)
	add(wire.KindStreamMessage, 0, 3, sBidi, []byte("after end"))
	add(wire.KindFireAndForget, 0, 0, mEcho, []byte("faf"))
	add(wire.KindPing, 0, 9, 0, nil)
	add(wire.KindGoAway, 0, 0, 0, nil)
	add(wire.KindHeader, 0, 1, mEcho, md) // server-to-client kinds from a client: ignored
	add(wire.KindTrailer, 0, 1, mEcho, md)
	return b
}

// FuzzParseError: any error body, with or without details, parses to a
// typed error or a bounded result (details within MaxErrorDetails, a
// message string within MaxErrorMessage and valid UTF-8), never a panic.
func FuzzParseError(f *testing.F) {
	b, fl := rpc.AppendError(nil, &rpc.Error{Code: rpc.CodeAborted, Message: "m\xff", Details: []byte{1, 2}})
	f.Add(fl, b)
	f.Add(uint16(0), rpc.AppendErrorBody(nil, rpc.CodeUnavailable, "draining"))
	f.Add(wire.FlagErrorDetails, []byte{1, 0, 0, 0, 200, 0, 'x'})
	f.Fuzz(func(t *testing.T, flags uint16, body []byte) {
		code, msg, details, err := rpc.ParseError(flags, body)
		if err != nil {
			return
		}
		if len(details) > wire.MaxErrorDetails {
			t.Fatalf("details of %d bytes", len(details))
		}
		if code.Sentinel() == nil {
			t.Fatalf("code %d has no sentinel", code)
		}
		s := wire.ErrorMessage(msg)
		if len(s) > wire.MaxErrorMessage || !utf8.ValidString(s) {
			t.Fatalf("message of %d bytes, valid %v", len(s), utf8.ValidString(s))
		}
	})
}

const mBlockFuzz uint32 = 50

// fuzzIterLimit bounds one iteration: writing the input, the server
// closing the connection, and every handler it started returning. An
// iteration normally takes microseconds; going over means the server hung.
const fuzzIterLimit = 2 * time.Second

// iterLimit is fuzzIterLimit while fuzzing (a hang is found fast); run
// as a test (the seed corpus, under -race on a loaded CI machine) an
// iteration gets 10 s, so only a hang, not a slow scheduler, fails it.
func iterLimit() time.Duration {
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		return fuzzIterLimit
	}
	return 10 * time.Second
}

// fafBlockSeed sends two fire-and-forget calls to a handler that returns
// only when its context ends. They used to be canceled neither by the
// peer's close nor by Server.Close, so they held the workers forever and a
// later pooled call blocked the connection's reader: the hang the fuzzer
// found (kept as testdata/fuzz/FuzzServerInbound/regression-faf-block).
func fafBlockSeed() []byte {
	var b []byte
	for range 2 {
		b, _ = wire.AppendOpening(b, wire.KindFireAndForget, 0, mBlockFuzz, wire.Prefix{}, nil)
	}
	return b
}

func FuzzServerInbound(f *testing.F) { fuzzServerInbound(f, false) }

// FuzzServerInboundBatch is FuzzServerInbound over TCP loopback: one
// write of the input reaches the server's reader as read batches of
// many frames (net.Pipe gives batches of one), so runs of stream
// messages, calls and cancels in one batch go through OnBatch's paths.
func FuzzServerInboundBatch(f *testing.F) { fuzzServerInbound(f, true) }

// streamRunSeed opens two streams with a credit of 2 and sends their
// messages interleaved and in runs, the second run past its credit, with
// a cancel and an end among them: one read batch on TCP.
func streamRunSeed() []byte {
	var b []byte
	add := func(kind uint8, id uint32, payload []byte) {
		b, _ = frame.AppendFrame(b, frame.Header{Kind: kind, Stream: id, Type: sBidi}, payload)
	}
	add(wire.KindStreamOpen, 3, wire.AppendCredit(nil, 2))
	add(wire.KindStreamOpen, 5, wire.AppendCredit(nil, 2))
	add(wire.KindStreamMessage, 3, []byte("a"))
	add(wire.KindStreamMessage, 5, []byte("b"))
	add(wire.KindStreamMessage, 3, []byte("c"))
	for range 5 { // past the credit of 2
		add(wire.KindStreamMessage, 5, []byte("run"))
	}
	add(wire.KindCancel, 3, nil)
	add(wire.KindStreamMessage, 3, []byte("after cancel"))
	add(wire.KindEnd, 5, nil)
	return b
}

func fuzzServerInbound(f *testing.F, tcp bool) {
	f.Add(hostileSeed())
	f.Add(streamRunSeed())
	b, _ := wire.AppendOpening(nil, wire.KindRequest, 7, mEcho, wire.Prefix{}, []byte("x"))
	f.Add(b)
	f.Add(b[:len(b)-1]) // cut mid-frame
	f.Add(fafBlockSeed())
	var active atomic.Int64 // handlers that have not returned
	srv, err := rpc.NewServer(rpc.ServerOptions{MaxInFlight: 4, StreamWindow: 2, Workers: 2})
	if err != nil {
		f.Fatal(err)
	}
	defer func() {
		if !f.Failed() { // after a hang Close would wait for it forever
			_ = srv.Close()
		}
	}()
	srv.Handle(mEcho, func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, req...), nil }, rpc.Pooled)
	srv.Handle(mEchoInline, func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, req...), nil }, rpc.Inline)
	srv.Handle(mBlockFuzz, func(ctx context.Context, req, dst []byte) ([]byte, error) {
		active.Add(1)
		defer active.Add(-1)
		<-ctx.Done() // ends on cancel or connection close
		return dst, ctx.Err()
	}, rpc.Pooled)
	srv.HandleStream(sBidi, func(ctx context.Context, st *rpc.ServerStream) error {
		active.Add(1)
		defer active.Add(-1)
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
	var ln net.Listener
	if tcp {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			f.Fatal(err)
		}
		defer ln.Close()
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var cli, sv net.Conn
		if tcp {
			var err error
			if cli, err = net.Dial("tcp", ln.Addr().String()); err != nil {
				t.Fatal(err)
			}
			if sv, err = ln.Accept(); err != nil {
				t.Fatal(err)
			}
		} else {
			cli, sv = net.Pipe()
		}
		conn, err := srv.ServeConn(sv)
		if err != nil {
			t.Fatal(err)
		}
		limit := time.Now().Add(iterLimit())
		drained := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, cli); close(drained) }()
		// A server that stops reading makes Write time out; the wait
		// for the close below then reports it.
		_ = cli.SetWriteDeadline(limit)
		_, _ = cli.Write(in)
		_ = cli.Close()
		timer := time.NewTimer(time.Until(limit))
		defer timer.Stop()
		select {
		case <-conn.Closed():
		case <-timer.C:
			hung(t, "server connection did not close after the peer left")
		}
		<-drained // cli is closed: the copy ends at once
		// Every handler must end once its connection is gone.
		for active.Load() != 0 {
			if time.Now().After(limit) {
				hung(t, "handlers still running after the connection closed")
			}
			time.Sleep(time.Millisecond)
		}
	})
}

// hung fails the iteration with every goroutine's stack on stderr, so a
// hang found by the fuzzer shows where the server is stuck.
func hung(t *testing.T, msg string) {
	t.Helper()
	_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
	t.Fatalf("%s (within %v); goroutines dumped above", msg, iterLimit())
}
