package socketbench

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/protosocket-go/protosocket/bench/rpcbench"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// The RPC stream rows: a socket/rpc bidirectional stream echo on one
// connection and one stream, driven by the same pipeline loop as the
// socket echo above (count, clock at start and end), so that its
// throughput is comparable with the socket pipelined echo's in one run.

// rpcMethod is the echo stream's method.
const rpcMethod = 1

// rpcWindow is the stream credit window on both sides: the in-flight
// count of the pipelined runs (window in echo_test.go), so that credit
// never caps them (rpcbench sizes it the same way for -stream-inflight
// above the default). TestRPCWindowIsThePipelineWindow keeps them equal.
const rpcWindow = 256

// echoStreamOne answers each message with its own Send.
func echoStreamOne(_ context.Context, st *rpc.ServerStream) error {
	var buf []byte
	var err error
	for {
		if buf, err = st.Recv(buf[:0]); err != nil {
			return nil
		}
		if err := st.Send(buf); err != nil {
			return err
		}
	}
}

// rpcServer is an rpc.Server serving one echo stream handler.
type rpcServer struct {
	srv  *rpc.Server
	ln   net.Listener
	done chan struct{}
}

func startRPC(many bool) (*rpcServer, error) {
	srv, err := rpc.NewServer(rpc.ServerOptions{StreamWindow: rpcWindow, ReuseContexts: true})
	if err != nil {
		return nil, err
	}
	h := echoStreamOne
	if many {
		h = rpcbench.EchoStream // Recv + Buffered + SendMany, as rpcbench serves it
	}
	srv.HandleStream(rpcMethod, h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &rpcServer{srv: srv, ln: ln, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = srv.Serve(context.Background(), ln)
	}()
	return s, nil
}

func (s *rpcServer) addr() string { return s.ln.Addr().String() }

func (s *rpcServer) close() {
	_ = s.srv.Close()
	<-s.done
}

// rpcClient is one stream on its own connection. With many, send copies
// each message into a reused arena and flush sends the refill with one
// ClientStream.SendMany (as the socket client's SendBatch); without, each
// message goes with ClientStream.Send. A pipelined client reads the
// echoes on its own goroutine (Recv into a reused buffer); a round-trip
// client reads each reply itself.
type rpcClient struct {
	c       *rpc.Client
	st      *rpc.ClientStream
	many    bool
	ps      *pipeState
	arena   []byte
	ends    []int
	msgs    [][]byte
	rbuf    []byte
	reading sync.WaitGroup
}

func dialRPC(addr string, many, pipelined bool) (*rpcClient, error) {
	c, err := rpc.Dial(context.Background(), "tcp", addr, rpc.ClientOptions{StreamWindow: rpcWindow})
	if err != nil {
		return nil, err
	}
	st, err := c.OpenStream(context.Background(), rpcMethod, nil)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	rc := &rpcClient{c: c, st: st, many: many, ps: newPipeState(),
		arena: make([]byte, 0, rpcWindow*msgSize), ends: make([]int, 0, rpcWindow),
		msgs: make([][]byte, 0, rpcWindow), rbuf: make([]byte, 0, msgSize)}
	if pipelined {
		rc.reading.Go(func() {
			buf := make([]byte, 0, msgSize)
			for {
				var err error
				if buf, err = st.Recv(buf[:0]); err != nil {
					rc.ps.fail(err)
					return
				}
				rc.ps.received(buf)
			}
		})
	}
	return rc, nil
}

func (rc *rpcClient) send(p []byte) error {
	if !rc.many {
		return rc.st.Send(p)
	}
	rc.arena = append(rc.arena, p...)
	rc.ends = append(rc.ends, len(rc.arena))
	return nil
}

func (rc *rpcClient) flush() error {
	if !rc.many || len(rc.ends) == 0 {
		return nil
	}
	rc.msgs = rc.msgs[:0]
	start := 0
	for _, e := range rc.ends {
		rc.msgs = append(rc.msgs, rc.arena[start:e])
		start = e
	}
	n, err := rc.st.SendMany(rc.msgs)
	if err == nil && n != len(rc.msgs) {
		err = fmt.Errorf("socketbench: SendMany queued %d of %d", n, len(rc.msgs))
	}
	rc.arena, rc.ends = rc.arena[:0], rc.ends[:0]
	return err
}

func (rc *rpcClient) pipe() *pipeState        { return rc.ps }
func (rc *rpcClient) framesPerWrite() float64 { return rc.c.Conn().Stats().FramesPerWrite() }

func (rc *rpcClient) roundTrip(p []byte) error {
	if err := rc.st.Send(p); err != nil {
		return err
	}
	var err error
	rc.rbuf, err = rc.st.Recv(rc.rbuf[:0])
	if err == nil && len(rc.rbuf) != len(p) {
		err = fmt.Errorf("socketbench: rpc echo of %d bytes", len(rc.rbuf))
	}
	return err
}

func (rc *rpcClient) close() {
	_ = rc.st.CloseSend()
	_ = rc.st.Close()
	_ = rc.c.Close()
	rc.reading.Wait()
}
