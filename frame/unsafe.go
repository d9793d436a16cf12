//go:build unix

package frame

// This is the only file of package frame that uses unsafe: the raw writev
// system call over an iovec slice the Writer owns and reuses, so a Flush
// allocates nothing (unix.Writev builds a fresh iovec slice per call), and
// the pointer arithmetic that skips the written part of an iovec after a
// partial write, and the raw MSG_PEEK of PeekByte.

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// writev writes the non-empty iovecs iov (len(iov) <= iovMax) to fd. The
// buffers they point at are kept alive by the Writer's iov slice for the
// duration of the call.
func writev(fd int, iov []iovec) (int, unix.Errno) {
	n, _, errno := unix.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	return int(n), errno
}

// advance drops the first n bytes (0 < n < v.Len) of v.
func advance(v *iovec, n int) {
	v.Base = (*byte)(unsafe.Add(unsafe.Pointer(v.Base), n))
	v.SetLen(int(v.Len) - n)
}

// PeekByte is recv(fd, b, 1, MSG_PEEK|MSG_DONTWAIT) as a raw system call:
// it reports whether a socket has data (0), would block (EAGAIN), or has
// an error, without consuming anything. unix.Recvfrom would do, but it
// allocates a socket address on every call; this passes none. b must
// point into heap memory the caller owns (not a stack variable, which
// would escape and allocate per call); the kernel writes one byte there
// during the call. It is the one implementation, shared by frame.Reader
// and package socket's readiness waits.
func PeekByte(fd uintptr, b *byte) syscall.Errno {
	_, _, errno := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(b)), 1,
		unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
	return errno
}
