// Package socketsys is the "socket" System of psbench: protosocket's
// socket layer (package socket) as a plain echo, with no RPC layer, for
// the Pipelined and Bidi scenarios (identical here: a socket connection
// has no streams). It puts the RPC stream (the "protosocket" system) next
// to the layer it runs on, through the same load loop:
//
//	psbench -scenario pipelined -concurrency 256 -systems protosocket,socket,raw
//
// prints protosocket/socket and protosocket/raw in one run.
//
// The server is the batch echo of bench/socketbench (a BatchReactor that
// answers every message of a read batch with Batch.Reply). Each stream has
// a connection of its own; its client sends through a socket.SendBatch
// (Send appends, Flush queues the batch with one lane lock) and its
// reactor copies every message of a read batch into the stream's receive
// queue under one lock, for Recv on the load loop's goroutine: one
// hand-off, as the RPC stream has.
//
// The connections outlive the load loop's phases (warm-up, rounds): each
// carries one stream at a time, and each stream has an epoch, sent in
// every message's Header.Stream and echoed back, so a reply of a phase
// that ended by its grace period is dropped when it arrives in the next
// one. A stream's Close releases a Send blocked on a full connection (a
// server that stopped reading) and closes only that stream, however late
// it comes (TestPhaseTimedOutOnStalledServer, TestLateCloseLeavesTheNextStream).
//
// Unary and ServerStream are not served (ErrUnsupported): the socket layer
// has no calls, and the unary comparison is the RPC layer's.
package socketsys
