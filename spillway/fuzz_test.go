package spillway

import (
	"context"
	"errors"
	"testing"
)

// Operations of FuzzOps, one byte of opcode and one byte of argument each.
const (
	opSend byte = iota
	opSendBatch
	opClone
	opCloseSender
	opTryRecv
	opRecvBatch
	opCloseReceiver
	opRecv
	numOps
)

type fuzzItem struct {
	sender, seq int
	w           int64
}

type fuzzOp struct{ op, arg byte }

// encodeOps is the encoder the fuzz seeds come from: two header bytes
// (lanes, capacity, FailWhenFull, weight flag; MaxWeight) and then two bytes
// per operation.
func encodeOps(lanes, laneCap int, fail, weighted bool, maxWeight byte, ops []fuzzOp) []byte {
	h := byte(lanes-1)&3 | byte(laneCap-1)&7<<2
	if fail {
		h |= 1 << 5
	}
	if weighted {
		h |= 1 << 6
	}
	out := []byte{h, maxWeight}
	for _, o := range ops {
		out = append(out, o.op, o.arg)
	}
	return out
}

// fuzzModel predicts what the queue must do. The receiver takes every
// non-empty lane whenever it drains, so occupancy and weight are exact.
type fuzzModel struct {
	lanes    [][]fuzzItem // values per lane, oldest first
	pending  []fuzzItem   // taken by Recv/TryRecv, not yet returned
	weight   int64
	live     int
	closed   bool
	accepted []int // per sender: values 0..accepted-1 were accepted
	next     []int // per sender: next seq expected out of the queue
}

func (m *fuzzModel) queued() int {
	n := len(m.pending)
	for _, l := range m.lanes {
		n += len(l)
	}
	return n
}

func (m *fuzzModel) drainLanes() []fuzzItem {
	var out []fuzzItem
	for i := range m.lanes {
		out = append(out, m.lanes[i]...)
		m.lanes[i] = nil
	}
	m.weight = 0
	return out
}

func (m *fuzzModel) take(t *testing.T, got []fuzzItem) {
	t.Helper()
	for _, v := range got {
		if v.seq != m.next[v.sender] {
			t.Fatalf("sender %d: got seq %d, want %d (lost, duplicated or reordered)", v.sender, v.seq, m.next[v.sender])
		}
		m.next[v.sender]++
	}
}

