// Package spillway is a multi-producer, single-consumer queue built for the
// outbound path of a connection: many goroutines send, one writer goroutine
// drains everything that is ready in one call and writes it out at once.
//
// A Go channel takes one lock shared by every sender and hands the receiver
// one value per operation. Spillway gives every Sender its own lane (a small
// bounded buffer with its own mutex), so senders on different lanes never
// contend with each other, and the receiver takes a whole lane's batch with
// one lock (copying a few values out, or swapping a longer lane's buffer
// for a spare one).
//
// # Usage
//
//	tx, rx := spillway.New(spillway.Options[Msg]{})
//	go func() { // one goroutine per producer, each with its own clone
//		s := tx.Clone()
//		defer s.Close()
//		_ = s.Send(ctx, msg)
//	}()
//	tx.Close() // the original sender is a sender like any other
//	var batch []Msg
//	for {
//		var err error
//		batch, err = rx.RecvBatch(ctx, batch[:0])
//		if errors.Is(err, spillway.ErrDrained) { break } // every sender closed, queue empty
//		...
//	}
//
// # Ordering
//
// Values from one Sender are received in the order they were sent, and a
// SendBatch stays together: no other sender's values are interleaved inside
// it. There is no order between different Senders.
//
// # Lanes
//
// Each Sender (the one from New and every Clone) is assigned a lane
// round-robin over Options.Lanes lanes. When there are more senders than
// lanes, senders share lanes; that is correct but slower. A lane is
// allocated on the first send of a Sender assigned to it and freed once
// every Sender that sent on it is closed and the receiver has emptied it,
// so unused lanes cost one pointer each and a queue whose Senders have
// closed keeps no lane.
//
// # Capacity and weight
//
// Every lane holds at most Options.LaneCapacity values. With
// Options.MaxWeight and Options.Weight set, the total weight (for example
// bytes) of all values in the queue is bounded too. When the bound is reached
// Send blocks until the receiver makes room or its context ends, or with
// Options.FailWhenFull returns ErrFull at once.
//
// Lane room and weight are given back when the receiver takes values off a
// lane, which happens inside Recv, TryRecv, RecvBatch and TryRecvBatch
// before they return. RecvBatch and TryRecvBatch hand out every value they
// take, so their release is exact. Recv and TryRecv take every ready lane
// into the receiver's own buffer and then return one value per call, so the
// weight of values still in that buffer is already released before the
// caller has seen them (the buffer holds at most Lanes*LaneCapacity values).
//
// A producer can also fold a value into its lane's newest queued one
// instead of queuing another (Sender.Fold; Sender.TryFold is the same
// without waiting or a context, one lane lock and no weight traffic when
// there is no tail): socket batches small messages this way. A folded value counts against
// LaneCapacity and MaxWeight like a queued one until the receiver takes
// the lane. The other way round, Sender.SendCounted queues one value that
// stands for n (socket's SendBatch, a buffer of n framed messages): it
// counts as n against LaneCapacity.
//
// A producer that lent a value by reference (a buffer it owns) can take it
// back while the receiver has not taken it (Sender.Withdraw): its lane slot
// and weight go back, and the receiver never sees it.
//
// A sender waiting for weight sleeps on a one-token channel of its own,
// reused from wait to wait, so waiting allocates nothing once the queue
// has had as many waiters at once before.
//
// # Closing
//
// Closing every Sender makes the receive calls return ErrDrained (which also
// matches io.EOF with errors.Is) once everything sent has been received.
// Receiver.Close makes every later Send return ErrClosed and hands every value
// that was accepted but not yet received back to a caller-provided function,
// so a connection can fail those messages instead of losing them: each value
// whose Send returned nil is either returned by a receive call, handed back,
// or withdrawn by its Sender, exactly once.
//
// A Sender or Receiver that becomes unreachable without Close is closed by a
// runtime cleanup after a garbage collection (runtime.AddCleanup): a dropped
// Sender no longer keeps the receiver from draining, and a dropped Receiver
// makes Send return ErrClosed instead of blocking (its queued values are
// dropped, since nobody can receive them). This depends on the collector's
// timing; close explicitly.
//
// # Errors
//
// The package returns the sentinel errors ErrClosed, ErrSenderClosed, ErrFull,
// ErrBatchTooLarge and ErrDrained (compare with errors.Is), a *OptionError
// wrapping ErrInvalidOptions for bad Options, and the context's error
// (context.Canceled, context.DeadlineExceeded) when a blocking call's context
// ends.
//
// Spillway starts no goroutine of its own.
package spillway
