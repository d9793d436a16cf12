package balance_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/balance"
)

// Refresh applies a Resolver change at once (Refresh is an hour here),
// and a removed address's connection drains: the call in flight on it
// finishes instead of failing with ErrClosed.
func TestRefreshAndRemovedAddressDrains(t *testing.T) {
	a := startServer(t, "a", "")
	b := startServer(t, "b", "")
	r := &switchable{addrs: []string{a.addr}}
	p, err := balance.New(context.Background(), r, balance.Options{ConnsPerAddr: 1, Refresh: time.Hour})
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.WaitReady(ctx10(t)))

	res := make(chan error, 1)
	go func() {
		got, err := p.Call(ctx10(t), 2, nil, nil) // blocks on a until released
		if err == nil && string(got) != "a" {
			err = errors.New("answered by " + string(got))
		}
		res <- err
	}()
	<-a.entered

	r.set([]string{b.addr})
	require.NoError(t, p.Refresh(ctx10(t)))
	assert.Equal(t, []string{b.addr}, p.Addrs(), "the change took effect at once")
	require.NoError(t, p.WaitReady(ctx10(t)))
	got, err := p.Call(ctx10(t), 1, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, "b", string(got), "new calls go to the new address")

	select {
	case err := <-res:
		t.Fatalf("the call on the removed address ended before its answer: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(a.release)
	require.NoError(t, <-res, "the call in flight on the removed address finished")

	require.NoError(t, p.Close())
	require.ErrorIs(t, p.Refresh(ctx10(t)), balance.ErrClosed)
}

// A removed address's connection is closed after DrainTimeout at the
// latest.
func TestRemovedAddressDrainTimeout(t *testing.T) {
	a := startServer(t, "a", "")
	r := &switchable{addrs: []string{a.addr}}
	p, err := balance.New(context.Background(), r, balance.Options{ConnsPerAddr: 1, Refresh: time.Hour, DrainTimeout: 50 * time.Millisecond})
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.WaitReady(ctx10(t)))
	res := make(chan error, 1)
	go func() { _, err := p.Call(ctx10(t), 2, nil, nil); res <- err }()
	<-a.entered
	r.set(nil)
	require.NoError(t, p.Refresh(ctx10(t)))
	select {
	case err := <-res:
		require.ErrorIs(t, err, rpc.ErrClosed, "closed after the drain timeout: may have run")
	case <-time.After(10 * time.Second):
		t.Fatal("the removed connection was never closed")
	}
}

// A keepalive tick that finds every call slot busy (ErrTooManyCalls)
// keeps the connection: busy is not dead.
func TestKeepAliveBusyIsNotDead(t *testing.T) {
	a := startServer(t, "a", "")
	p := newPool(t, []string{a.addr}, balance.Options{ConnsPerAddr: 1, KeepAlive: 5 * time.Millisecond,
		Client: rpc.ClientOptions{MaxInFlight: 1}})
	res := make(chan error, 1)
	go func() { _, err := p.Call(ctx10(t), 2, nil, nil); res <- err }()
	<-a.entered
	time.Sleep(100 * time.Millisecond) // about 20 keepalive ticks with the only slot taken
	close(a.release)
	require.NoError(t, <-res, "the busy connection was not dropped")
	assert.Equal(t, uint64(1), p.Dials(), "no redial")
}

func TestDrainTimeoutValidate(t *testing.T) {
	require.ErrorIs(t, balance.Options{DrainTimeout: -1}.Validate(), balance.ErrInvalidOptions)
}
