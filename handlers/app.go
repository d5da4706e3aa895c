// Package handlers is where HTTP requests enter LearnLens: the Fiber app,
// its middleware chain and routes, and one file per page or action area.
package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/valyala/fasthttp"

	"github.com/learnlens/learnlens/analytics"
	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/config"
	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/metrics"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/realtime"
	"github.com/learnlens/learnlens/static"
	"github.com/learnlens/learnlens/viewcache"
)

// authCacheSize bounds each of the auth caches (hosts, sessions, users) of
// an instance: about 100,000 signed-in people at a few hundred bytes each.
const authCacheSize = 100_000

// sessionCleanupInterval is how often expired sessions are deleted.
const sessionCleanupInterval = 10 * time.Minute

// Handlers holds what the request handlers depend on.
type Handlers struct {
	draining atomic.Bool // set by Lifecycle.Drain: readiness fails
	cfg      config.Config
	db       *database.DB
	log      *slog.Logger
	tenants  *models.TenantStore
	users    *models.UserStore
	learners *models.LearnerStore
	audit    *models.AuditStore
	links    *models.LinkStore
	hosts    *auth.Hosts
	sessions *auth.Sessions
	authn    *auth.Authenticator
	// listener receives this instance's PostgreSQL notifications. New
	// starts it after building everything, so register channels
	// (listener.Handle) while building the Handlers, before New returns.
	listener      *realtime.Listener
	sessionsStore *models.SessionStore
	// views holds computed dashboard views and scopes, shared by every
	// viewer of the same view on this instance.
	views *viewcache.Cache
	// directory knows the tenants' directory versions (views.Directory).
	directory *viewcache.Versions

	pipeline    *pipeline.Pipeline
	credentials *models.CredentialStore
	importJobs  *models.ImportJobStore
	statements  *models.StatementStore
	documents   *models.DocumentStore
	credCache   credentialCache
	xapiLimits  *credentialLimits
	proxies     []netip.Prefix // TRUSTED_PROXIES
	analytics   *analytics.Store

	// hub pushes changes of open dashboards to the browsers showing them
	// (see live.go); appHandler serves its renders through the app.
	hub        *realtime.Hub
	appHandler func() fasthttp.RequestHandler
	liveUsers  liveViewers // this instance's live connections by user

	metrics *metrics.Set
	api     apiState // API clients, access tokens and their limits (api.go)

	// requirements reads compliance requirements (the pipeline writes them).
	requirements *models.RequirementStore
}

