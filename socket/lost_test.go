package socket_test

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// seqRecorder is a server reactor that records (sender, seq) payloads.
type seqRecorder struct {
	got  [][]uint32
	done chan struct{}
}

func (r *seqRecorder) OnMessage(c *socket.Conn, m socket.Message) socket.Action {
	id, seq := binary.LittleEndian.Uint32(m.Payload), binary.LittleEndian.Uint32(m.Payload[4:])
	r.got[id] = append(r.got[id], seq)
	return socket.Continue
}

func (r *seqRecorder) OnClose(*socket.Conn, error) { close(r.done) }

func TestNothingLost(t *testing.T) {
	const senders, perSender = 4, 20000
	for _, tc := range []struct {
		name  string
		drain bool
	}{{"close", false}, {"drain", true}} {
		for round := range 3 {
			rec := &seqRecorder{got: make([][]uint32, senders), done: make(chan struct{})}
			addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor { return rec }, socket.Options{})
			nop := socket.ReactorFunc(func(*socket.Conn, socket.Message) socket.Action { return socket.Continue })
			c, err := socket.Dial(context.Background(), "tcp", addr.String(), nop, socket.Options{QueueMessages: 64})
			require.NoError(t, err)

			accepted := make([][]uint32, senders)
			failed := make([]map[uint32]int, senders)
			var mu sync.Mutex
			var sendErrs atomic.Int64
			var wg sync.WaitGroup
			for id := range senders {
				failed[id] = map[uint32]int{}
				s := c.NewSender(func(f socket.Failure) {
					assert.ErrorIs(t, f.Err, socket.ErrClosed)
					mu.Lock()
					failed[id][uint32(f.Header.Stream)]++
					mu.Unlock()
				})
				wg.Go(func() {
					defer s.Close()
					var p [8]byte
					for seq := range uint32(perSender) {
						binary.LittleEndian.PutUint32(p[:], uint32(id))
						binary.LittleEndian.PutUint32(p[4:], seq)
						if err := s.Send(context.Background(), frame.Header{Stream: seq}, p[:]); err != nil {
							assert.ErrorIs(t, err, socket.ErrClosed)
							sendErrs.Add(1)
							return
						}
						accepted[id] = append(accepted[id], seq)
					}
				})
			}
			time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond) // a random moment
			if tc.drain {
				require.NoError(t, c.Drain(context.Background()))
			} else {
				require.NoError(t, c.Close())
			}
			wg.Wait()
			<-rec.done

			var delivered, failures, total int
			for id := range senders {
				got := rec.got[id]
				// Delivered in order, exactly once, and a prefix of what
				// was accepted (TCP keeps order; a Sender's lane too).
				require.LessOrEqual(t, len(got), len(accepted[id]))
				if len(got) > 0 {
					assert.Equal(t, accepted[id][:len(got)], got, "sender %d", id)
				}
				for _, seq := range accepted[id][len(got):] {
					assert.Equal(t, 1, failed[id][seq], "sender %d seq %d neither delivered nor failed once", id, seq)
				}
				for seq, n := range failed[id] {
					assert.Equal(t, 1, n, "sender %d seq %d failed %d times", id, seq, n)
				}
				// Nothing else was reported: not a delivered message, not
				// a refused send (its error went to the caller).
				assert.Len(t, failed[id], len(accepted[id])-len(got), "sender %d: reports beyond the undelivered", id)
				delivered += len(got)
				failures += len(failed[id])
				total += len(accepted[id])
			}
			if tc.drain {
				assert.Zero(t, failures, "Drain wrote everything queued")
			}
			assert.Equal(t, c.Stats().Failed, uint64(failures))
			t.Logf("%s round %d: accepted %d, delivered %d, reported failed %d, sends refused %d",
				tc.name, round, total, delivered, failures, sendErrs.Load())
		}
	}
}
