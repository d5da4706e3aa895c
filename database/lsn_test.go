package database

import "testing"

func TestLSN(t *testing.T) {
	for _, c := range []struct {
		text string
		want LSN
	}{
		{"0/0", 0},
		{"0/16B3748", 0x16B3748},
		{"16/B374D848", 0x16_B374D848},
		{"FFFFFFFF/FFFFFFFF", 1<<64 - 1},
	} {
		got, err := ParseLSN(c.text)
		if err != nil || got != c.want {
			t.Errorf("ParseLSN(%q) = %d, %v; want %d", c.text, got, err, c.want)
		}
		if got.String() != c.text {
			t.Errorf("%d.String() = %q, want %q", got, got.String(), c.text)
		}
	}
	for _, bad := range []string{"", "16", "x/1", "1/x", "1/100000000", "-1/0"} {
		if _, err := ParseLSN(bad); err == nil {
			t.Errorf("ParseLSN(%q) accepted", bad)
		}
	}
}
