package realtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// page is a rendered view whose completed tile shows n, at version n.
func page(n int64, asOf string) []byte {
	return fmt.Appendf(nil, `<section><p data-live="as-of" data-version="%d">Data as of %s</p>
		<div data-live="kpi-completed"><span>%d</span><p>Data as of <time>%s</time></p></div>
		<div data-live="kpi-overdue"><span>7</span><p>Data as of <time>%s</time></p></div>
		<div><div data-live="table-x"><table><tr><td>row</td></tr></table></div></div></section>`, n, asOf, n, asOf, asOf)
}

func TestSplitFindsTheLiveSectionsAndTheirNumbers(t *testing.T) {
	a, err := Split(page(1, "09:00"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range a {
		keys = append(keys, s.Key)
	}
	if got := strings.Join(keys, " "); got != "as-of kpi-completed kpi-overdue table-x" {
		t.Fatalf("sections %q", got)
	}
	b, _ := Split(page(1, "09:01"))
	c, _ := Split(page(2, "09:01"))
	if a[2].Numbers != b[2].Numbers || string(a[2].HTML) == string(b[2].HTML) {
		t.Errorf("a tile whose only change is its time: numbers should be equal, HTML not")
	}
	if b[1].Numbers == c[1].Numbers {
		t.Errorf("a tile whose number changed has the same fingerprint")
	}
}

func TestChangesSendsWhatChangedAndOnlyWhenNumbersDid(t *testing.T) {
	a, _ := Split(page(1, "09:00"))
	b, _ := Split(page(1, "09:01"))
	c, _ := Split(page(2, "09:01"))
	if msg := changes(a, b); msg != nil {
		t.Errorf("only the time changed, yet a message: %s", msg)
	}
	msg := string(changes(b, c))
	for _, want := range []string{
		`<div hx-swap-oob="outerHTML:[data-live=&#34;kpi-completed&#34;]" data-live-changed data-live="kpi-completed">`,
		`<p hx-swap-oob="outerHTML:[data-live=&#34;as-of&#34;]" data-live="as-of" data-version="2">`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %s:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "kpi-overdue") || strings.Contains(msg, "table-x") {
		t.Errorf("unchanged sections sent: %s", msg)
	}
	if msg := string(changes(a, c)); !strings.Contains(msg, `kpi-overdue&#34;]" data-live="kpi-overdue"`) {
		t.Errorf("a tile whose time changed should come along, unmarked, with a change: %s", msg)
	}
}

// fakeView renders page(version) for the version set by the test, and
// counts renders.
type fakeView struct {
	version atomic.Int64
	renders atomic.Int64
	gone    atomic.Bool
}

func (f *fakeView) render(context.Context) (Snapshot, error) {
	f.renders.Add(1)
	if f.gone.Load() {
		return Snapshot{}, ErrViewerGone
	}
	n := f.version.Load()
	s, err := Split(page(n, "09:00"))
	return Snapshot{Version: n, Sections: s}, err
}

func (f *fakeView) now(t *testing.T) Snapshot {
	s, err := f.render(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.renders.Add(-1)
	return s
}

func newTestHub(opts HubOptions) *Hub {
	return NewHub(slog.New(slog.NewTextHandler(io.Discard, nil)), opts)
}

func receive(t *testing.T, c *Client, within time.Duration) string {
	t.Helper()
	select {
	case m := <-c.Messages():
		return string(m)
	case <-time.After(within):
		return ""
	}
}

func TestHubPushesTheFirstChangeAtOnceThenAtMostOncePerInterval(t *testing.T) {
	h := newTestHub(HubOptions{MinInterval: 300 * time.Millisecond})
	f := &fakeView{}
	f.version.Store(1)
	var clients []*Client
	for range 3 {
		c, err := h.Join(1)
		if err != nil {
			t.Fatal(err)
		}
		c.Subscribe("1|all|/dashboards/completion", f.render, f.now(t), 1)
		clients = append(clients, c)
	}
	other, _ := h.Join(2)
	g := &fakeView{}
	g.version.Store(5)
	other.Subscribe("2|all|/dashboards/completion", g.render, g.now(t), 5)

	start := time.Now()
	f.version.Store(2)
	h.Changed(1, 2)
	for i, c := range clients {
		if m := receive(t, c, time.Second); !strings.Contains(m, ">2</span>") {
			t.Fatalf("client %d: %q", i, m)
		}
	}
	if d := time.Since(start); d > 150*time.Millisecond {
		t.Errorf("the first change took %v", d)
	}
	if n := f.renders.Load(); n != 1 {
		t.Errorf("%d renders for three viewers of one view, want 1", n)
	}
	// A burst of versions: one more render, no sooner than the interval.
	for v := int64(3); v <= 6; v++ {
		f.version.Store(v)
		h.Changed(1, v)
	}
	m := receive(t, clients[0], time.Second)
	if d := time.Since(start); !strings.Contains(m, ">6</span>") || d < 300*time.Millisecond {
		t.Errorf("after a burst: %q after %v", m, d)
	}
	if n := f.renders.Load(); n != 2 {
		t.Errorf("%d renders after a burst, want 2", n)
	}
	if m := receive(t, other, 200*time.Millisecond); m != "" {
		t.Errorf("another tenant's viewer got %q", m)
	}
}

func TestHubDropsASlowClientWithoutWaitingForIt(t *testing.T) {
	h := newTestHub(HubOptions{MinInterval: time.Millisecond, SendBuffer: 2})
	f := &fakeView{}
	slow, _ := h.Join(1)
	fast, _ := h.Join(1)
	slow.Subscribe("v", f.render, f.now(t), 0)
	fast.Subscribe("v", f.render, f.now(t), 0)
	for v := int64(1); v <= 6; v++ {
		f.version.Store(v)
		h.Changed(1, v)
		if m := receive(t, fast, time.Second); !strings.Contains(m, fmt.Sprintf(">%d</span>", v)) {
			t.Fatalf("fast client at version %d: %q", v, m)
		}
	}
	select {
	case <-slow.Done():
		if code, reason := slow.CloseReason(); code != CloseTryLater || reason == "" {
			t.Errorf("slow client closed with %d %q", code, reason)
		}
	case <-time.After(time.Second):
		t.Fatal("a client that read nothing is still connected")
	}
}

func TestHubCapsConnectionsPerTenantAndInstance(t *testing.T) {
	h := newTestHub(HubOptions{MaxPerTenant: 2, MaxTotal: 3})
	a1, _ := h.Join(1)
	if _, err := h.Join(1); err != nil {
		t.Fatal(err)
	}
	var limit *LimitError
	if _, err := h.Join(1); !errors.As(err, &limit) || !strings.Contains(limit.Message, "organisation") {
		t.Errorf("third connection of a tenant: %v", err)
	}
	if _, err := h.Join(2); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Join(3); !errors.As(err, &limit) || !strings.Contains(limit.Message, "server") {
		t.Errorf("fourth connection of the instance: %v", err)
	}
	a1.Close(1000, "")
	if _, err := h.Join(1); err != nil {
		t.Errorf("after one closed: %v", err)
	}
	if n := h.Connections(); n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
}

func TestHubDropsAViewerWhoMayNoLongerSeeTheView(t *testing.T) {
	h := newTestHub(HubOptions{MinInterval: time.Millisecond})
	f := &fakeView{}
	c, _ := h.Join(1)
	c.Subscribe("v", f.render, f.now(t), 0)
	f.gone.Store(true)
	h.Changed(1, 1)
	select {
	case <-c.Done():
		if code, _ := c.CloseReason(); code != ClosePolicy {
			t.Errorf("closed with %d, want %d", code, ClosePolicy)
		}
	case <-time.After(time.Second):
		t.Fatal("a signed-out viewer is still subscribed")
	}
}

func TestHubResyncsAStalePageAndCloseEndsEveryone(t *testing.T) {
	h := newTestHub(HubOptions{})
	f := &fakeView{}
	f.version.Store(4)
	c, _ := h.Join(1)
	c.Subscribe("v", f.render, f.now(t), 2)
	if m := receive(t, c, time.Second); !strings.Contains(m, "kpi-overdue") || strings.Contains(m, "data-live-changed") {
		t.Errorf("resync of a stale page: %q", m)
	}
	// A page newer than what this instance knows (it learnt of version 6
	// elsewhere) is not moved back to 4; it gets version 6's changes once
	// the instance has them.
	ahead, _ := h.Join(1)
	ahead.Subscribe("v", f.render, f.now(t), 6)
	if m := receive(t, ahead, 300*time.Millisecond); m != "" {
		t.Errorf("a page at version 6 was sent version 4: %q", m)
	}
	f.version.Store(6)
	h.Changed(1, 6)
	if m := receive(t, ahead, 2*time.Second); !strings.Contains(m, `data-version="6"`) {
		t.Errorf("the page ahead got %q once the instance caught up", m)
	}
	idle, _ := h.Join(1) // connected, not subscribed yet
	var wg sync.WaitGroup
	wg.Go(func() { h.Close(CloseRestart, "the server is restarting") })
	wg.Wait()
	for _, cl := range []*Client{c, idle} {
		if code, _ := cl.CloseReason(); code != CloseRestart {
			t.Errorf("closed with %d", code)
		}
	}
	if _, err := h.Join(1); err == nil {
		t.Error("a closed hub admitted a connection")
	}
}

// TestHubSweepPushesWhatTheClockChanged: a sweep renders every open view
// again without a new version; a view whose numbers moved (a new day) is
// pushed, one whose numbers stand still sends nothing.
func TestHubSweepPushesWhatTheClockChanged(t *testing.T) {
	h := newTestHub(HubOptions{MinInterval: time.Millisecond})
	var day atomic.Int64
	day.Store(1)
	var renders atomic.Int64
	render := func(context.Context) (Snapshot, error) {
		renders.Add(1)
		s, err := Split(page(day.Load(), "09:00"))
		return Snapshot{Version: 7, Sections: s}, err
	}
	c, err := h.Join(1)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := render(context.Background())
	c.Subscribe("1|all|/dashboards/compliance", render, first, 7)
	other, _ := h.Join(2)
	g := &fakeView{}
	g.version.Store(3)
	other.Subscribe("2|all|/dashboards/compliance", g.render, g.now(t), 3)

	h.Sweep()
	if m := receive(t, c, 300*time.Millisecond); m != "" {
		t.Errorf("a sweep with nothing changed sent %q", m)
	}
	if n := renders.Load(); n != 2 {
		t.Errorf("%d renders after one sweep, want 2 (the first and the sweep's)", n)
	}
	day.Store(2)
	time.Sleep(5 * time.Millisecond) // past MinInterval
	h.Sweep()
	if m := receive(t, c, time.Second); !strings.Contains(m, ">2</span>") {
		t.Errorf("after the day changed, the sweep sent %q", m)
	}
	if m := receive(t, other, 200*time.Millisecond); m != "" {
		t.Errorf("an unchanged view of another tenant got %q", m)
	}
}
