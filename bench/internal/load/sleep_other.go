//go:build !linux

package load

import "time"

// sleepPrecise sleeps for about d (time.Sleep outside Linux).
func sleepPrecise(d time.Duration) { time.Sleep(d) }
