package netfd

import (
	"errors"
	"syscall"
)

// ErrAgain is Read's and Peek's result when the socket has nothing to read
// now (EAGAIN): the caller waits for readability.
var ErrAgain = errors.New("netfd: would block")

// ErrUnsupported is returned by the socket options this platform lacks.
var ErrUnsupported = errors.ErrUnsupported

// RawConn returns the RawConn of x when it has a file descriptor (TCP,
// Unix and UDP connections, os.File) and this platform has the raw paths
// (Supported), else nil.
func RawConn(x any) syscall.RawConn {
	if !Supported {
		return nil
	}
	sc, ok := x.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}
