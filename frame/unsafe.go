//go:build unix

package frame

// This is the only file of package frame that uses unsafe: the raw writev
// system call over an iovec slice the Writer owns and reuses, so a Flush
// allocates nothing (unix.Writev builds a fresh iovec slice per call), and
// the pointer arithmetic that skips the written part of an iovec after a
// partial write. (The readiness peek is internal/netfd's PeekByte.)

import (
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
