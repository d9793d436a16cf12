package socket_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket"
)

// TestReplyBufferLargeByReference: a reactor answers each message with a
// small Reply, a large ReplyBuffer (by reference), a large Reply (copied
// once into a pooled buffer, then by reference) and a small ReplyBuffer
// (encoded like Reply's); the client gets all of them, intact and in
// order, and a ReplyBuffer over MaxFrameSize fails with ErrFrameTooLarge.
func TestReplyBufferLargeByReference(t *testing.T) {
	const large = 3 << 20
	tooLarge := make(chan error, 1)
	addr := startServer(t, "tcp", func(c *socket.Conn) socket.Reactor {
		return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
			n := binary.LittleEndian.Uint32(m.Payload)
			if err := c.Reply(frame.Header{Type: 1}, m.Payload[:4]); err != nil {
				return socket.Disconnect
			}
			big := pool.GetBuffer()
			big.B = append(big.B, bytes.Repeat([]byte{byte(n)}, large)...)
			if err := c.ReplyBuffer(frame.Header{Type: 2}, big); err != nil {
				return socket.Disconnect
			}
			if err := c.Reply(frame.Header{Type: 5}, bytes.Repeat([]byte{byte(n + 1)}, large)); err != nil {
				return socket.Disconnect
			}
			small := pool.GetBuffer()
			small.B = append(small.B, m.Payload[:4]...)
			if err := c.ReplyBuffer(frame.Header{Type: 3}, small); err != nil {
				return socket.Disconnect
			}
			if n == 0 {
				over := pool.GetBuffer()
				over.B = append(over.B, make([]byte, frame.DefaultMaxFrameSize+1)...)
				tooLarge <- c.ReplyBuffer(frame.Header{Type: 4}, over)
			}
			return socket.Continue
		})
	}, socket.Options{})
	type got struct {
		typ     uint32
		payload []byte
	}
	ch := make(chan got, 64)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := socket.Dial(ctx, "tcp", addr.String(), socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
		ch <- got{m.Header.Type, append([]byte(nil), m.Payload...)}
		return socket.Continue
	}), socket.Options{})
	require.NoError(t, err)
	defer c.Close()
	s := c.NewSender(nil)
	defer s.Close()
	const msgs = 8
	for i := range msgs {
		require.NoError(t, s.Send(ctx, frame.Header{}, binary.LittleEndian.AppendUint32(nil, uint32(i))))
	}
	for i := range msgs {
		for _, typ := range []uint32{1, 2, 5, 3} {
			select {
			case g := <-ch:
				require.Equal(t, typ, g.typ, "message %d", i)
				if typ == 2 || typ == 5 {
					fill := byte(i)
					if typ == 5 {
						fill++
					}
					require.Equal(t, large, len(g.payload))
					require.True(t, bytes.Equal(bytes.Repeat([]byte{fill}, large), g.payload), "large reply %d/%d intact", i, typ)
				} else {
					require.Equal(t, uint32(i), binary.LittleEndian.Uint32(g.payload))
				}
			case <-time.After(10 * time.Second): // each reply's own bound: ctx's 10 s is for the sends
				t.Fatalf("reply %d/%d missing", i, typ)
			}
		}
	}
	err = <-tooLarge
	assert.True(t, errors.Is(err, socket.ErrFrameTooLarge), "got %v", err)
}

// TestReplyOverSmallBatchBelowCopyThreshold: with a QueueBytes so small
// that a reply is over a batch's worth yet under CopyThreshold, Reply
// encodes it as usual (it must not hand it to ReplyBuffer, which would
// hand it back).
func TestReplyOverSmallBatchBelowCopyThreshold(t *testing.T) {
	opts := socket.Options{QueueBytes: 4096}
	addr := startServer(t, "tcp", echo, opts)
	col := newCollector(4)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := socket.Dial(ctx, "tcp", addr.String(), col, socket.Options{})
	require.NoError(t, err)
	defer c.Close()
	s := c.NewSender(nil)
	defer s.Close()
	p := bytes.Repeat([]byte("r"), 3000) // over QueueBytes/2, under CopyThreshold (16 KiB)
	require.NoError(t, s.Send(ctx, frame.Header{}, p))
	assert.Equal(t, p, col.next(t))
}
