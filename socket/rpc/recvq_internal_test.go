package rpc

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRecvQueueBudgetSlack: the connection's budget counts every byte
// queued, plus less than releaseBytes per stream of bytes already read;
// a waiting receiver and a dropped queue hold none. Messages come out in
// order, small (inline) and large (own buffer) mixed.
func TestRecvQueueBudgetSlack(t *testing.T) {
	const window = 64
	rb := &recvBudget{limit: 1 << 30}
	var q recvQueue
	q.init()
	q.rb = rb
	rnd := rand.New(rand.NewPCG(1, 2))
	var want [][]byte
	var queued int64
	var dst []byte
	for step := range 20000 {
		if len(want) < window && rnd.IntN(2) == 0 {
			n := rnd.IntN(3 * inlineMax)
			if rnd.IntN(8) == 0 {
				n = inlineMax + rnd.IntN(40<<10)
			}
			p := bytes.Repeat([]byte{byte(step)}, n)
			require.Equal(t, admitOK, q.push(p, window))
			want = append(want, p)
			queued += int64(n)
		} else if len(want) > 0 {
			q.mu.Lock()
			dst = q.popLocked(dst[:0])
			q.mu.Unlock()
			require.Equal(t, want[0], dst, "step %d", step)
			queued -= int64(len(want[0]))
			want = want[1:]
		}
		used := rb.used.Load()
		require.GreaterOrEqual(t, used, queued, "never under-counts (step %d)", step)
		require.Less(t, used-queued, int64(releaseBytes), "over-counts by less than releaseBytes (step %d)", step)
	}
	require.Equal(t, admitOverCredit, func() admitResult {
		for range window + 1 {
			if r := q.push([]byte("x"), window); r != admitOK {
				return r
			}
		}
		return admitOK
	}(), "the window bounds the messages queued")
	q.drop()
	assert.Zero(t, rb.used.Load(), "a dropped queue gives every byte back")
	assert.Equal(t, admitOK, q.push([]byte("late"), window), "after drop: discarded")
	assert.Zero(t, rb.used.Load(), "after drop nothing is counted")
}

// TestRecvQueueOverBudget: a message that would pass the limit is refused
// and not counted.
func TestRecvQueueOverBudget(t *testing.T) {
	rb := &recvBudget{limit: 10 << 10}
	var q recvQueue
	q.init()
	q.rb = rb
	require.Equal(t, admitOK, q.push(make([]byte, 6<<10), 64))
	require.Equal(t, admitOverBudget, q.push(make([]byte, 5<<10), 64))
	assert.Equal(t, int64(6<<10), rb.used.Load())
}

// TestRecvWaitingReleases: a receiver that waits for a message gives the
// bytes it read back first, so an idle stream holds only what is queued.
func TestRecvWaitingReleases(t *testing.T) {
	rb := &recvBudget{limit: 1 << 30}
	s := newCore(nil, 1, 1, 64)
	s.q.rb = rb
	for range 3 {
		require.Equal(t, admitOK, s.admit(make([]byte, 100)))
	}
	for range 3 {
		_, err := s.recv(context.Background(), nil)
		require.NoError(t, err)
	}
	assert.Equal(t, int64(300), rb.used.Load(), "read bytes are given back in batches")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := s.recv(ctx, nil)
	require.True(t, errors.Is(err, context.DeadlineExceeded))
	assert.Zero(t, rb.used.Load(), "a waiting receiver holds no slack")
	// A message pushed while it waits wakes it.
	go func() {
		time.Sleep(5 * time.Millisecond)
		s.admit([]byte("wake"))
	}()
	out, err := s.recv(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, "wake", string(out))
	s.closeRecv(errors.New("end"))
	_, err = s.recv(context.Background(), nil)
	assert.EqualError(t, err, "end")
}

// TestRecvQueueIdleKeepsLittle: once drained, a queue that held a burst
// of small messages keeps at most keepBytes of them; a dropped one none.
func TestRecvQueueIdleKeepsLittle(t *testing.T) {
	var q recvQueue
	q.init()
	for range 64 {
		require.Equal(t, admitOK, q.push(make([]byte, inlineMax), 64))
	}
	require.Greater(t, cap(q.small), 64*inlineMax)
	var dst []byte
	for range 64 {
		q.mu.Lock()
		dst = q.popLocked(dst[:0])
		q.mu.Unlock()
	}
	assert.LessOrEqual(t, cap(q.small), keepBytes, "an idle stream keeps at most keepBytes")
	require.Equal(t, admitOK, q.push([]byte("again"), 64))
	q.mu.Lock()
	dst = q.popLocked(dst[:0])
	q.mu.Unlock()
	assert.Equal(t, "again", string(dst))
	q.drop()
	assert.Nil(t, q.small)
}