// New builds the LearnLens web app on db: stores, middleware and routes,
// and starts its background work: the notification listener, which keeps
// the auth caches true across instances, and the clean-up of expired
// sessions. metricsHandler serves the instance's Prometheus metrics, for
// the caller to put on its own address (METRICS_ADDR). lc drains the app
// before its HTTP shutdown and ends the background work after it.
func New(cfg config.Config, db *database.DB, log *slog.Logger) (app *fiber.App, metricsHandler http.Handler, lc Lifecycle) {
	tenants := models.NewTenantStore(db)
	users := models.NewUserStore(db)
	audit := models.NewAuditStore(db)
	sessions := models.NewSessionStore(db)
	listener := realtime.NewListener(db, log)
	cache := auth.NewCache(listener, authCacheSize)
	versions := viewcache.NewVersions(db, listener)
	directory := viewcache.NewDirectoryVersions(db, listener)
	pipe := pipeline.New(db)
	pipe.OnCommit(versions.Observe)
	pipe.OnDirectoryCommit(directory.Observe)
	m := metrics.New()
	pipe.Metrics = m
	audit.Recorded = m.Audited
	h := &Handlers{
		cfg:      cfg,
		db:       db,
		log:      log,
		tenants:  tenants,
		users:    users,
		learners: models.NewLearnerStore(db),
		audit:    audit,
		links:    models.NewLinkStore(db),
		hosts:    &auth.Hosts{Tenants: tenants, BaseDomain: cfg.BaseDomain, Cache: cache},
		sessions: auth.NewSessions(users, auth.SessionOptions{
			Store:       sessions,
			Cache:       cache,
			IdleTimeout: cfg.SessionIdleTimeout,
			Lifetime:    cfg.SessionLifetime,
			Secure:      cfg.SecureCookies,
		}),
		authn: auth.NewAuthenticator(users, audit, models.NewLoginThrottle(db, auth.IPThrottleWindow),
			models.NewLoginTicketStore(db), sessions),
		listener:      listener,
		sessionsStore: sessions,
		views:         viewcache.NewCache(versions, cfg.ViewCacheBytes),
		directory:     directory,
		pipeline:      pipe,
		credentials:   models.NewCredentialStore(db),
		importJobs:    models.NewImportJobStore(db),
		statements:    models.NewStatementStore(db),
		documents:     models.NewDocumentStore(db),
		analytics:     analytics.NewStore(db),
		hub:           realtime.NewHub(log, realtime.HubOptions{MaxPerTenant: cfg.LiveMaxPerTenant, MaxTotal: cfg.LiveMaxConnections}),
		metrics:       m,
	}
	h.views.Computed = m.ViewComputed
	h.views.Directory = directory
	h.measure(listener)
	h.useReplica(versions)
	h.api = h.newAPI(listener)
	h.proxies = trustedProxies(cfg.TrustedProxies)
	h.requirements = models.NewRequirementStore(db)
	h.xapiLimits = &credentialLimits{defaults: limits{concurrency: cfg.XAPICredentialConcurrency,
		rate: cfg.XAPICredentialRate, burst: float64(cfg.XAPICredentialBurst)}}
	versions.Subscribe(func(tenant int64, v viewcache.Version) { h.hub.Changed(tenant, v.N) })
	listener.Handle(models.CredentialChannel, func(string) { h.credCache.clear() })
	listener.OnConnect(h.credCache.clear)
	listener.Handle(models.AuthChannel, h.liveUserChanged)
	app = fiber.New(fiber.Config{
		AppName:               "LearnLens",
		ErrorHandler:          h.handleError,
		DisableStartupMessage: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
		BodyLimit:             16 << 20,
		// X-Forwarded-Host and X-Forwarded-Proto choose the tenant and
		// build sign-in links, so only configured proxies may set them.
		EnableTrustedProxyCheck: true,
		TrustedProxies:          cfg.TrustedProxies,
	})
	h.routes(app)
	h.appHandler = sync.OnceValue(app.Handler)

	ctx, cancel := context.WithCancel(context.Background())
	var background sync.WaitGroup
	background.Go(func() { h.listener.Run(ctx) })
	background.Go(func() { every(ctx, sessionCleanupInterval, h.deleteExpiredSessions) })
	background.Go(func() { every(ctx, liveSweepInterval, func(context.Context) { h.hub.Sweep() }) })
	return app, m.Handler(), Lifecycle{
		Drain: func() {
			h.draining.Store(true)
			h.hub.Close(realtime.CloseRestart, "the server is restarting")
		},
		Stop: func() {
			h.hub.Close(realtime.CloseRestart, "the server is restarting")
			cancel()
			background.Wait()
		},
	}
}

// Lifecycle ends an app in two steps. Drain makes readiness fail (so a
// load balancer stops sending new requests) and closes the live
// connections with 1012, whose clients reconnect, through the load
// balancer, to another instance; requests in flight and new ones that
// still arrive are served. Stop, after the HTTP server has shut down, ends
// the background work.
type Lifecycle struct {
	Drain, Stop func()
}

// closeWhenDraining answers with Connection: close while the instance
// drains, so that the keep-alive connections of the load balancer and of
// clients end after a finished response, each at its own next request,
// rather than all at once at the HTTP shutdown. (A WebSocket upgrade is
// left alone: the hub turns it away with 1012.)
func (h *Handlers) closeWhenDraining(c *fiber.Ctx) error {
	if h.draining.Load() && c.Get(fiber.HeaderUpgrade) == "" {
		c.Context().SetConnectionClose()
	}
	return c.Next()
}

// liveSweepInterval is how often every open live view is rendered again
// without a change of gold, so that a new day (the tenant's midnight)
// reaches open pages within it.
const liveSweepInterval = time.Minute

// every runs fn every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func(context.Context)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			fn(ctx)
		}
	}
}

// deleteExpiredSessions removes expired sessions.
func (h *Handlers) deleteExpiredSessions(ctx context.Context) {
	if err := h.sessionsStore.DeleteExpired(ctx); err != nil && ctx.Err() == nil {
		h.log.Warn("delete expired sessions", "err", err)
	}
}

