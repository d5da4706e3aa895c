package auth

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/realtime"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

// TestTableKeepsNoFillThatRacedAnInvalidation: a value loaded before a
// drop or clear (which may predate the change announced) is not stored.
func TestTableKeepsNoFillThatRacedAnInvalidation(t *testing.T) {
	for _, tc := range []struct {
		name       string
		meanwhile  func(*table[string, int])
		wantStored bool
	}{
		{"nothing happened", func(*table[string, int]) {}, true},
		{"that key dropped", func(tb *table[string, int]) { tb.drop("k") }, false},
		{"another key dropped", func(tb *table[string, int]) { tb.drop("other") }, false},
		{"cleared on reconnect", func(tb *table[string, int]) { tb.clear() }, false},
	} {
		tb := newTable[string, int](10)
		epoch := tb.currentEpoch()
		tc.meanwhile(tb)
		tb.put(epoch, "k", 1)
		if _, ok := tb.get("k"); ok != tc.wantStored {
			t.Errorf("%s: stored %v, want %v", tc.name, ok, tc.wantStored)
		}
	}
	tb := newTable[int, int](3)
	for i := range 10 {
		tb.put(tb.currentEpoch(), i, i)
	}
	if len(tb.entries) != 3 {
		t.Errorf("bounded table holds %d entries, want 3", len(tb.entries))
	}
}

// TestCacheTrustsItselfOnlyWhileListening: before the listener connects
// and after its connection is lost, every look-up reads through; once
// connected, values are served from memory until a notification names
// them; a reconnection empties the cache.
func TestCacheTrustsItselfOnlyWhileListening(t *testing.T) {
	db := testdb.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := realtime.NewListener(db, slog.New(slog.DiscardHandler))
	c := NewCache(l, 100)
	loads := 0
	load := func() (models.User, error) { loads++; return models.User{ID: 5, Role: models.RoleLearner}, nil }
	lookup := func(want int, what string) {
		t.Helper()
		before := loads
		if _, err := c.user(1, 5, load); err != nil {
			t.Fatal(err)
		}
		if loads-before != want {
			t.Errorf("%s: %d loads, want %d", what, loads-before, want)
		}
	}
	lookup(1, "before listening")
	lookup(1, "before listening, again")

	go l.Run(ctx)
	waitFor(t, l.Connected)
	lookup(1, "first look-up while listening")
	lookup(0, "second look-up while listening")

	if err := db.Notify(ctx, models.AuthChannel, models.AuthChange{Kind: models.ChangedUser, TenantID: 1, UserID: 5}.Payload()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, ok := c.users.get(cachedUserKey{1, 5}); return !ok })
	lookup(1, "after the user's notification")
	lookup(0, "cached again")

	gen := l.Generation()
	testdb.KillListeners(t, db)
	waitFor(t, func() bool { return !l.Connected() || l.Generation() > gen })
	if !l.Connected() {
		lookup(1, "while the listener is disconnected")
	}
	waitFor(t, func() bool { return l.Connected() && l.Generation() > gen })
	lookup(1, "after reconnecting (the cache was emptied)")
	lookup(0, "cached again after reconnecting")
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
	}
}
