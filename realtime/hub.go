package realtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"
)

// Hub pushes changes of open dashboards to the browsers showing them. It
// groups connections by view (the same tenant, scope and page: every
// viewer of a view sees the same HTML), and when a tenant's gold version
// changes it renders each open view of that tenant once, through the
// shared view cache, and sends every viewer of it the sections whose
// numbers changed. One Hub serves one instance; instances learn each
// other's commits from PostgreSQL notifications (see viewcache.Versions).
type Hub struct {
	opts HubOptions
	log  *slog.Logger
	// renders bounds how many views render at once, so a burst of
	// versions across many views does not take every core.
	renders chan struct{}

	mu      sync.Mutex
	clients map[*Client]struct{}
	views   map[string]*liveView
	tenants map[int64]*tenantViews
	total   int
	closed  bool
}

// HubOptions are a Hub's limits.
type HubOptions struct {
	MaxPerTenant int           // open connections of one tenant on this instance
	MaxTotal     int           // open connections on this instance
	MinInterval  time.Duration // between two pushes of one view
	SendBuffer   int           // messages queued per connection before it counts as too slow
}

// DefaultHubOptions are the limits of a production instance.
var DefaultHubOptions = HubOptions{MaxPerTenant: 1000, MaxTotal: 5000, MinInterval: time.Second, SendBuffer: 16}

type tenantViews struct {
	views  map[*liveView]struct{}
	conns  int
	latest int64 // the newest gold version heard of
}

// Render returns what a viewer is shown now. It returns ErrViewerGone when
// the viewer may no longer see the view (signed out, another role).
type Render func(ctx context.Context) (Snapshot, error)

// Snapshot is a view's sections at a gold version.
type Snapshot struct {
	Version  int64
	Sections []Section
	// Lagging says a section is older than Version and catches up within
	// seconds ("Activity now" under steady ingest): the view is rendered
	// again, as when Version is behind the newest.
	Lagging bool
}

// ErrViewerGone is returned by a Render whose viewer may no longer see
// the view.
var ErrViewerGone = errors.New("the viewer may no longer see this view")

// LimitError says a connection was refused because a cap was reached.
type LimitError struct{ Message string }

func (e *LimitError) Error() string { return e.Message }

// Close codes sent to browsers. Codes 1012 and 1013 make the page
// reconnect (with backoff); 1008 does not.
const (
	CloseRestart   = 1012 // the server is restarting
	CloseTryLater  = 1013 // a cap was reached, or the client was too slow
	ClosePolicy    = 1008 // signed out, or not allowed to see the view
	CloseBadSubscr = 1003 // the subscription was malformed
)

// NewHub returns a Hub with opts (zero fields take DefaultHubOptions').
func NewHub(log *slog.Logger, opts HubOptions) *Hub {
	d := DefaultHubOptions
	if opts.MaxPerTenant <= 0 {
		opts.MaxPerTenant = d.MaxPerTenant
	}
	if opts.MaxTotal <= 0 {
		opts.MaxTotal = d.MaxTotal
	}
	if opts.MinInterval <= 0 {
		opts.MinInterval = d.MinInterval
	}
	if opts.SendBuffer <= 0 {
		opts.SendBuffer = d.SendBuffer
	}
	return &Hub{opts: opts, log: log, renders: make(chan struct{}, max(2, runtime.GOMAXPROCS(0))),
		clients: map[*Client]struct{}{}, views: map[string]*liveView{}, tenants: map[int64]*tenantViews{}}
}

// Client is one browser connection.
type Client struct {
	hub    *Hub
	tenant int64
	send   chan []byte
	done   chan struct{}

	closeOnce sync.Once
	code      int
	reason    string

	// view and render are guarded by hub.mu.
	view   *liveView
	render Render
}

// Join admits a connection of tenant, or returns a *LimitError when this
// instance or the tenant has as many as it may.
func (h *Hub) Join(tenant int64) (*Client, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, &LimitError{Message: "the server is restarting"}
	}
	t := h.tenant(tenant)
	switch {
	case h.total >= h.opts.MaxTotal:
		return nil, &LimitError{Message: fmt.Sprintf("this server has %d live dashboards open, its limit; live updates will resume when some close", h.total)}
	case t.conns >= h.opts.MaxPerTenant:
		return nil, &LimitError{Message: fmt.Sprintf("your organisation has %d live dashboards open on this server, its limit; live updates will resume when some close", t.conns)}
	}
	t.conns++
	h.total++
	c := &Client{hub: h, tenant: tenant, send: make(chan []byte, h.opts.SendBuffer), done: make(chan struct{})}
	h.clients[c] = struct{}{}
	return c, nil
}

func (h *Hub) tenant(id int64) *tenantViews {
	t, ok := h.tenants[id]
	if !ok {
		t = &tenantViews{views: map[*liveView]struct{}{}}
		h.tenants[id] = t
	}
	return t
}

// Connections returns the number of open connections on this instance.
func (h *Hub) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.total
}

