package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/htmx"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/realtime"
)

// Live dashboards: a page that shows a dashboard opens a WebSocket to /ws
// and says what it shows (its address and the table pages it moved to).
// The connection joins the hub, which pushes the sections whose numbers
// change. What a viewer is shown is rendered by the same routes a browser
// request takes (liveDispatch), with the viewer's own session, so the
// tenant, role and scope checks of the page apply to every push.

const (
	liveWriteTimeout = 10 * time.Second
	// liveMaxTables bounds the table pages a subscription may name.
	liveMaxTables = 8
	// liveMaxNodes bounds the opened team nodes a subscription may name;
	// the page sends the latest ones it opened.
	liveMaxNodes = 32
	liveMaxURL   = 2048
)

func (h *Handlers) liveRoutes(site fiber.Router) {
	site.Get("/ws", h.liveUpgrade, websocket.New(h.liveConn, websocket.Config{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   1024,
		WriteBufferSize:  4096,
		// Write buffers are taken from the pool for each message and
		// given back: an idle connection holds none.
		WriteBufferPool: &sync.Pool{},
		// liveUpgrade has checked the origin against the tenant's host.
	}))
}

// liveRoles may open live pages: the dashboards' roles, and learners for
// My learning.
var liveRoles = append([]string{models.RoleLearner}, dashboardRoles...)

// liveSession is what a connection knows of its viewer, taken from the
// upgrade request: the host and session cookie its pushes are rendered
// with.
type liveSession struct {
	tenant  int64
	user    int64
	host    string
	cookie  string
	client  *realtime.Client
	joinErr error // why the hub refused the connection

	mu   sync.Mutex
	page string // the page of the current subscription
}

// liveLocal is the key of the liveSession in the upgrade request's locals
// (websocket.Conn copies only string keys).
const liveLocal = "learnlens.live"

// liveUpgrade admits a WebSocket upgrade from a signed-in viewer of this
// host's dashboards, opened by a page of this host.
func (h *Handlers) liveUpgrade(c *fiber.Ctx) error {
	u := auth.User(c)
	if u == nil {
		return fiber.NewError(fiber.StatusUnauthorized, "sign in first")
	}
	if !slices.Contains(liveRoles, u.Role) {
		return fiber.NewError(fiber.StatusForbidden, auth.ErrForbidden.Error())
	}
	if !websocket.IsWebSocketUpgrade(c) {
		return fiber.NewError(fiber.StatusUpgradeRequired, "/ws takes WebSocket connections only")
	}
	origin, err := url.Parse(c.Get(fiber.HeaderOrigin))
	if err != nil || origin.Host == "" || !strings.EqualFold(origin.Host, string(c.Request().Host())) {
		return fiber.NewError(fiber.StatusForbidden, "live updates are only for pages of this organisation's own address")
	}
	s := &liveSession{tenant: auth.Tenant(c).ID, user: u.ID, host: string(c.Request().Host()), cookie: c.Cookies(auth.CookieName)}
	// Joined before the upgrade, so that connections count in the order
	// they were accepted; a failed upgrade leaves again.
	s.client, s.joinErr = h.hub.Join(s.tenant)
	c.Locals(liveLocal, s)
	if err := c.Next(); err != nil {
		if s.client != nil {
			s.client.Close(websocket.CloseNormalClosure, "")
		}
		return err
	}
	return nil
}

// liveSubscription is what a page says it shows: its address (path and
// query), the tables it moved to another page, sort or search and the
// team nodes it opened (their fragment addresses), with the gold version
// it shows.
type liveSubscription struct {
	Page    string   `json:"page"`
	Tables  []string `json:"tables"`
	Nodes   []string `json:"nodes"`
	Version int64    `json:"version"`
}

// liveConn serves one WebSocket: a writer goroutine sends the hub's
// messages and heartbeats; this one reads the page's subscriptions.
func (h *Handlers) liveConn(conn *websocket.Conn) {
	s := conn.Locals(liveLocal).(*liveSession)
	if s.joinErr != nil {
		// A cap was reached, or the server is stopping: the page retries
		// with backoff and shows why.
		closeWith(conn, realtime.CloseTryLater, s.joinErr.Error())
		return
	}
	client := s.client
	h.liveUsers.add(s)
	defer h.liveUsers.remove(s)
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		h.liveWrite(conn, s)
	}()
	// However this returns, the client leaves the hub and the writer ends
	// before the connection is released.
	defer func() {
		client.Close(websocket.CloseNormalClosure, "")
		<-wrote
	}()

	conn.SetReadLimit(16 << 10)
	// A connection that answers nothing for two and a half heartbeats is
	// gone (a closed laptop lid, a lost network).
	readTimeout := h.cfg.LiveHeartbeat * 5 / 2
	conn.SetReadDeadline(time.Now().Add(readTimeout))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(readTimeout)) })
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			client.Close(websocket.CloseNormalClosure, "")
			return
		}
		conn.SetReadDeadline(time.Now().Add(readTimeout))
		var sub liveSubscription
		if err := json.Unmarshal(data, &sub); err != nil {
			client.Close(realtime.CloseBadSubscr, "the subscription is not valid JSON")
			return
		}
		if err := h.liveSubscribe(s, sub); err != nil {
			if errors.Is(err, realtime.ErrViewerGone) {
				client.Close(realtime.ClosePolicy, "live updates stopped: sign in again to see this page")
			} else {
				client.Close(realtime.CloseBadSubscr, err.Error())
			}
			return
		}
	}
}

