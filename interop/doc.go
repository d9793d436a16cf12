// Package interop proves the protobuf codec and the protosocket-rpc
// compatibility conventions against clients that are not Go: a Node.js
// client with protobufjs (node/client.js, encodeDelimited/decodeDelimited)
// and a Java client with Debian's protobuf-java (java/EchoClient.java,
// writeDelimitedTo/parseDelimitedFrom). The tests start the protoecho
// server (examples/protoecho/echo) on 127.0.0.1:0 and run each client as a
// subprocess with a timeout; the client checks unary, streaming and cancel
// answers and exits non-zero on a mismatch.
//
// setup.sh installs the peers' runtimes on a fresh Debian machine. Without
// them the tests skip, unless INTEROP=1 or CI=true is set: then they fail.
package interop
