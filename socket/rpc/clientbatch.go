package rpc

import (
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

// This file owns what the client's reader does once per read batch
// instead of once per frame (socket.BatchReactor): a run of stream
// messages for one stream, the frames that follow each other in the
// batch, finds its stream once and is queued under one lock of its
// receive queue with one wake-up of its receiver (recvq.go queueRun), as
// the server's reader does (serverbatch.go).

// clientRun is the run of stream messages being gathered (q.q != nil),
// reader only.
type clientRun struct {
	q  queueRun
	st *ClientStream
	id uint32
}

// OnBatch implements socket.BatchReactor: it handles the batch's frames in
// order, as OnMessage would one by one.
func (c *Client) OnBatch(conn *socket.Conn, b *socket.Batch) socket.Action {
	r := &c.brun
	for m, ok := b.Next(); ok; m, ok = b.Next() {
		h := m.Header
		if h.Kind == wire.KindStreamMessage && !m.Oversized {
			if r.q.q == nil || r.id != h.Stream {
				c.endRun(conn, admitOK)
				s := c.t.lookup(h.Stream)
				if s == nil {
					continue
				}
				st := s.streamFor(h.Stream)
				if st == nil {
					continue
				}
				r.q.begin(&st.core.q, st.core.window)
				r.st, r.id = st, h.Stream
			}
			if res := r.q.add(m.Payload); res != admitOK {
				c.endRun(conn, res)
			}
			continue
		}
		c.endRun(conn, admitOK)
		if c.OnMessage(conn, m) == socket.Disconnect {
			r.q.release()
			return socket.Disconnect
		}
	}
	c.endRun(conn, admitOK)
	r.q.release()
	return socket.Continue
}

// endRun ends the run being queued, if any; res is the verdict on the
// message that ended it: a refused one is the server's flow-control
// violation, as in ClientStream.onFrame.
func (c *Client) endRun(conn *socket.Conn, res admitResult) {
	r := &c.brun
	if r.q.q == nil {
		return
	}
	if res2 := r.q.end(); res == admitOK {
		res = res2
	}
	st := r.st
	r.st = nil
	if res != admitOK {
		st.violation(conn)
	}
}
