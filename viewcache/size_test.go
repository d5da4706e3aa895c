package viewcache

import "testing"

func TestSizeOfGrowsWithContent(t *testing.T) {
	type row struct {
		Name string
		N    int64
	}
	small := []row{{"a", 1}}
	big := make([]row, 1000)
	for i := range big {
		big[i] = row{"a name of some length", int64(i)}
	}
	s, b := SizeOf(small), SizeOf(big)
	if s <= 0 || b < 1000*(16+21+8) || b <= s {
		t.Fatalf("SizeOf small = %d, big = %d", s, b)
	}
	if n := SizeOf(map[string]any{"k": []any{"v", 1.5, nil}}); n < 48+17+16 {
		t.Fatalf("SizeOf map = %d", n)
	}
}
