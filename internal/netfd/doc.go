// Package netfd holds the raw file-descriptor code of the connection
// packages: the readiness peek, the non-blocking read, the accept-queue
// check, the listening-socket options (SO_REUSEPORT, the backlog) and the
// RawConn lookup. On unix systems they are system calls through
// golang.org/x/sys/unix; elsewhere
// (windows, plan9, wasm) Supported is false, RawConn returns nil and the
// callers take their portable path (a blocking io.Reader, net.Conn.Write),
// so every package builds on every target.
//
// It is internal: its only callers are socket, frame and socket/rpc (the
// accept-queue check of Server.Drain).
package netfd
