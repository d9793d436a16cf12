//go:build !linux

package load

import "time"

// runQueueWait is unknown outside Linux (see runqueue_linux.go).
func runQueueWait() (time.Duration, bool) { return 0, false }
