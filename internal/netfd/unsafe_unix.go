//go:build unix

package netfd

// This is the only file of package netfd that uses unsafe: the raw
// MSG_PEEK of PeekByte.

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// PeekByte is recv(fd, b, 1, MSG_PEEK|MSG_DONTWAIT) as a raw system call:
// it reports whether a socket has data (0), would block (EAGAIN), or has
// an error, without consuming anything. unix.Recvfrom would do, but it
// allocates a socket address on every call; this passes none. b must
// point into heap memory the caller owns (see Peek); the kernel writes one
// byte there during the call. Peek is the same with the errno classified;
// frame.Reader calls this one, as it keeps the raw errno.
func PeekByte(fd uintptr, b *byte) syscall.Errno {
	_, _, errno := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(b)), 1,
		unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
	return errno
}
