package load

import "time"

// DefaultOpenLoopMaxHold is Config.OpenLoopMaxHold's default. The systems
// that coalesce Sends until Flush (protosocket through rpcbench, raw's
// bufio.Writer, socket's SendBatch) get a Flush from the open-loop stream
// send loop before it sleeps for the next scheduled send; behind
// schedule it does not sleep, and before this bound a message could wait
// unsent for up to 255 later Sends (rpcbench's own limit) or a full
// window, its latency counted from its scheduled time. 2 µs is a few
// flushes' worth of appends and far below the open-loop latencies
// psbench reports (tens of µs and up), while still coalescing: appending
// a 16 B message costs tens of ns in those systems, so a flush behind
// schedule carries tens of messages. grpc-go sends in SendMsg and is not
// affected. The same bound holds for every system: a message waits for a
// Flush at most this long plus one Send.
const DefaultOpenLoopMaxHold = 2 * time.Microsecond

// openLoopMaxHold is d, or the default when d is zero; negative d
// flushes before every send.
func openLoopMaxHold(d time.Duration) int64 {
	switch {
	case d == 0:
		return int64(DefaultOpenLoopMaxHold)
	case d < 0:
		return 0
	}
	return int64(d)
}