// liveWrite sends the client's messages and heartbeats until the hub
// drops it, then closes the connection with the hub's reason.
func (h *Handlers) liveWrite(conn *websocket.Conn, s *liveSession) {
	client := s.client
	// Each heartbeat pings, sends an empty message (so the page knows the
	// server is there) and checks the session again.
	tick := time.NewTicker(h.cfg.LiveHeartbeat)
	defer tick.Stop()
	for {
		select {
		case msg := <-client.Messages():
			conn.SetWriteDeadline(time.Now().Add(liveWriteTimeout))
			if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
				client.Close(websocket.CloseInternalServerErr, "")
			}
		case <-tick.C:
			deadline := time.Now().Add(liveWriteTimeout)
			conn.SetWriteDeadline(deadline)
			err := conn.WriteControl(websocket.PingMessage, nil, deadline)
			if err == nil {
				err = conn.WriteMessage(websocket.TextMessage, []byte(" "))
			}
			if err != nil {
				client.Close(websocket.CloseInternalServerErr, "")
				continue
			}
			// A signed-out or disabled viewer stops getting pushes.
			go h.liveRecheck(s)
		case <-client.Done():
			code, reason := client.CloseReason()
			closeWith(conn, code, reason)
			return
		}
	}
}

// closeWith sends a close frame and closes the connection.
func closeWith(conn *websocket.Conn, code int, reason string) {
	if len(reason) > 120 {
		reason = reason[:120] // a close frame's reason is at most 123 bytes
	}
	deadline := time.Now().Add(time.Second)
	conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), deadline)
	conn.Close()
}

// errLiveSubscription is a subscription naming something that is not a
// live page.
type errLiveSubscription string

func (e errLiveSubscription) Error() string { return string(e) }

// liveSubscribe renders what sub names for the viewer and makes the
// client a viewer of it.
func (h *Handlers) liveSubscribe(s *liveSession, sub liveSubscription) error {
	if err := sub.validate(); err != nil {
		return err
	}
	render := func(ctx context.Context) (realtime.Snapshot, error) {
		snap, _, err := h.liveRender(s, sub)
		return snap, err
	}
	snap, scope, err := h.liveRender(s, sub)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.page = sub.Page
	s.mu.Unlock()
	key := fmt.Sprintf("%d|%s|%s|%s|%s", s.tenant, scope, sub.Page, strings.Join(sub.Tables, "|"), strings.Join(sub.Nodes, "|"))
	s.client.Subscribe(key, render, snap, sub.Version)
	return nil
}

func (sub *liveSubscription) validate() error {
	if !livePage(sub.Page) {
		return errLiveSubscription("page: must be the address of a dashboard (/dashboards/…), /me or a learner (/learners/<id>)")
	}
	if len(sub.Tables) > liveMaxTables {
		return errLiveSubscription("tables: at most " + strconv.Itoa(liveMaxTables) + " table pages")
	}
	for _, t := range sub.Tables {
		if !livePath(t, "tables", 3) {
			return errLiveSubscription("tables: must be addresses of table pages (/tables/<dashboard>/<table>)")
		}
	}
	if len(sub.Nodes) > liveMaxNodes {
		return errLiveSubscription("nodes: at most " + strconv.Itoa(liveMaxNodes) + " opened team nodes")
	}
	for _, n := range sub.Nodes {
		if !livePath(n, "dashboards", 4) || !strings.HasPrefix(n, "/dashboards/team/nodes/") {
			return errLiveSubscription("nodes: must be addresses of team nodes (/dashboards/team/nodes/<id>)")
		}
	}
	slices.Sort(sub.Tables)
	sub.Tables = slices.Compact(sub.Tables)
	slices.Sort(sub.Nodes)
	sub.Nodes = slices.Compact(sub.Nodes)
	return nil
}

// livePage says whether uri is a page that can be live: a dashboard, My
// learning or a learner's page. Whether the viewer may see it is the
// page's own answer when it is rendered.
func livePage(uri string) bool {
	return livePath(uri, "dashboards", 0) || livePath(uri, "me", 1) || livePath(uri, "learners", 2)
}

// livePath says whether uri is a clean path (no "..", "//", fragment)
// under /<area>: of exactly segments segments (a table page, not its
// exports), or of two or more when segments is 0.
func livePath(uri, area string, segments int) bool {
	u, err := url.Parse(uri)
	if err != nil || len(uri) > liveMaxURL || u.Scheme != "" || u.Host != "" || u.Fragment != "" || u.Path != path.Clean(u.Path) {
		return false
	}
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	return parts[0] == area && (segments == 0 && len(parts) >= 2 || len(parts) == segments)
}

