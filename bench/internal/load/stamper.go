package load

import "time"

// stampEvery is the most messages of the closed-loop stream send loop
// that share one clock read: the deadline check and the send stamp are
// taken once per run of up to stampEvery sends that did not wait for the
// window, and again after every wait. With three reads per message
// (deadline, stamp, receive) runtime.nanotime was 15-21% of the CPU
// samples of rpcbench's bidi at 256 in flight (about 70 ns per message on
// the 2-core VM of bench/README, "Issue 18, third round"), on a send loop
// and a receive loop of one goroutine each; the raw echo ran 1.3-1.7x
// faster through this loop once the send side shared its reads.
const stampEvery = 32

// DefaultSharedStampMaxSend is Config.SharedStampMaxSend's default: the
// closed-loop stream send loop shares a stamp among up to stampEvery
// messages only while its Sends average at most 1 µs. A clock read costs
// 25-100 ns (about 70 ns per message in the profile stampEvery cites), a
// few percent of a 1 µs Send: above it a read per message is cheap next
// to the Send, and sharing would over-state latency by microseconds per
// message (grpc-go's SendMsg takes several µs here). Below it (protosocket,
// raw and socket append to a buffer in tens of ns) a shared stamp is at
// most 31 fast Sends old, under 31 µs by construction and in practice a
// few µs, while a read per message would be a large share of the Send.
const DefaultSharedStampMaxSend = time.Microsecond

// sendStamper is the one owner of the closed-loop stream send stamp: when
// the loop reads the clock, and which messages share a reading.
//
// It measures the Sends between two of its readings that no wait for the
// window separated (a burst) and decides from their average: slower than
// maxSend, every following message gets a reading of its own (per-message
// mode) until a later burst averages maxSend or less again; otherwise up
// to stampEvery messages share one reading. A stamp is never later than
// its message's Send, so latency can only be over-stated: in shared mode
// by at most stampEvery-1 Sends of a burst that followed a fast one (a
// Send that turns slow or blocks inside a shared burst, e.g. waiting for
// stream credit, is charged to the rest of that burst once; the loop then
// stamps per message); in per-message mode by one clock read. A system
// whose Sends are steadily slower than maxSend is stamped per message
// after its first burst. Every system runs through the same rule.
type sendStamper struct {
	clk      clock
	deadline int64
	maxSend  int64 // ns; a burst averaging more turns per-message mode on
	stamp    int64 // the current reading
	left     int   // messages that may still share stamp
	t0       int64 // the reading that began the current burst
	n        int   // Sends since t0 (none waited for the window)
	perMsg   bool  // per-message mode
}

func newSendStamper(clk clock, deadline int64, maxSend time.Duration) *sendStamper {
	if maxSend == 0 {
		maxSend = DefaultSharedStampMaxSend
	}
	// Negative: a reading per message from the first one (judge keeps it so).
	return &sendStamper{clk: clk, deadline: deadline, maxSend: int64(maxSend), perMsg: maxSend < 0}
}

// share is how many messages a reading serves in the current mode.
func (s *sendStamper) share() int {
	if s.perMsg {
		return 1
	}
	return stampEvery
}

// judge ends the burst at reading now and sets the mode from it.
func (s *sendStamper) judge(now int64) {
	s.perMsg = now-s.t0 > int64(s.n)*s.maxSend
	s.t0, s.n = now, 0
}

// next returns the stamp of the message about to be sent, reading the
// clock when the current reading is used up; ok is false once the
// reading is past the deadline.
func (s *sendStamper) next() (stamp int64, ok bool) {
	if s.left == 0 {
		now := s.clk.Now()
		if now >= s.deadline {
			return 0, false
		}
		s.stamp = now
		switch {
		case s.n == 0:
			s.t0 = now
		case s.n >= stampEvery:
			s.judge(now)
		}
		s.left = s.share()
	}
	s.left--
	s.n++
	return s.stamp, true
}

// beforeWait is called when the window is full for the message next
// stamped, before the loop flushes and waits: the burst so far (without
// that message, whose stamp afterWait renews) is judged here, since the
// reading after the wait would count the wait as Send time. A burst of
// one Send had a reading of its own and needs no judging (no extra read
// when every message waits).
func (s *sendStamper) beforeWait() {
	s.n--
	if s.n >= 2 {
		s.judge(s.clk.Now())
	}
}

// afterWait takes a fresh reading after a wait for the window (the old
// one is stale) and begins a new burst; ok is false past the deadline.
func (s *sendStamper) afterWait() (ok bool) {
	now := s.clk.Now()
	if now >= s.deadline {
		return false
	}
	s.stamp, s.t0, s.n, s.left = now, now, 0, s.share()
	return true
}
