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
