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
// The weight given back is Options.Weight of the value as it is now. A
// lane into which Fold folded values since the receiver last emptied it
// withdraws nothing (it reports false): the weight of a value that took
// folds is not known. Values folded into by Fold are rare in a lane whose
// Sender withdraws; a caller that gets false waits for the receiver as it
// would for any value it could not withdraw.
func (s *Sender[T]) Withdraw(match func(v *T) bool) bool {
	st := s.st
	l := st.l.Load()
	if l == nil {
		return false
	}
	c := st.c
	l.mu.Lock()
	if l.dead || l.closed || l.folded > 0 {
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