// Messages delivers what to send to the browser, in order.
func (c *Client) Messages() <-chan []byte { return c.send }

// Done is closed when the hub drops the client (see CloseReason).
func (c *Client) Done() <-chan struct{} { return c.done }

// CloseReason is the close code and reason to send the browser once Done
// is closed.
func (c *Client) CloseReason() (int, string) {
	<-c.done
	return c.code, c.reason
}

// Close removes the client from the hub with a close code and reason for
// the browser. Only the first call counts.
func (c *Client) Close(code int, reason string) {
	c.closeOnce.Do(func() {
		c.code, c.reason = code, reason
		h := c.hub
		h.mu.Lock()
		c.leaveLocked()
		delete(h.clients, c)
		h.total--
		t := h.tenant(c.tenant)
		t.conns--
		if t.conns == 0 && len(t.views) == 0 {
			delete(h.tenants, c.tenant)
		}
		h.mu.Unlock()
		close(c.done)
	})
}

// leaveLocked takes c out of its view, dropping the view when it was the
// last viewer. h.mu is held.
func (c *Client) leaveLocked() {
	v := c.view
	if v == nil {
		return
	}
	c.view, c.render = nil, nil
	delete(v.clients, c)
	if len(v.clients) == 0 {
		delete(c.hub.views, v.key)
		if t, ok := c.hub.tenants[v.tenant]; ok {
			delete(t.views, v)
		}
		v.stop()
	}
}

// deliver queues msg for the browser. A client whose queue is full is too
// slow to keep up: it is dropped rather than let it hold up the hub (its
// page reconnects and resyncs).
func (c *Client) deliver(msg []byte) {
	select {
	case <-c.done:
	case c.send <- msg:
	default:
		c.Close(CloseTryLater, "the connection was too slow to keep up")
	}
}

// Subscribe makes the client a viewer of the view named key, which it
// was just rendered at now by render, and brings the browser up to date:
// when the page it shows is at another gold version than shown, it gets
// every section of the view. render is kept to render the view again.
func (c *Client) Subscribe(key string, render Render, now Snapshot, shown int64) {
	h := c.hub
	h.mu.Lock()
	select {
	case <-c.done:
		h.mu.Unlock()
		return
	default:
	}
	if c.view != nil && c.view.key != key {
		c.leaveLocked()
	}
	v, ok := h.views[key]
	if !ok {
		v = &liveView{hub: h, key: key, tenant: c.tenant, clients: map[*Client]struct{}{}}
		h.views[key] = v
		h.tenant(c.tenant).views[v] = struct{}{}
	}
	v.clients[c] = struct{}{}
	c.view, c.render = v, render
	latest := h.tenant(c.tenant).latest
	h.mu.Unlock()

	v.mu.Lock()
	if v.shown == nil || now.Version > v.shown.Version {
		// Everyone else gets what changed since the view was last pushed.
		v.push(now, c)
	}
	// A page older than the view (or of no known version) is brought up
	// to it. A page newer than the view — shown by an instance that learnt
	// of a commit before this one, e.g. before a restart — is left as it
	// is: resyncing it would move its numbers back. The view is rendered
	// again, and the page gets what changed once this instance has caught
	// up with it.
	if shown < v.shown.Version {
		c.deliver(resync(v.shown.Sections))
	}
	behind := v.shown.Version < latest || v.shown.Lagging || shown > v.shown.Version
	v.mu.Unlock()
	if behind {
		v.poke()
	}
}

// Changed tells the hub that tenant's gold is now at version: each open
// view of the tenant is rendered again and its changes pushed. Quick and
// non-blocking: register it with viewcache.Versions.Subscribe.
func (h *Hub) Changed(tenant, version int64) {
	h.mu.Lock()
	t, ok := h.tenants[tenant]
	if !ok {
		h.mu.Unlock()
		return
	}
	t.latest = max(t.latest, version)
	views := make([]*liveView, 0, len(t.views))
	for v := range t.views {
		views = append(views, v)
	}
	h.mu.Unlock()
	for _, v := range views {
		v.poke()
	}
}

// Sweep renders every open view again and pushes what changed. Views also
// depend on the clock, not only on gold: at the tenant's midnight
// "overdue" and "the last 7 days" move without a new version. A view
// whose numbers stand still is read from the shared cache and sends
// nothing.
func (h *Hub) Sweep() {
	h.mu.Lock()
	views := make([]*liveView, 0, len(h.views))
	for _, v := range h.views {
		views = append(views, v)
	}
	h.mu.Unlock()
	for _, v := range views {
		v.poke()
	}
}

// Close drops every client with code and reason; the hub admits no more.
func (h *Hub) Close(code int, reason string) {
	h.mu.Lock()
	h.closed = true
	clients := make([]*Client, 0, len(h.clients))
	for c := range h.clients {
		clients = append(clients, c)
	}
	h.mu.Unlock()
	for _, c := range clients {
		c.Close(code, reason)
	}
}

