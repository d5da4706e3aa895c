package auth

import "testing"

func TestSplitHostRefusesPortsThatAreNotNumbers(t *testing.T) {
	cases := []struct {
		host, name, port string
		ok               bool
	}{
		{"acme.localhost", "acme.localhost", "", true},
		{"acme.localhost:8080", "acme.localhost", "8080", true},
		{"localhost:8080@evil.example", "", "", false},
		{"localhost:8080/evil.example", "", "", false},
		{"localhost:0", "", "", false},
		{"localhost:65536", "", "", false},
		{"localhost:+80", "", "", false},
		{"localhost:080", "", "", false},
		{"localhost:", "", "", false},
		{"localhost@evil.example", "", "", false},
		{"", "", "", false},
	}
	for _, c := range cases {
		name, port, ok := splitHost(c.host)
		if name != c.name || port != c.port || ok != c.ok {
			t.Errorf("splitHost(%q) = %q, %q, %v; want %q, %q, %v", c.host, name, port, ok, c.name, c.port, c.ok)
		}
	}
}
