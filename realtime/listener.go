// Package realtime carries changes between LearnLens instances: one
// PostgreSQL connection per instance LISTENs on the channels the app uses
// (gold versions, session and user invalidation) and hands each
// notification to the code that registered for its channel.
package realtime

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database"
)

// Listener holds one connection LISTENing on every channel a handler was
// registered for, and reconnects with backoff when it drops. Caches that
// rely on notifications must not trust themselves while Connected is false
// (notifications may have been missed), and are told by OnConnect when the
// stream is whole again.
type Listener struct {
	db  *database.DB
	log *slog.Logger

	mu        sync.Mutex
	handlers  map[string][]func(payload string)
	onConnect []func()
	connected atomic.Bool
	// generation counts connections: a cache entry filled under an earlier
	// generation may have missed a notification.
	generation atomic.Int64
}

// NewListener returns a Listener on db; Run starts it.
func NewListener(db *database.DB, log *slog.Logger) *Listener {
	return &Listener{db: db, log: log, handlers: map[string][]func(string){}}
}

// Handle registers fn for notifications on channel. Register before Run.
// fn runs on the listener's goroutine: it must be quick and not block.
func (l *Listener) Handle(channel string, fn func(payload string)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.handlers[channel] = append(l.handlers[channel], fn)
}

// OnConnect registers fn to run after each (re)connection, once LISTEN is
// in place and before any notification of that connection is delivered:
// anything cached from before may have missed a change.
func (l *Listener) OnConnect(fn func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.onConnect = append(l.onConnect, fn)
}

// Connected reports whether notifications are being received now.
func (l *Listener) Connected() bool { return l.connected.Load() }

// Generation is the number of the current connection (0 before the first);
// it changes whenever notifications may have been missed.
func (l *Listener) Generation() int64 { return l.generation.Load() }

// Run listens until ctx ends, reconnecting with backoff (100 ms doubling
// to 5 s) after a lost connection.
func (l *Listener) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := l.listen(ctx)
		l.connected.Store(false)
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("notification listener lost its connection", "err", err)
		if time.Since(start) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (l *Listener) listen(ctx context.Context) error {
	conn, err := l.db.Connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	l.mu.Lock()
	channels := make([]string, 0, len(l.handlers))
	for ch := range l.handlers {
		channels = append(channels, ch)
	}
	onConnect := append([]func(){}, l.onConnect...)
	l.mu.Unlock()
	for _, ch := range channels {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return err
		}
	}
	l.generation.Add(1)
	for _, fn := range onConnect {
		fn()
	}
	l.connected.Store(true)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		l.mu.Lock()
		hs := l.handlers[n.Channel]
		l.mu.Unlock()
		for _, fn := range hs {
			fn(n.Payload)
		}
	}
}
