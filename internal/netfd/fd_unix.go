//go:build unix

package netfd

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Supported reports whether this platform has the raw paths (non-blocking
// read, peek, writev).
const Supported = true

// Read is one read(2) on the non-blocking socket fd into p, retried on
// EINTR. It returns n > 0 and nil, or 0 and io.EOF (the peer closed its
// side), ErrAgain (nothing to read now) or an *os.SyscallError.
func Read(fd uintptr, p []byte) (int, error) {
	for {
		n, err := unix.Read(int(fd), p)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, ErrAgain
		case err != nil:
			return 0, os.NewSyscallError("read", err)
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Peek reports, without consuming anything, whether the socket fd would
// block (ErrAgain), or has data, EOF or a pending error (nil: the next Read
// finds it), or failed (an *os.SyscallError). EINTR is retried. b is the
// one-byte buffer the kernel writes into: a field of a heap object the
// caller owns (a stack variable would escape and allocate per call).
func Peek(fd uintptr, b *byte) error {
	for {
		switch errno := PeekByte(fd, b); errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return ErrAgain
		default:
			return os.NewSyscallError("read", errno)
		}
	}
}

// SetReusePort sets SO_REUSEPORT on the socket fd (before bind).
func SetReusePort(fd uintptr) error {
	return unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
}

// Listen calls listen(2) again on a listening socket: Linux and the BSDs
// then take the new backlog.
func Listen(fd uintptr, backlog int) error { return unix.Listen(int(fd), backlog) }

// Readable reports, without waiting, whether fd is readable: for a
// listening socket, whether a connection waits in its accept queue.
// EINTR is retried.
func Readable(fd uintptr) (bool, error) {
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, os.NewSyscallError("poll", err)
		}
		return n > 0 && fds[0].Revents&unix.POLLIN != 0, nil
	}
}
