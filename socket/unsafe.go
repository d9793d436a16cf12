package socket

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// peekByte is recv(fd, buf, 1, MSG_PEEK|MSG_DONTWAIT) as a raw system
// call. unix.Recvfrom would do, but it allocates a sockaddr on every call
// (two heap objects per wait for readability); this passes no address.
// buf points into the Conn (heap), never the stack, and is only read by
// the kernel during the call.
func peekByte(fd uintptr, buf *byte) unix.Errno {
	_, _, errno := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(buf)), 1,
		unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
	return errno
}