func (h *Handlers) routes(app *fiber.App) {
	app.Use(h.closeWhenDraining)
	app.Use(h.requestLog)
	app.Use(securityHeaders(h.cfg.SecureCookies))
	app.Use(recover.New(recover.Config{EnableStackTrace: true}))
	app.Use(h.checkText)

	// Public and host-independent: no tenant, no session.
	app.Get("/healthz", h.healthz)
	app.Get("/readyz", h.readyz)
	app.Get("/api/v1/openapi.json", h.openAPI)
	app.Get("/api/docs", h.apiDocs)
	// Before static.Register, which serves no manifest; the tenant's
	// logo and manifest are served to anyone on the tenant's host, without
	// a session (see settingsRoutes).
	app.Get("/manifest.webmanifest", h.hosts.ResolveTenant, h.manifest)
	app.Get(models.LogoPath, h.hosts.ResolveTenant, h.tenantLogo)
	static.Register(app)
	h.xapiRoutes(app)
	h.apiRoutes(app)

	// The hand-over of a bare-domain sign-in is posted from the bare
	// domain's page, so it cannot carry the tenant host's CSRF token: it
	// checks the request's origin instead (see redeemLoginTicket), and is
	// registered before the group that would demand the token.
	app.Post("/login/ticket", h.hosts.ResolveTenant, h.sessions.Middleware, h.redeemLoginTicket)
	app.Post("/support/ticket", h.hosts.ResolveTenant, h.sessions.Middleware, h.redeemSupportTicket)

	// Everything else is served for the tenant of the request's host.
	// A bearer token on /api/v1 stands for the session and CSRF token (api.go).
	site := app.Group("", h.hosts.ResolveTenant, h.bearer, unlessBearer(h.sessions.Middleware), unlessBearer(auth.ReadOnlySupport),
		unlessBearer(h.sessions.CheckCSRF), unlessBearer(h.requireMFASetup))
	site.Get("/login", h.loginPage)
	site.Post("/login", h.login)
	site.Get("/login/continue", h.continueLogin)
	site.Get("/login/mfa", h.mfaChallenge)
	site.Post("/login/mfa", h.mfaVerify)
	account := site.Group("/account", auth.RequireLogin)
	account.Get("/mfa", h.mfaPage)
	account.Post("/mfa/setup", h.mfaStart)
	account.Post("/mfa/confirm", h.mfaConfirm)
	site.Post("/logout", auth.RequireLogin, h.logout)
	site.Post("/support/end", auth.RequireLogin, h.endSupport)
	// One-time links: the token is in the path, which the request log
	// leaves out (see logPath).
	site.Get("/invite/:token", h.linkPage(models.LinkInvitation))
	site.Post("/invite/:token", h.acceptInvitation)
	site.Get("/reset/:token", h.linkPage(models.LinkPasswordReset))
	site.Post("/reset/:token", h.resetPassword)
	site.Get("/", auth.RequireLogin, h.home)

	platform := site.Group("/platform", auth.RequireRole(models.RolePlatformAdmin))
	platform.Get("/tenants", h.tenantList)
	platform.Get("/tenants/export.csv", h.tenantUsageCSV)
	platform.Get("/tenants/new", h.newTenantPage)
	platform.Post("/tenants/new", h.createTenant)
	platform.Get("/tenants/:id", h.tenantPage)
	platform.Post("/tenants/:id", h.updateTenant)
	platform.Post("/tenants/:id/status", h.tenantSetStatus)
	platform.Post("/tenants/:id/support", h.startSupport)
	h.offboardRoutes(platform)

	admin := site.Group("/admin", auth.RequireRole(models.RoleTenantAdmin))
	admin.Get("/users", h.userList)
	admin.Post("/users/:id/unlock", h.userAction(models.AuditUserUnlocked, h.users.Unlock))  // lift a lock-out before it runs out
	admin.Post("/users/:id/mfa-reset", h.userAction(models.AuditMFAReset, h.users.ResetMFA)) // a lost second factor
	admin.Post("/users/:id/role", h.userSetRole)
	admin.Post("/users/:id/deactivate", h.userSetActive(false))
	admin.Post("/users/:id/reactivate", h.userSetActive(true))
	admin.Get("/users/:id/learners", h.userLearnerSearch) // the learner type-ahead
	admin.Post("/users/:id/learner", h.userLinkLearner)
	admin.Post("/users/:id/reset-link", h.resetLink)
	admin.Post("/invitations", h.invite)
	admin.Post("/invitations/:id/revoke", h.revokeInvitation)
	h.auditRoutes(admin)
	h.importRoutes(site)
	admin.Post("/mfa-policy", h.mfaPolicy)
	h.credentialRoutes(admin)
	h.settingsRoutes(admin)
	h.dataRightsRoutes(site, admin)
	h.usageRoutes(site)
	h.requirementRoutes(site)

	h.dashboardRoutes(site)
	h.peopleRoutes(site)
	h.apiResourceRoutes(site)
	h.liveRoutes(site)
}