// liveRender renders the page, table pages and team nodes sub names as the
// viewer would get them, and returns their sections (a table page's
// replace the page's table; a node's are added to the page's) at the
// page's version, with the scope the page was computed for.
func (h *Handlers) liveRender(s *liveSession, sub liveSubscription) (realtime.Snapshot, string, error) {
	page, err := h.liveDispatch(s, sub.Page)
	if err != nil {
		return realtime.Snapshot{}, "", err
	}
	sections, err := realtime.Split(page.body)
	if err != nil {
		return realtime.Snapshot{}, "", err
	}
	for _, t := range sub.Tables {
		part, err := h.liveDispatch(s, t)
		if err != nil {
			return realtime.Snapshot{}, "", err
		}
		tables, err := realtime.Split(part.body)
		if err != nil {
			return realtime.Snapshot{}, "", err
		}
		for _, ts := range tables {
			for i := range sections {
				if sections[i].Key == ts.Key {
					sections[i] = ts
				}
			}
		}
	}
	for _, n := range sub.Nodes {
		part, err := h.liveDispatch(s, n)
		if err != nil {
			return realtime.Snapshot{}, "", err
		}
		nodes, err := realtime.Split(part.body)
		if err != nil {
			return realtime.Snapshot{}, "", err
		}
		// A person reporting along two lines is on the page twice, with
		// the same numbers: one section updates both.
		for _, ns := range nodes {
			if !slices.ContainsFunc(sections, func(s realtime.Section) bool { return s.Key == ns.Key }) {
				sections = append(sections, ns)
			}
		}
	}
	scope := page.scope
	if scope == "" {
		// Not a shared view: share it with no one.
		sum := sha256.Sum256([]byte(s.cookie))
		scope = "session:" + hex.EncodeToString(sum[:8])
	}
	return realtime.Snapshot{Version: page.version, Sections: sections, Lagging: page.lagging}, scope, nil
}

// check asks whether the viewer may still see the page they subscribed
// to (signed in, the same role and scope), by rendering it with their own
// session: usually a hit in the shared caches.
func (s *liveSession) check(h *Handlers) error {
	s.mu.Lock()
	page := s.page
	s.mu.Unlock()
	if page == "" {
		return nil
	}
	_, err := h.liveDispatch(s, page)
	return err
}

// liveProbe is set on a live render's request; newView fills in the scope
// the view was computed for, which names the shared view.
type liveProbe struct{ scope string }

type liveProbeKey struct{}

// noteLiveScope records the view's scope on a live render's request.
func noteLiveScope(c *fiber.Ctx, scope string) {
	if p, ok := c.Locals(liveProbeKey{}).(*liveProbe); ok {
		p.scope = scope
	}
}

// isLiveRender reports whether c is a live render rather than a browser's
// request.
func isLiveRender(c *fiber.Ctx) bool {
	_, ok := c.Locals(liveProbeKey{}).(*liveProbe)
	return ok
}

// livePart is one rendered part of what a viewer is shown.
type livePart struct {
	body    []byte
	version int64
	scope   string
	lagging bool // a section is older than version (headerLagging)
}

// liveDispatch renders uri on the viewer's host with the viewer's session
// cookie, as an htmx request, through the app's own middleware and routes.
func (h *Handlers) liveDispatch(s *liveSession, uri string) (livePart, error) {
	var req fasthttp.Request
	req.Header.SetMethod(fiber.MethodGet)
	req.SetRequestURI(uri)
	req.Header.SetHost(s.host)
	req.Header.SetCookie(auth.CookieName, s.cookie)
	req.Header.Set(htmx.HeaderRequest, "true")
	var fctx fasthttp.RequestCtx
	fctx.Init(&req, nil, nil)
	probe := &liveProbe{}
	fctx.SetUserValue(liveProbeKey{}, probe)
	h.appHandler()(&fctx)

	status := fctx.Response.StatusCode()
	switch {
	case status == fiber.StatusOK:
		version, _ := strconv.ParseInt(string(fctx.Response.Header.Peek(headerVersion)), 10, 64)
		return livePart{body: append([]byte(nil), fctx.Response.Body()...), version: version, scope: probe.scope,
			lagging: len(fctx.Response.Header.Peek(headerLagging)) > 0}, nil
	case status == fiber.StatusUnauthorized || status == fiber.StatusForbidden || (status >= 300 && status < 400) ||
		len(fctx.Response.Header.Peek(htmx.HeaderRedirect)) > 0:
		return livePart{}, fmt.Errorf("%w (%s: %d)", realtime.ErrViewerGone, uri, status)
	case status < 500:
		return livePart{}, errLiveSubscription(fmt.Sprintf("%s cannot be shown live (status %d)", uri, status))
	}
	return livePart{}, fmt.Errorf("live render %s: status %d: %.300s", uri, status, fctx.Response.Body())
}
