package rpc

// ListenersOf returns how many listening sockets the Serve calls of s have
// registered: a test helper that starts Serve on a goroutine waits for it,
// so that a Drain or Close right after finds the listener (one run before
// Serve registers it leaves it to a Serve on a closed server, which
// closes it and so resets the dials queued in it).
func ListenersOf(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.listeners)
}

// WatchesOf returns how many context watches c's Callers hold
// (ctxwatch.go).
func WatchesOf(c *Client) int {
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	return len(c.watches)
}

// The error-body codec in rpc's Code, for the tests that speak the
// protocol byte by byte (the codec itself is internal/wire).
var (
	AppendErrorBody = appendErrorBody
	AppendError     = appendError
	ParseError      = parseError
)

// ParseErrorBody parses an error body sent without details.
func ParseErrorBody(b []byte) (Code, []byte, error) {
	c, msg, _, err := parseError(0, b)
	return c, msg, err
}

// StreamQueueHeld returns the messages st's receive queue holds and the
// pooled buffers it keeps (recvq.go).
func StreamQueueHeld(st *ClientStream) (msgs, pooled int) {
	q := &st.core.q
	q.mu.Lock()
	defer q.mu.Unlock()
	pooled = len(q.big) - q.bigR
	if q.sbuf != nil {
		pooled++
	}
	return q.n, pooled
}

// StreamHeldBytes returns the bytes st's receive queue holds: its byte
// queue's capacity and its large messages' buffers (recvq.go).
func StreamHeldBytes(st *ServerStream) int64 {
	q := &st.core.q
	q.mu.Lock()
	defer q.mu.Unlock()
	n := int64(cap(q.small))
	for _, b := range q.big[q.bigR:] {
		n += int64(cap(b.B))
	}
	return n
}

// StreamBudgetUsed returns the bytes s's connections count against
// MaxConnStreamBytes (budget.go, recvq.go).
func StreamBudgetUsed(s *Server) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for sc := range s.conns {
		n += sc.sbud.used.Load()
	}
	return n
}
