package spillway

import (
	"context"
	"testing"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAllocsSteadyState(t *testing.T) {
	testenv.SkipIfRace(t)
	ctx := context.Background()
	type msg struct {
		p []byte
		n int
	}
	tests := []struct {
		name string
		opts Options[msg]
	}{
		{"default", Options[msg]{}},
		{"weighted", Options[msg]{MaxWeight: 1 << 20, Weight: func(m msg) int64 { return int64(len(m.p)) }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, rx := New(tt.opts)
			defer rx.Close(nil)
			defer tx.Close()
			senders := []*Sender[msg]{tx, tx.Clone(), tx.Clone()}
			for _, s := range senders[1:] {
				defer s.Close()
			}
			payload := make([]byte, 16)
			batch := []msg{{payload, 1}, {payload, 2}, {payload, 3}}
			dst := make([]msg, 0, 1024)
			round := func() {
				for _, s := range senders {
					for range 50 {
						_ = s.Send(ctx, msg{payload, 0})
					}
					_ = s.SendBatch(ctx, batch)
				}
				var err error
				dst, err = rx.RecvBatch(ctx, dst[:0])
				if err != nil || len(dst) != 3*53 {
					panic("unexpected receive")
				}
			}
			for range 5 { // warm up: lane buffers and the spare reach their size
				round()
			}
			assert.Zero(t, testing.AllocsPerRun(100, round), "allocs per round of 159 sends and one drain")

			// Single sends and single receives.
			require.NoError(t, tx.Send(ctx, msg{}))
			_, err := rx.Recv(ctx)
			require.NoError(t, err)
			assert.Zero(t, testing.AllocsPerRun(100, func() {
				_ = tx.Send(ctx, msg{payload, 0})
				_, _ = rx.TryRecv()
			}))
		})
	}
}

// A queue carrying one value at a time (a connection answering requests
// one by one) allocates nothing per value either: small takes are copied
// out and the lane keeps its one-slot buffer.
func TestAllocsOneAtATime(t *testing.T) {
	testenv.SkipIfRace(t)
	ctx := context.Background()
	tx, rx := New(Options[idleItem]{Lanes: 8, MaxWeight: 1 << 20, Weight: func(idleItem) int64 { return 64 }})
	defer rx.Close(nil)
	defer tx.Close()
	s := tx.Clone()
	defer s.Close()
	dst := make([]idleItem, 0, 16)
	round := func() {
		_ = s.Send(ctx, idleItem{n: 1})
		dst, _ = rx.TryRecvBatch(dst[:0])
		if len(dst) != 1 {
			panic("unexpected receive")
		}
	}
	round()
	assert.Zero(t, testing.AllocsPerRun(100, round))
	l := s.st.l.Load()
	assert.Equal(t, initialLaneBuf, cap(l.buf), "the lane kept its first buffer")
	assert.Nil(t, rx.c.spare, "no spare for a queue of single values")
}
