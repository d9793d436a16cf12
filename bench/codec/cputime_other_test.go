//go:build !linux

package codec

import "testing"

type cpuClock struct{}

func startCPU() cpuClock { return cpuClock{} }

func (c cpuClock) stop(b *testing.B) {}
