package flyweight

import "testing"

func BenchmarkBuild(b *testing.B) {
	buf := make([]byte, 0, 1024)
	var w Builder
	b.ReportAllocs()
	for b.Loop() {
		buildSampleWith(b, &w, buf[:0], 4)
	}
}

func BenchmarkValidate(b *testing.B) {
	msg := buildSample(b, nil, 4)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := validateSample(msg, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
