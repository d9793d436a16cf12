package socket_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

func TestEchoFramings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		network string
		framing frame.Framing
	}{
		{"tcp/default", "tcp", nil},
		{"tcp/varint", "tcp", frame.Varint},
		{"tcp/fixed32", "tcp", frame.Fixed32},
		{"tcp/lines", "tcp", frame.Lines},
		{"unix/default", "unix", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := socket.Options{Framing: tc.framing}
			addr := startServer(t, tc.network, echo, opts)
			col := newCollector(100)
			c, err := socket.Dial(context.Background(), tc.network, addr.String(), col, opts)
			require.NoError(t, err)
			s := c.NewSender(nil)
			for i := range 100 {
				require.NoError(t, s.Send(context.Background(), frame.Header{Stream: uint32(i)}, fmt.Appendf(nil, "msg %d", i)))
			}
			for i := range 100 {
				assert.Equal(t, fmt.Sprintf("msg %d", i), string(col.next(t)))
			}
			s.Close()
			require.NoError(t, c.Drain(context.Background()))
			assert.ErrorIs(t, c.Err(), socket.ErrClosed)
			st := c.Stats()
			assert.EqualValues(t, 100, st.FramesOut)
			assert.EqualValues(t, 100, st.FramesIn)
			assert.Positive(t, st.FramesPerWrite())
		})
	}
}
