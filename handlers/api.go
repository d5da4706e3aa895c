package handlers

import (
	"errors"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/realtime"
)

// apiState is what the /api/v1 surface needs besides the pages' stores:
// the tenants' API clients, the access tokens, each client's rate limit
// and a cache of the clients that tokens name.
type apiState struct {
	clients *models.APIClientStore
	tokens  *auth.Tokens
	limits  *credentialLimits
	cache   *clientCache
}

// newAPI builds the API's state and registers its notifications with
// listener (which must not be running yet): a rotation of the signing
// keys, and changes of clients (on models.AuthChannel).
func (h *Handlers) newAPI(listener *realtime.Listener) apiState {
	key, err := h.cfg.TokenSealKey()
	if err != nil {
		h.log.Error("API tokens are off", "err", err)
		key = nil
	} else if key == nil {
		h.log.Warn("API tokens are off: set TOKEN_KEY or TOKEN_KEY_FILE")
	}
	tokens := auth.NewTokens(models.NewTokenKeyStore(h.db), key, "urn:learnlens:"+h.cfg.BaseDomain, h.cfg.Clock)
	listener.Handle(models.TokenKeyChannel, func(string) { tokens.Forget() })
	listener.OnConnect(tokens.Forget)
	cache := &clientCache{listener: listener, entries: map[clientKey]models.APIClient{}}
	listener.Handle(models.AuthChannel, cache.changed)
	listener.OnConnect(cache.clear)
	return apiState{
		clients: models.NewAPIClientStore(h.db),
		tokens:  tokens,
		limits:  &credentialLimits{defaults: limits{rate: h.cfg.APIClientRate, burst: math.Max(float64(h.cfg.APIClientBurst), 1)}},
		cache:   cache,
	}
}

// apiRoutes mounts the token endpoint and the public keys, which need no
// session and no token; register it before the site group.
func (h *Handlers) apiRoutes(app *fiber.App) {
	app.Get("/.well-known/jwks.json", h.jwks)
	app.Post("/api/v1/oauth/token", h.hosts.ResolveTenant, h.oauthToken)
}

// apiResourceRoutes mounts the /api/v1 resources on the site group, whose
// chain is the API's one entry point (see bearer). Each route names what
// it needs with apiAccess: a scope for tokens, roles for people.
func (h *Handlers) apiResourceRoutes(site fiber.Router) {
	api := site.Group("/api/v1")
	dashboards, learners, users := models.ScopeDashboardsRead, models.ScopeLearnersRead, models.ScopeUsersManage
	api.Get("/dashboards/learner/:section", apiAccess(learners), h.learnerSectionJSON)
	api.Get("/dashboards/:dash/:section", apiAccess(dashboards), h.dashboardJSON)
	api.Get("/tables/:dash/:table", apiAccess(dashboards), learnerTable, h.tableJSON)
	api.Get("/tables/:dash/:table/export.csv", apiAccess(dashboards), learnerTable, h.exportCSV)
	api.Get("/tables/:dash/:table/export.xlsx", apiAccess(dashboards), learnerTable, h.exportXLSX)
	api.Get("/learners/:learner", apiAccess(learners), h.learnerJSON)
	api.Get("/team/nodes", apiAccess(dashboards, dashboardRoles...), h.teamJSON)
	api.Get("/team/nodes/:node", apiAccess(dashboards, dashboardRoles...), h.teamJSON)
	api.Get("/users", apiAccess(users, models.RoleTenantAdmin), h.usersJSON)
	api.Get("/users/:id", apiAccess(users, models.RoleTenantAdmin), h.userJSON)
	api.Post("/users", apiAccess(users, models.RoleTenantAdmin), h.inviteJSON)
}

// unlessBearer runs mw for requests without a bearer token only: the site
// group's session, support and CSRF middleware never see a token's request.
func unlessBearer(mw fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if auth.Client(c) != nil {
			return c.Next()
		}
		return mw(c)
	}
}

