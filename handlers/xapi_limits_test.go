package handlers

import (
	"testing"
	"time"

	"github.com/learnlens/learnlens/models"
)

func TestCredentialLimits(t *testing.T) {
	now := time.Unix(1000, 0)
	l := &credentialLimits{}
	lim := limits{concurrency: 2, rate: 1, burst: 3}
	d1, _ := l.take(7, lim, now)
	d2, _ := l.take(7, lim, now)
	if d1 == nil || d2 == nil {
		t.Fatal("two requests within the concurrency were refused")
	}
	if done, wait := l.take(7, lim, now); done != nil || wait != time.Second {
		t.Fatalf("third request in flight: admitted %v, wait %v; want refused, 1s", done != nil, wait)
	}
	if done, _ := l.take(8, lim, now); done == nil {
		t.Fatal("another credential was refused")
	}
	d1()
	d3, _ := l.take(7, lim, now)
	if d3 == nil {
		t.Fatal("a request after one ended was refused")
	}
	d2()
	d3()
	// The burst of 3 is spent: the next token comes a second later.
	if done, wait := l.take(7, lim, now); done != nil || wait != time.Second {
		t.Fatalf("beyond the burst: admitted %v, wait %v; want refused, 1s", done != nil, wait)
	}
	if done, _ := l.take(7, lim, now.Add(time.Second)); done == nil {
		t.Fatal("a request after the refill was refused")
	}
	off := &credentialLimits{}
	for range 100 {
		if done, _ := off.take(1, off.forTenant(models.Tenant{}), now); done == nil {
			t.Fatal("limits set to 0 refused a request")
		}
	}
}

func TestTenantLimitsOverrideTheDefaults(t *testing.T) {
	l := &credentialLimits{defaults: limits{concurrency: 8, rate: 200, burst: 400}}
	one, zero := 1, 0
	got := l.forTenant(models.Tenant{XAPIRate: &one, XAPIConcurrency: &zero})
	if got != (limits{concurrency: 0, rate: 1, burst: 400}) {
		t.Errorf("tenant limits %+v", got)
	}
	if got := l.forTenant(models.Tenant{}); got != l.defaults {
		t.Errorf("defaults %+v", got)
	}
}
