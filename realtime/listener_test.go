package realtime_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/realtime"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

// TestListenerDeliversAndReconnects: a notification reaches its channel's
// handler, and after the connection is killed the listener reconnects,
// says so through OnConnect and a new generation, and delivers again.
func TestListenerDeliversAndReconnects(t *testing.T) {
	db := testdb.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := realtime.NewListener(db, slog.New(slog.DiscardHandler))
	got := make(chan string, 10)
	connects := make(chan int64, 10)
	l.Handle("test_channel", func(p string) { got <- p })
	l.Handle("other_channel", func(p string) { t.Errorf("other channel got %q", p) })
	l.OnConnect(func() { connects <- l.Generation() })
	go l.Run(ctx)

	waitConnected := func(gen int64) {
		t.Helper()
		select {
		case g := <-connects:
			if g != gen {
				t.Fatalf("generation %d, want %d", g, gen)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("listener did not connect")
		}
		for !l.Connected() {
			time.Sleep(time.Millisecond)
		}
	}
	receive := func(want string) {
		t.Helper()
		if err := db.Notify(ctx, "test_channel", want); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-got:
			if p != want {
				t.Fatalf("payload %q, want %q", p, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%q not delivered", want)
		}
	}

	waitConnected(1)
	receive("one")
	// Kill the listening backend, as a database restart would.
	if killed := testdb.KillListeners(t, db); killed != 1 {
		t.Fatalf("killed %d listening backends, want 1", killed)
	}
	waitConnected(2)
	receive("two")
}
