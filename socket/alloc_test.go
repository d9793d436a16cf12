package socket_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket"
)

// signal is a client reactor that reports each message on a channel,
// without allocating.
type signal chan struct{}

func (s signal) OnMessage(*socket.Conn, socket.Message) socket.Action {
	s <- struct{}{}
	return socket.Continue
}

type appendEnc []byte

func (e *appendEnc) AppendPayload(dst []byte) ([]byte, error) { return append(dst, *e...), nil }

func TestAllocsPerMessage(t *testing.T) {
	testenv.SkipIfRace(t)
	if pool.Debug {
		t.Skip("psdebug never reuses slabs")
	}
	addr := startServer(t, "tcp", echo, socket.Options{})
	got := make(signal, 64)
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), got, socket.Options{})
	require.NoError(t, err)
	defer c.Close()
	s := c.NewSender(nil)
	defer s.Close()
	ctx := context.Background()
	payload := []byte("0123456789abcdef")
	enc := appendEnc(payload)
	for _, tc := range []struct {
		name string
		send func() error
	}{
		{"Send", func() error { return s.Send(ctx, frame.Header{Stream: 7}, payload) }},
		{"SendBuffer", func() error {
			b := pool.GetBuffer()
			b.B = append(b.B, payload...)
			return s.SendBuffer(ctx, frame.Header{Stream: 7}, b)
		}},
		{"SendEncoder", func() error { return s.SendEncoder(ctx, frame.Header{Stream: 7}, &enc) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One round trip: client send + write, server read + reply +
			// write, client read.
			roundTrip := func() {
				require.NoError(t, tc.send())
				<-got
			}
			for range 200 {
				roundTrip()
			}
			assert.Zero(t, testing.AllocsPerRun(500, roundTrip))
			// A pipelined batch of 32.
			batch := func() {
				for range 32 {
					require.NoError(t, tc.send())
				}
				for range 32 {
					<-got
				}
			}
			batch()
			assert.Zero(t, testing.AllocsPerRun(100, batch)/32)
		})
	}
}