func FuzzOps(f *testing.F) {
	seeds := [][]byte{
		encodeOps(1, 4, false, false, 0, []fuzzOp{{opSend, 0}, {opSend, 0}, {opRecvBatch, 0}, {opCloseSender, 0}, {opRecvBatch, 0}}),
		encodeOps(2, 2, true, false, 0, []fuzzOp{{opClone, 0}, {opClone, 1}, {opSend, 0}, {opSend, 1}, {opSend, 2}, {opSend, 0}, {opSend, 0}, {opTryRecv, 0}, {opSend, 0}, {opCloseReceiver, 0}, {opSend, 1}}),
		encodeOps(3, 8, false, true, 9, []fuzzOp{{opClone, 0}, {opSendBatch, 4}, {opSend, 7}, {opSend, 1}, {opRecv, 0}, {opSendBatch, 0}, {opRecvBatch, 0}, {opCloseSender, 0}, {opCloseSender, 1}, {opRecv, 0}}),
		encodeOps(4, 1, true, true, 3, []fuzzOp{{opClone, 0}, {opClone, 0}, {opClone, 0}, {opClone, 0}, {opSend, 2}, {opSend, 3}, {opSendBatch, 1}, {opTryRecv, 0}, {opCloseSender, 2}, {opSend, 2}, {opCloseReceiver, 0}, {opClone, 1}}),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		h, mw := data[0], data[1]
		data = data[2:]
		opts := Options[fuzzItem]{
			Lanes:        1 + int(h&3),
			LaneCapacity: 1 + int(h>>2&7),
			FailWhenFull: h>>5&1 == 1,
		}
		if h>>6&1 == 1 {
			opts.MaxWeight = 1 + int64(mw%16)
			opts.Weight = func(v fuzzItem) int64 { return v.w }
		}
		canceled, cancel := context.WithCancel(context.Background())
		cancel()
		full := context.Canceled // what a send that would wait returns
		if opts.FailWhenFull {
			full = ErrFull
		}

		tx, rx := New(opts)
		senders := []*Sender[fuzzItem]{tx}
		senderLane := []int{0}
		senderOpen := []bool{true}
		lanesUsed := 1
		m := &fuzzModel{lanes: make([][]fuzzItem, opts.Lanes), live: 1, accepted: []int{0}, next: []int{0}}
		var handed []fuzzItem
		handback := func(v fuzzItem) { handed = append(handed, v) }

		send := func(k int, vs []fuzzItem, batch bool) {
			var err error
			if batch {
				err = senders[k].SendBatch(canceled, vs)
			} else {
				err = senders[k].Send(canceled, vs[0])
			}
			var w int64
			for _, v := range vs {
				w += max(v.w, 0)
			}
			if opts.MaxWeight == 0 {
				w = 0
			}
			l := senderLane[k]
			var want error
			switch {
			case !senderOpen[k]:
				want = ErrSenderClosed
			case batch && len(vs) > opts.LaneCapacity:
				want = ErrBatchTooLarge
			case w > 0 && m.weight > 0 && m.weight+w > opts.MaxWeight:
				want = full
				if m.closed {
					want = ErrClosed
				}
			case m.closed:
				want = ErrClosed
			case len(m.lanes[l])+len(vs) > opts.LaneCapacity:
				want = full
			}
			if !errors.Is(err, want) || (want == nil) != (err == nil) {
				t.Fatalf("sender %d send %d values: got %v, want %v", k, len(vs), err, want)
			}
			if err == nil {
				m.lanes[l] = append(m.lanes[l], vs...)
				m.weight += w
				m.accepted[k] += len(vs)
			}
		}

		for i := 0; i+1 < len(data); i += 2 {
			op, arg := data[i]%numOps, data[i+1]
			k := int(arg) % len(senders)
			switch op {
			case opSend:
				send(k, []fuzzItem{{k, m.accepted[k], int64(arg % 7)}}, false)
			case opSendBatch:
				n := int(arg % 10)
				vs := make([]fuzzItem, n)
				for j := range vs {
					vs[j] = fuzzItem{k, m.accepted[k] + j, int64(j % 3)}
				}
				if n == 0 {
					if err := senders[k].SendBatch(canceled, nil); (err != nil) == senderOpen[k] {
						t.Fatalf("empty batch: %v", err)
					}
					continue
				}
				send(k, vs, true)
			case opClone:
				c := senders[k].Clone()
				open := senderOpen[k] && m.live > 0
				senders = append(senders, c)
				senderOpen = append(senderOpen, open)
				m.accepted = append(m.accepted, 0)
				m.next = append(m.next, 0)
				if open {
					m.live++
					senderLane = append(senderLane, lanesUsed%opts.Lanes)
					lanesUsed++
				} else {
					senderLane = append(senderLane, senderLane[k])
				}
			case opCloseSender:
				senders[k].Close()
				if senderOpen[k] {
					senderOpen[k] = false
					m.live--
				}
			case opTryRecv, opRecv:
				var v fuzzItem
				var err error
				ok := false
				if op == opTryRecv {
					v, ok = rx.TryRecv()
				} else {
					v, err = rx.Recv(canceled)
					ok = err == nil
				}
				if !m.closed && len(m.pending) == 0 {
					m.pending = m.drainLanes()
				}
				switch {
				case m.closed || len(m.pending) == 0:
					if ok {
						t.Fatalf("received %+v from an empty or closed queue", v)
					}
					if op == opRecv {
						want := context.Canceled
						if m.closed {
							want = ErrClosed
						} else if m.live == 0 {
							want = ErrDrained
						}
						if !errors.Is(err, want) {
							t.Fatalf("Recv: got %v, want %v", err, want)
						}
					}
				default:
					if !ok || v != m.pending[0] {
						t.Fatalf("Recv: got %+v %v %v, want %+v", v, ok, err, m.pending[0])
					}
					m.take(t, []fuzzItem{v})
					m.pending = m.pending[1:]
				}
			case opRecvBatch:
				var got []fuzzItem
				var err error
				if arg&1 == 0 {
					got, err = rx.RecvBatch(canceled, nil)
				} else {
					got, err = rx.TryRecvBatch(nil)
				}
				var want []fuzzItem
				if !m.closed {
					want = append(m.pending, m.drainLanes()...)
					m.pending = nil
				}
				if len(got) != len(want) {
					t.Fatalf("RecvBatch: got %d values, want %d", len(got), len(want))
				}
				m.take(t, got)
				var wantErr error
				switch {
				case m.closed:
					wantErr = ErrClosed
				case len(want) > 0:
				case m.live == 0:
					wantErr = ErrDrained
				case arg&1 == 0:
					wantErr = context.Canceled
				}
				if !errors.Is(err, wantErr) || (wantErr == nil) != (err == nil) {
					t.Fatalf("RecvBatch: got error %v, want %v", err, wantErr)
				}
			case opCloseReceiver:
				before := len(handed)
				rx.Close(handback)
				if n := len(handed) - before; n != m.queued() {
					t.Fatalf("Close handed back %d values, want %d", n, m.queued())
				}
				m.take(t, handed[before:])
				m.pending = nil
				m.drainLanes()
				m.closed = true
			}
		}
		before := len(handed)
		rx.Close(handback)
		if m.closed && len(handed) != before {
			t.Fatalf("second Close handed back %d values", len(handed)-before)
		}
		m.take(t, handed[before:])
		for k := range senders {
			senders[k].Close()
			if m.next[k] != m.accepted[k] {
				t.Fatalf("sender %d: %d values accepted, %d came out", k, m.accepted[k], m.next[k])
			}
		}
	})
}
