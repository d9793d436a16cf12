package spillway

// Withdraw takes back a value this Sender queued that no receive call has
// taken yet: the newest value in the Sender's lane for which match returns
// true. It removes it, gives its lane slot and its weight back, and
// reports true; the receiver will never see it. It reports false when no
// queued value matches: the value was never queued, or a receive call
// already took it (the receiver owns it now), or Receiver.Close handed it
// back. Withdraw never blocks on the receiver; it takes the lane's lock.
//
// match is called under the lane's lock, newest value first, and must not
// block or call into the queue. When Senders share a lane, match sees
// their values too.
//
// The weight given back is Options.Weight of the value as it is now, and
// the lane slot given back is one: match must select a value sent with
// Send (not SendCounted with n > 1) that Fold never folded into, whose
// slot and weight are exactly that. Other values of the lane may have
// taken folds (Withdraw does not look at them). Selecting a value that
// took folds leaves its extra slots counted until the receiver empties the
// lane: a transient loss of capacity, never of values.
func (s *Sender[T]) Withdraw(match func(v *T) bool) bool {
	st := s.st
	l := st.l.Load()
	if l == nil {
		return false
	}
	c := st.c
	l.mu.Lock()
	if l.dead || l.closed {
		l.mu.Unlock()
		return false
	}
	i := len(l.buf) - 1
	for ; i >= 0 && !match(&l.buf[i]); i-- {
	}
	if i < 0 {
		l.mu.Unlock()
		return false
	}
	var w int64
	if c.weigh != nil {
		w = min(max(c.weigh(l.buf[i]), 0), l.weight)
	}
	n := len(l.buf)
	copy(l.buf[i:], l.buf[i+1:])
	var zero T
	l.buf[n-1] = zero
	l.buf = l.buf[:n-1]
	l.weight -= w
	// Senders waiting for room in this lane look again. The lane's ready
	// bit stays set; the receiver finds the lane (maybe) empty, which it
	// handles.
	ch := l.notFull
	l.notFull = nil
	l.mu.Unlock()
	if ch != nil {
		close(ch)
	}
	c.release(w)
	return true
}
