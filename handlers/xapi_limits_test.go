package handlers

import (
	"testing"
	"time"
)

func TestCredentialLimits(t *testing.T) {
	now := time.Unix(1000, 0)
	l := &credentialLimits{concurrency: 2, rate: 1, burst: 3}
	d1, _ := l.take(7, now)
	d2, _ := l.take(7, now)
	if d1 == nil || d2 == nil {
		t.Fatal("two requests within the concurrency were refused")
	}
	if done, wait := l.take(7, now); done != nil || wait != time.Second {
		t.Fatalf("third request in flight: admitted %v, wait %v; want refused, 1s", done != nil, wait)
	}
	if done, _ := l.take(8, now); done == nil {
		t.Fatal("another credential was refused")
	}
	d1()
	d3, _ := l.take(7, now)
	if d3 == nil {
		t.Fatal("a request after one ended was refused")
	}
	d2()
	d3()
	// The burst of 3 is spent: the next token comes a second later.
	if done, wait := l.take(7, now); done != nil || wait != time.Second {
		t.Fatalf("beyond the burst: admitted %v, wait %v; want refused, 1s", done != nil, wait)
	}
	if done, _ := l.take(7, now.Add(time.Second)); done == nil {
		t.Fatal("a request after the refill was refused")
	}
	off := &credentialLimits{burst: 1}
	for range 100 {
		if done, _ := off.take(1, now); done == nil {
			t.Fatal("limits set to 0 refused a request")
		}
	}
}