// liveView is one view open in at least one browser.
type liveView struct {
	hub    *Hub
	key    string
	tenant int64

	clients map[*Client]struct{} // guarded by hub.mu

	// mu orders pushes and joins: a viewer joining while the view is
	// pushed gets the state after the push, never one older than it.
	mu    sync.Mutex
	shown *Snapshot // what every viewer of the view shows now

	// Scheduling, guarded by sched: the first change after a quiet
	// period renders at once, later ones at most once per MinInterval.
	sched   sync.Mutex
	running bool        // a render is under way
	pending bool        // a change came during it
	timer   *time.Timer // a render is due
	last    time.Time   // when the last render started
	stopped bool
}

// poke asks for the view to be rendered again.
func (v *liveView) poke() {
	v.sched.Lock()
	defer v.sched.Unlock()
	if v.stopped {
		return
	}
	if v.running || v.timer != nil {
		v.pending = true
		return
	}
	if wait := time.Until(v.last.Add(v.hub.opts.MinInterval)); wait > 0 {
		v.timer = time.AfterFunc(wait, v.fire)
		return
	}
	v.running = true
	v.last = time.Now()
	go v.refresh()
}

func (v *liveView) fire() {
	v.sched.Lock()
	v.timer = nil
	if v.stopped || v.running {
		v.sched.Unlock()
		return
	}
	v.running, v.pending = true, false
	v.last = time.Now()
	v.sched.Unlock()
	v.refresh()
}

func (v *liveView) stop() {
	v.sched.Lock()
	defer v.sched.Unlock()
	v.stopped = true
	if v.timer != nil {
		v.timer.Stop()
		v.timer = nil
	}
}

// refresh renders the view with one of its viewers' renders and pushes
// what changed. A viewer whose render says it may no longer see the view
// is dropped, and the next one's is tried.
func (v *liveView) refresh() {
	h := v.hub
	h.renders <- struct{}{}
	again := v.render()
	<-h.renders

	v.sched.Lock()
	v.running = false
	if (again || v.pending) && !v.stopped && v.timer == nil {
		v.pending = false
		v.timer = time.AfterFunc(time.Until(v.last.Add(h.opts.MinInterval)), v.fire)
	}
	v.sched.Unlock()
}

// render renders and pushes the view once; it reports whether the result
// is older than the newest version heard of (the shared cache may serve a
// result up to its lag old under steady ingest), or has a lagging section,
// so another render is due.
func (v *liveView) render() (again bool) {
	h := v.hub
	for {
		h.mu.Lock()
		var c *Client
		var render Render
		for cl := range v.clients {
			c, render = cl, cl.render
			break
		}
		latest := h.tenant(v.tenant).latest
		h.mu.Unlock()
		if c == nil {
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		snap, err := render(ctx)
		cancel()
		if errors.Is(err, ErrViewerGone) {
			c.Close(ClosePolicy, "live updates stopped: sign in again to see this page")
			continue
		}
		if err != nil {
			h.log.Warn("render live view", "view", v.key, "err", err)
			return true
		}
		v.mu.Lock()
		if v.shown == nil || snap.Version >= v.shown.Version {
			v.push(snap, nil)
		}
		v.mu.Unlock()
		return snap.Version < latest || snap.Lagging
	}
}

// push makes now the view's state and sends every viewer but except what
// changed since the state before. v.mu is held.
func (v *liveView) push(now Snapshot, except *Client) {
	old := v.shown
	v.shown = &now
	if old == nil {
		return
	}
	msg := changes(old.Sections, now.Sections)
	if msg == nil {
		return
	}
	v.hub.mu.Lock()
	clients := make([]*Client, 0, len(v.clients))
	for c := range v.clients {
		if c != except {
			clients = append(clients, c)
		}
	}
	v.hub.mu.Unlock()
	for _, c := range clients {
		c.deliver(msg)
	}
}

// changes is the message that takes a page from sections old to now, or
// nil when no section's numbers changed. Sections whose numbers changed
// are marked for highlighting; those where only the time of the data
// changed come along unmarked, and so does the "data as of" line.
// Sections that were not on the page before have nowhere to go and wait
// for the next load or resync.
func changes(old, now []Section) []byte {
	before := make(map[string]Section, len(old))
	for _, s := range old {
		before[s.Key] = s
	}
	var changed bool
	for _, s := range now {
		if o, ok := before[s.Key]; ok && s.Key != AsOfKey && o.Numbers != s.Numbers {
			changed = true
			break
		}
	}
	if !changed {
		return nil
	}
	var msg []byte
	for _, s := range now {
		o, ok := before[s.Key]
		if !ok || string(o.HTML) == string(s.HTML) {
			continue
		}
		msg = append(msg, s.oob(s.Key != AsOfKey && o.Numbers != s.Numbers)...)
	}
	return msg
}

// resync is the message that sets every section of a page.
func resync(sections []Section) []byte {
	var msg []byte
	for _, s := range sections {
		msg = append(msg, s.oob(false)...)
	}
	if msg == nil {
		// An empty message still tells the page it is up to date.
		msg = []byte(" ")
	}
	return msg
}
