//go:build unix

package rpc_test

import "syscall"

// processCPU returns the process's user plus system CPU time so far, in
// nanoseconds (client and server both run in it).
func processCPU() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
