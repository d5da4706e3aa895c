package viewcache_test

import (
	"testing"
	"time"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/viewcache"
)

func TestParseNotification(t *testing.T) {
	at := time.UnixMicro(1765000000123456)
	for _, c := range []struct {
		payload string
		tenant  int64
		want    viewcache.Version
		ok      bool
	}{
		{"7:12:1765000000123456:1/A0", 7, viewcache.Version{N: 12, At: at, LSN: database.LSN(1<<32 | 0xA0)}, true},
		{"7:12:1765000000123456", 7, viewcache.Version{N: 12, At: at}, true},      // an instance that sends no position
		{"7:12:1765000000123456:junk", 7, viewcache.Version{N: 12, At: at}, true}, // a position it cannot read is unknown
		{"7", 7, viewcache.Version{}, true},
		{"x:12", 0, viewcache.Version{}, false},
	} {
		tenant, v, ok := viewcache.ParseNotification(c.payload)
		if tenant != c.tenant || ok != c.ok || v.N != c.want.N || v.LSN != c.want.LSN || (!c.want.At.IsZero() && !v.At.Equal(c.want.At)) {
			t.Errorf("ParseNotification(%q) = %d, %+v, %v; want %d, %+v, %v", c.payload, tenant, v, ok, c.tenant, c.want, c.ok)
		}
	}
}
