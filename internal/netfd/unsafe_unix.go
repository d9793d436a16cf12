//go:build unix

package netfd

// This is the only file of package netfd that uses unsafe: the raw
// MSG_PEEK of peekByte.

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// peekByte is recv(fd, b, 1, MSG_PEEK|MSG_DONTWAIT) as a raw system call.
// unix.Recvfrom would do, but it allocates a socket address on every call;
// this passes none. The kernel writes one byte at b during the call.
func peekByte(fd uintptr, b *byte) syscall.Errno {
	_, _, errno := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(b)), 1,
		unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
	return errno
}
