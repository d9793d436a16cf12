package health

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/protosocket-go/protosocket/socket/rpc"
)

// Defaults of KeepAlive.
const (
	DefaultKeepAliveInterval = 15 * time.Second
	DefaultKeepAliveTimeout  = 5 * time.Second
)

// KeepAlive pings c every interval (zero means DefaultKeepAliveInterval)
// and closes c when a ping is not answered within timeout (zero means
// DefaultKeepAliveTimeout): calls pending on a dead connection then fail
// with rpc.ErrClosed instead of waiting for their deadlines, and a
// connection kept by pings is not idle for a server's IdleTimeout. It is
// for a bare rpc.Client; balance.Pool pings its own connections. The
// returned stop ends the pings and waits for the goroutine; it is also
// ended by c closing. Negative durations are treated as zero.
func KeepAlive(c *rpc.Client, interval, timeout time.Duration) (stop func()) {
	if interval <= 0 {
		interval = DefaultKeepAliveInterval
	}
	if timeout <= 0 {
		timeout = DefaultKeepAliveTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.Closed():
				return
			case <-t.C:
			}
			if err := ping(ctx, c, timeout); err != nil && ctx.Err() == nil {
				_ = c.Close()
				return
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}

// ping sends one ping on c and waits up to timeout for its answer. A
// client whose call slots are all taken is busy, not dead: no ping then.
func ping(ctx context.Context, c *rpc.Client, timeout time.Duration) error {
	k, err := c.NewCaller()
	if errors.Is(err, rpc.ErrTooManyCalls) {
		return nil
	}
	if err != nil {
		return err
	}
	defer k.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return k.Ping(ctx)
}
