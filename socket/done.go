package socket

// The connection's end signal: Conn.Closed's channel, made only when
// someone asks for it. Most idle connections are never asked (Close and
// Drain ask when they wait), and each saves the channel's allocation
// (about 100 bytes: TestIdleMemoryPerConn). qmu guards c.done: nil until
// asked for or finished, closedDone once finished.

// closedDone is c.done once the connection finished.
var closedDone = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// Closed returns a channel that is closed once the connection is closed and
// its goroutines have stopped.
func (c *Conn) Closed() <-chan struct{} {
	c.qmu.Lock()
	if c.done == nil {
		c.done = make(chan struct{})
	}
	ch := c.done
	c.qmu.Unlock()
	return ch
}

// isFinished reports whether finish signalled the end.
func (c *Conn) isFinished() bool {
	c.qmu.Lock()
	fin := c.done == closedDone
	c.qmu.Unlock()
	return fin
}

// signalDone closes the channel handed out by Closed, if any, and marks
// the connection finished; called once, by finish.
func (c *Conn) signalDone() {
	c.qmu.Lock()
	if c.done != nil {
		close(c.done)
	}
	c.done = closedDone
	c.qmu.Unlock()
}