// apiAccess guards an /api/v1 route: a client's token must carry scope; a
// signed-in person must have one of roles (any role when none are
// given). Nobody signed in gets 401 JSON, never a redirect. Routes that
// take tokens use it instead of auth.RequireRole, which refuses them.
func apiAccess(scope string, roles ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if cl := auth.Client(c); cl != nil {
			if !cl.Has(scope) {
				return insufficientScope(c, scope)
			}
			return c.Next()
		}
		u := auth.User(c)
		if u == nil {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="LearnLens"`)
			return fiber.NewError(fiber.StatusUnauthorized, "sign in, or send an access token (Authorization: Bearer) from POST /api/v1/oauth/token")
		}
		if len(roles) > 0 && !slices.Contains(roles, u.Role) {
			return fiber.NewError(fiber.StatusForbidden, auth.ErrForbidden.Error())
		}
		return c.Next()
	}
}

// bearer is the API's entry point in the site group's chain: a request to
// /api/v1 with Authorization: Bearer is authenticated by the token alone
// (it must verify for the host's tenant and name a live client of it),
// then acts for that client within its rate limit, and the session and
// CSRF middleware let it pass untouched (unlessBearer). Any other request,
// and a bearer header anywhere else, goes on to the session as before.
func (h *Handlers) bearer(c *fiber.Ctx) error {
	scheme, token, _ := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
	if !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(c.Path(), "/api/v1/") {
		return c.Next()
	}
	tenant := auth.Tenant(c)
	claims, err := h.api.tokens.Verify(c.UserContext(), strings.TrimSpace(token), tenant.ID)
	if errors.Is(err, auth.ErrTokensOff) {
		return fiber.NewError(fiber.StatusServiceUnavailable, err.Error())
	}
	if err != nil {
		if !errors.Is(err, auth.ErrBadToken) {
			return err
		}
		h.log.Info("bearer token refused", "request_id", requestID(c), "err", err)
		return invalidToken(c, "the access token is invalid or expired; get a new one from POST /api/v1/oauth/token")
	}
	client, err := h.api.cache.get(tenant.ID, claims.ClientID, func() (models.APIClient, error) {
		return h.api.clients.ByClientID(c.UserContext(), tenant.ID, claims.ClientID)
	})
	switch {
	case errors.Is(err, models.ErrNotFound):
		return invalidToken(c, "the access token's client does not exist")
	case err != nil:
		return err
	case client.RevokedAt != nil:
		return invalidToken(c, "the access token's client is revoked")
	case claims.SecretVersion != client.SecretVersion():
		return invalidToken(c, "the client's secret was rotated after this token was issued; get a new one")
	}
	var scopes []string
	for _, s := range strings.Fields(claims.Scope) {
		if client.Has(s) {
			scopes = append(scopes, s)
		}
	}
	auth.ActAsClient(c, &auth.ClientAccess{ID: client.ID, ClientID: client.ClientID, Name: client.Name, Scopes: scopes})
	done, wait := h.api.limits.take(client.ID, h.api.limits.defaults, time.Now())
	if done == nil {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		return fiber.NewError(fiber.StatusTooManyRequests, "this client is asking faster than its rate limit allows; retry after the Retry-After seconds")
	}
	defer done()
	return c.Next()
}

// invalidToken is RFC 6750's answer to a token that does not do: 401 with
// WWW-Authenticate naming the error.
func invalidToken(c *fiber.Ctx, msg string) error {
	c.Set(fiber.HeaderWWWAuthenticate, `Bearer error="invalid_token"`)
	return fiber.NewError(fiber.StatusUnauthorized, msg)
}

// insufficientScope is RFC 6750's answer to a token without scope: 403.
func insufficientScope(c *fiber.Ctx, scope string) error {
	c.Set(fiber.HeaderWWWAuthenticate, `Bearer error="insufficient_scope", scope="`+scope+`"`)
	return fiber.NewError(fiber.StatusForbidden, "this token lacks the scope "+scope)
}

// learnerTable refuses a learner table (dash "learner") to a token without
// learners:read: learner records need it besides dashboards:read.
func learnerTable(c *fiber.Ctx) error {
	if cl := auth.Client(c); cl != nil && c.Params("dash") == "learner" && !cl.Has(models.ScopeLearnersRead) {
		return insufficientScope(c, models.ScopeLearnersRead)
	}
	return c.Next()
}

// learnerSectionJSON is a learner's section (learner/profile and the
// learner tables): learners:read.
func (h *Handlers) learnerSectionJSON(c *fiber.Ctx) error {
	return h.sectionJSON(c, "learner", c.Params("section"))
}

// tableJSON is a page of a table as JSON, with its sort and paging (the
// query's sort, desc, page and q, as the table fragments take them).
func (h *Handlers) tableJSON(c *fiber.Ctx) error {
	d, t := c.Params("dash"), c.Params("table")
	if !analytics.HasTable(d + "/" + t) {
		return fiber.ErrNotFound
	}
	return h.sectionJSON(c, d, t)
}

// LearnerJSON is a learner's record as GET /api/v1/learners/:learner sends
// it: what the learner page shows.
type LearnerJSON struct {
	Profile      analytics.Learner   `json:"profile"`
	Courses      analytics.TableJSON `json:"courses"`
	Certificates analytics.TableJSON `json:"certificates"`
	Attempts     analytics.TableJSON `json:"attempts"`
}

// learnerJSON is a learner's record (the learner page's view, shared with
// it) in the section envelope: dashboard "learner", section "record".
func (h *Handlers) learnerJSON(c *fiber.Ctx) error {
	id, err := pathID(c, "learner")
	if err != nil {
		return err
	}
	v, err := h.newView(c)
	if err != nil {
		return err
	}
	d, err := computePage(h, c.UserContext(), v, learnerViewName(v, id), v.pageFilters(),
		func(q *analytics.Q) (analytics.LearnerView, error) { return q.LearnerView(id) })
	if err != nil {
		return err
	}
	out := LearnerJSON{Profile: d.Profile, Courses: labelled(d.Courses), Certificates: labelled(d.Certificates), Attempts: labelled(d.Attempts)}
	return h.sendSection(c, v, "learner", "record", v.pageFilters(), out)
}

// teamJSON is the organisation tree: the top nodes the viewer may see, or
// the children of node.
func (h *Handlers) teamJSON(c *fiber.Ctx) error {
	var node int64
	if c.Params("node") != "" {
		var err error
		if node, err = pathID(c, "node"); err != nil {
			return err
		}
	}
	v, err := h.newView(c)
	if err != nil {
		return err
	}
	day, err := parseAsOf(c, v, "team/nodes")
	if err != nil {
		return err
	}
	f := v.viewFilters(true)
	var nodes []analytics.TeamNode
	if node == 0 {
		nodes, err = h.teamStart(c.UserContext(), v, day)
	} else {
		nodes, err = h.teamChildren(c.UserContext(), v, node, day)
	}
	if err != nil {
		return err
	}
	if nodes == nil {
		nodes = []analytics.TeamNode{}
	}
	return h.sendSection(c, v, "team", "nodes", f, nodes, day)
}

// labelled is a table page as JSON with its columns' labels.
func labelled(t analytics.Table) analytics.TableJSON {
	out := t.JSON()
	for i, col := range out.Columns {
		if col.Kind != "id" {
			out.Columns[i].Label = columnLabel(t.ID, col.Key)
		}
	}
	return out
}

// sendSection answers data in the section envelope (SectionJSON); asOf,
// when given and not zero, is the past day the data is for.
func (h *Handlers) sendSection(c *fiber.Ctx, v *viewCtx, d, section string, f analytics.Filters, data any, asOf ...time.Time) error {
	out := SectionJSON{Dashboard: d, Section: section, Version: v.meta.Version, Date: v.meta.Date.Format(time.DateOnly),
		Filters: f.Values(), Data: jsonSafe(data)}
	if out.Filters == nil {
		out.Filters = url.Values{}
	}
	if !v.meta.AsOf.IsZero() {
		s := v.meta.AsOf.Format(time.RFC3339)
		out.AsOf = &s
	}
	for _, day := range asOf {
		asOfEnvelope(&out, day)
	}
	showsVersion(c, v.meta)
	return c.JSON(out)
}

// clientCache keeps, per instance, the API clients that tokens name, so a
// bearer request reads none from PostgreSQL. A rotation or revocation is
// announced on models.AuthChannel (models.ClientChanged) and drops the
// client on every instance; while the listener is disconnected nothing is
// trusted, and a reconnection empties it, as auth.Cache does.
type clientCache struct {
	listener *realtime.Listener

	mu      sync.Mutex
	entries map[clientKey]models.APIClient
	epoch   uint64
}

type clientKey struct {
	tenantID int64
	clientID string
}

// clientCacheSize bounds the cache; past it, it starts again empty.
const clientCacheSize = 100_000

func (cc *clientCache) get(tenantID int64, clientID string, load func() (models.APIClient, error)) (models.APIClient, error) {
	if !cc.listener.Connected() {
		return load()
	}
	k := clientKey{tenantID, clientID}
	cc.mu.Lock()
	cl, ok := cc.entries[k]
	epoch := cc.epoch
	cc.mu.Unlock()
	if ok {
		return cl, nil
	}
	cl, err := load()
	if err != nil {
		return cl, err
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.epoch == epoch {
		if len(cc.entries) >= clientCacheSize {
			clear(cc.entries)
		}
		cc.entries[k] = cl
	}
	return cl, nil
}

// changed drops the client a notification names.
func (cc *clientCache) changed(payload string) {
	ch, err := models.ParseAuthChange(payload)
	if err != nil {
		cc.clear()
		return
	}
	if ch.Kind == models.ChangedClient {
		cc.forget(ch.TenantID, ch.ClientID)
	}
}

func (cc *clientCache) forget(tenantID int64, clientID string) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.epoch++
	delete(cc.entries, clientKey{tenantID, clientID})
}

func (cc *clientCache) clear() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.epoch++
	clear(cc.entries)
}

// jwks lists the public keys that verify access tokens (RFC 7517): the
// current one and those retired less than auth.KeyGrace ago.
func (h *Handlers) jwks(c *fiber.Ctx) error {
	keys, err := h.api.tokens.JWKS(c.UserContext())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	return c.JSON(fiber.Map{"keys": keys})
}
