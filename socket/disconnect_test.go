package socket_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// TestReplyThenDisconnectAllWritten is the regression test for replies lost when a
// reactor calls Reply and then returns Disconnect: every reply queued
// before Disconnect is written before the connection closes.
func TestReplyThenDisconnectAllWritten(t *testing.T) {
	scfg, ccfg := tlsConfigs(t)
	tests := []struct {
		name    string
		network string
		replies int // replies to the "bye" message before Disconnect
		server  socket.Options
		client  socket.Options
	}{
		{"tcp one reply", "tcp", 1, socket.Options{}, socket.Options{}},
		{"tcp many replies", "tcp", 3000, socket.Options{QueueMessages: 64}, socket.Options{}},
		{"unix one reply", "unix", 1, socket.Options{}, socket.Options{}},
		{"tls one reply", "tcp", 1, socket.Options{TLS: scfg}, socket.Options{TLS: ccfg}},
		{"tls many replies", "tcp", 3000, socket.Options{TLS: scfg, QueueMessages: 64}, socket.Options{TLS: ccfg}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			failures := make(chan socket.Failure, tt.replies)
			opts := tt.server
			opts.OnSendFailure = func(f socket.Failure) { failures <- f }
			addr := startServer(t, tt.network, func(*socket.Conn) socket.Reactor {
				return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
					for i := range tt.replies {
						if err := c.Reply(frame.Header{Stream: uint32(i)}, fmt.Appendf(nil, "bye %d", i)); err != nil {
							t.Errorf("Reply: %v", err)
						}
					}
					return socket.Disconnect
				})
			}, opts)
			col := newCollector(tt.replies)
			target := addr.String()
			c, err := socket.Dial(context.Background(), tt.network, target, col, tt.client)
			require.NoError(t, err)
			_, isTLS := c.NetConn().(*tls.Conn)
			require.Equal(t, tt.client.TLS != nil, isTLS)
			s := c.NewSender(nil)
			require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte("hi")))
			s.Close()
			for i := range tt.replies {
				require.Equal(t, fmt.Sprintf("bye %d", i), string(col.next(t)), "reply %d", i)
			}
			assert.ErrorIs(t, waitClosed(t, c), socket.ErrClosed)
			assert.Empty(t, failures, "no reply was reported failed")
		})
	}
}
