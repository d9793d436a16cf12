package rpc

import (
	"context"
	"io"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

// This file owns a stream's batched send (SendMany) and the receive
// queue's length (Buffered), the two halves of an echo that answers a
// run of messages at once: per message, framing and one credit take;
// per batch, one lane lock and one queue item (socket.SendBatch).

// sendMany queues msgs in order as stream messages: it takes as much of
// the peer's credit as it can at once, frames that many messages into
// one socket.SendBatch and queues them with one Send; with no credit
// left it first queues what it framed, then waits as send does. It
// returns how many messages were queued, msgs[:n]; on an error the rest
// were not, and the credit taken for them is given back.
func (s *streamCore) sendMany(ctx context.Context, msgs [][]byte) (int, error) {
	if s.sendClosed.Load() {
		return 0, ErrStreamClosed
	}
	b := s.snd.Batch()
	queued, granted := 0, 0 // messages queued on the lane; credit taken
	for i := 0; i < len(msgs); {
		if granted == i {
			k := s.tryCredit(len(msgs) - i)
			if k == 0 {
				// The peer grants only for messages it has: queue
				// what is framed before waiting.
				if n := b.Len(); n > 0 {
					if err := b.Send(ctx); err != nil {
						return s.sendManyFailed(&b, queued, granted, err)
					}
					queued += n
				}
				if err := s.waitCredit(ctx); err != nil {
					return queued, err
				}
				continue
			}
			granted += k
		}
		h := frame.Header{Kind: wire.KindStreamMessage, Stream: s.id, Type: s.method}
		err := b.Append(h, msgs[i])
		if err == socket.ErrBatchFull {
			n := b.Len()
			if err = b.Send(ctx); err == nil {
				queued += n
				err = b.Append(h, msgs[i])
			}
		}
		if err != nil {
			// msgs[i] cannot be sent: those before it go out, as
			// Send would have sent them one by one.
			if n := b.Len(); n > 0 {
				if err2 := b.Send(ctx); err2 == nil {
					queued += n
				}
			}
			return s.sendManyFailed(&b, queued, granted, err)
		}
		i++
	}
	n := b.Len()
	if err := b.Send(ctx); err != nil {
		return s.sendManyFailed(&b, queued, granted, err)
	}
	return queued + n, nil
}

// sendManyFailed drops what b holds, gives back the credit taken for
// messages not queued, and returns sendMany's result.
func (s *streamCore) sendManyFailed(b *socket.SendBatch, queued, granted int, err error) (int, error) {
	b.Reset()
	s.giveBack(granted - queued)
	return queued, streamErr(err)
}

// giveBack returns k credits taken for messages not sent, waking a
// sender that waits for credit (it may have found none because they were
// taken).
func (s *streamCore) giveBack(k int) {
	if k <= 0 {
		return
	}
	s.credit.Add(int64(k))
	select {
	case s.creditCh <- struct{}{}:
	default:
	}
}

// tryCredit takes up to want (> 0) credits without waiting: 0 when there
// are none or the stream has ended.
func (s *streamCore) tryCredit(want int) int {
	for !s.isEnded.Load() {
		c := s.credit.Load()
		if c <= 0 {
			return 0
		}
		k := min(c, int64(want))
		if s.credit.CompareAndSwap(c, c-k) {
			return int(k)
		}
	}
	return 0
}

// waitCredit waits until credit may have arrived (nil) or returns send's
// error for an ended stream or ctx.
func (s *streamCore) waitCredit(ctx context.Context) error {
	if s.isEnded.Load() {
		if err := s.endError(); err != io.EOF {
			return err
		}
		return ErrStreamClosed
	}
	select {
	case <-s.creditCh:
	case <-s.ended:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// buffered returns how many received messages recv returns without
// waiting.
func (s *streamCore) buffered() int {
	s.q.mu.Lock()
	n := s.q.n
	s.q.mu.Unlock()
	return n
}

// SendMany sends msgs to the client in order, as Send would one by one,
// with one lane lock and one queue item for as many as the client's
// credit allows at once (it waits for credit as Send does, after queuing
// what it has). It returns how many messages were queued; with an error
// the rest were not. msgs are copied: the caller may reuse them when it
// returns.
func (st *ServerStream) SendMany(msgs [][]byte) (int, error) {
	if !st.call.hdrSent.Load() {
		st.call.flushHeader(st.core.snd)
	}
	return st.core.sendMany(st.call, msgs)
}

// Buffered returns how many messages from the client Recv returns
// without waiting: a handler may take that many and answer them with one
// SendMany.
func (st *ServerStream) Buffered() int { return st.core.buffered() }

// SendMany sends msgs to the server in order, as Send would one by one,
// with one lane lock and one queue item for as many as the server's
// credit allows at once (see ServerStream.SendMany).
func (st *ClientStream) SendMany(msgs [][]byte) (int, error) {
	return st.core.sendMany(st.ctx, msgs)
}

// Buffered returns how many messages from the server Recv returns
// without waiting.
func (st *ClientStream) Buffered() int { return st.core.buffered() }
