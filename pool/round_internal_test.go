package pool

import "testing"

func TestRoundQuarter(t *testing.T) {
	for _, tt := range []struct{ n, want int }{
		{256 << 10, 256 << 10},
		{256<<10 + 1, 320 << 10},
		{1 << 20, 1 << 20},
		{1<<20 + 8, 5 << 18},
		{3 << 20, 3 << 20},
		{4<<20 + 8, 5 << 20},
		{7<<20 + 1, 8 << 20},
	} {
		if got := roundQuarter(tt.n); got != tt.want {
			t.Errorf("roundQuarter(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
}

func TestClassFloor(t *testing.T) {
	for _, tt := range []struct{ c, want int }{
		{LargeBufferSize, 0},
		{LargeBufferSize + 1, 0},
		{40 << 10, 1},
		{64 << 10, 4},
		{64<<10 - 1, 3},
		{MaxBufferSize, numClasses - 1},
	} {
		if got := classFloor(tt.c); got != tt.want {
			t.Errorf("classFloor(%d) = %d, want %d", tt.c, got, tt.want)
		}
	}
	// Every class's size rounds to itself and is that class's floor.
	for n := LargeBufferSize; n <= MaxBufferSize; n += 4093 {
		size := roundQuarter(n)
		if size < n || classFloor(size) < 0 || classFloor(size) >= numClasses {
			t.Fatalf("n %d: size %d class %d", n, size, classFloor(size))
		}
	}
}
