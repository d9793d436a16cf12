package rpc

import (
	"time"

	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

// This file owns what the server's reader does once per read batch
// instead of once per frame (socket.BatchReactor):
//
//   - the clock: a call with a timeout counts its deadline from the time
//     its batch was read, read at the first such call of the batch (a
//     server reading the clock per call spent 2-6% of a unary call on it;
//     bench/README, issue 18). The deadline so counts from the request's
//     arrival, as gRPC's does from its header's, and a later call of the
//     batch has the time its batch's earlier handlers took counted
//     against it: it waited that long.
//   - whether an inline call's deadline passed before its handler starts
//     (inlineExpired): the clock is read again at a call with a deadline
//     only if the reader served another frame since its last reading (an
//     inline handler, a stream's opening, a large reply: any of them can
//     take long or block), so a batch's first call with a deadline, or a
//     run of them with nothing between, costs no second reading. An
//     earlier version read it only every 16 handlers while they were
//     fast, and a handler that turned slow let up to 15 calls run past
//     their deadlines (TestInlineDeadlineAfterFastThenSlow).
//   - a run of stream messages for one stream (frames that follow each
//     other in the batch): the stream is looked up once and its messages
//     queued under one lock of its receive queue, with one add to the
//     connection's stream budget and one wake-up of its handler
//     (recvq.go queueRun).
//   - inline unary responses: framed into the batch's replies at once
//     (socket.Batch.Reply), written together when the batch ends.

// batchState is the reader's state while it serves a batch.
type batchState struct {
	b      *socket.Batch // nil outside OnBatch
	t      time.Time     // the batch's clock, read when nowSet
	nowSet bool

	// The deadline checks of inline calls (inlineExpired): seen is the
	// latest clock reading (t or later), ran the frames the reader served
	// since.
	seen time.Time
	ran  int

	// The run of stream messages being gathered (run.q != nil), for
	// stream runID.
	run   queueRun
	runSS *serverStream
	runID uint32
}

// now returns the batch's clock, read once per batch (callNow outside
// a batch).
func (bs *batchState) now() time.Time {
	if bs.b == nil {
		return callNow()
	}
	if !bs.nowSet {
		bs.t, bs.nowSet = callNow(), true
		bs.seen, bs.ran = bs.t, 0
	}
	return bs.t
}

// inlineExpired reports whether an inline call's deadline has passed,
// just before its handler would start (the call was set up by onOpen
// from this batch's clock). Outside a batch the call was set up from a
// reading of the clock taken just now, with a positive timeout: its
// deadline has not passed. A reading is never later than the true time,
// so no call expires early.
func (bs *batchState) inlineExpired(deadline time.Time) bool {
	if bs.b == nil {
		return false
	}
	if bs.ran > 0 {
		bs.seen, bs.ran = callNow(), 0
	}
	return !bs.seen.Before(deadline)
}

// OnBatch implements socket.BatchReactor: it serves the batch's frames in
// order, as OnMessage would one by one, with the per-batch work above.
func (sc *serverConn) OnBatch(conn *socket.Conn, b *socket.Batch) socket.Action {
	bs := &sc.bat
	bs.b = b
	act := socket.Continue
	for m, ok := b.Next(); ok; m, ok = b.Next() {
		h := m.Header
		if h.Kind == wire.KindStreamMessage && !m.Oversized && sc.setupDone && !sc.rejected {
			if bs.run.q != nil && bs.runID == h.Stream {
				if r := bs.run.add(m.Payload); r != admitOK {
					sc.endRun(r)
				}
				continue
			}
			sc.endRun(admitOK)
			st := sc.streamFor(h.Stream)
			if st == nil {
				sc.srv.stats.ignored.Add(1)
				continue
			}
			core := st.pub.core
			bs.run.begin(&core.q, core.window)
			bs.runSS, bs.runID = st, h.Stream
			if r := bs.run.add(m.Payload); r != admitOK {
				sc.endRun(r)
			}
			continue
		}
		sc.endRun(admitOK)
		if sc.onFrame(conn, m) == socket.Disconnect {
			act = socket.Disconnect
			break
		}
		bs.ran++ // the clock for the next deadline check is stale (inlineExpired)
	}
	sc.endRun(admitOK)
	bs.run.release()
	*bs = batchState{}
	return act
}

// endRun queues and ends the run of stream messages being gathered, if
// any; r is a verdict already met (admitOK: the run ends at a frame of
// another kind or stream, or the batch's end). A refused message ends its
// stream exactly as serverStream.onFrame does; the batch's later
// messages for that stream start a new run that the ended queue refuses
// or drops.
func (sc *serverConn) endRun(r admitResult) {
	bs := &sc.bat
	if bs.run.q == nil {
		return
	}
	if res := bs.run.end(); r == admitOK {
		r = res
	}
	ss := bs.runSS
	bs.runSS = nil
	ss.refused(r)
}
