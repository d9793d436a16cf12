// Package socketbench measures the socket package against a minimal Go TCP
// echo (the rawsys server: length-prefixed frames, writes coalesced until
// the read buffer runs dry) in the same process and the same run, on
// loopback, with 16-byte messages:
//
//   - pipelined echo on one connection with 256 messages in flight:
//     messages per second (BenchmarkPipelinedEcho, TestReport);
//   - allocations per message on both sides over a million-message run,
//     counted with runtime.MemStats.Mallocs (TestPipelinedAllocs);
//   - one-in-flight round trip, p50/p99/p99.9 in an HDR histogram
//     (BenchmarkRoundTrip, TestReport);
//   - frames per write system call, from socket.Conn.Stats.
//
// The same pipelined loop drives a socket/rpc bidirectional stream echo
// (rpcstream.go; one connection, one stream, credit window 256 both ways):
// "rpc-stream" answers with Recv + Buffered + SendMany and sends each
// refill of the window with one ClientStream.SendMany, "rpc-stream-send"
// uses Send per message on both sides. The report prints their ratios to
// the socket echo and the minimal echo from the same run (issue 18's
// stream target is rpc-stream/protosocket).
//
// TestReport runs all of them and, with -args -report=FILE, writes the
// table as Markdown:
//
//	go test ./socketbench -run TestReport -v -count=1 -args -report=/tmp/psstatus/socket-bench.md
//
// The package has no API: it holds tests and benchmarks only.
package socketbench
