// Package browser drives the real LearnLens server with headless Chromium.
package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

// artifacts is where screenshots go (tests/artifacts, ignored by git).
var artifacts = filepath.Join("..", "artifacts")

// browser is a headless Chromium tab that collects console errors,
// uncaught exceptions and failed resource loads.
type browser struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

func newBrowser(t *testing.T, width, height int64) *browser {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(int(width), int(height)),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first call starts the browser and binds it to ctx, which has no
	// deadline; each test step gets its own timeout (see step).
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, height)); err != nil {
		t.Fatalf("start chromium (%s): %v", path, err)
	}
	b := &browser{ctx: ctx}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.errors = append(b.errors, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// step returns a context for one test step, bounded in time.
func (b *browser) step(t *testing.T) context.Context {
	return b.stepWithin(t, 30*time.Second)
}

// stepWithin is step for a step that waits on the server's own work (an
// import running in the background), whose time grows with the machine's
// load.
func (b *browser) stepWithin(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(b.ctx, d)
	t.Cleanup(cancel)
	return ctx
}

func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// chromiumPath finds the Debian chromium that make test installs; without
// it the test fails rather than skipping.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: run `make deps` (apt-get install chromium)")
	return ""
}

func screenshot(t *testing.T, b *browser, name string) {
	t.Helper()
	png, err := chromedp.Run(b.step(t), chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(artifacts, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func login(ctx context.Context, srv *testserver.Server, email string) error {
	return chromedp.Do(ctx,
		chromedp.Navigate(srv.URL("acme.localhost", "/login")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), seed.DemoPassword),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="home"]`)),
	)
}

func TestAdminSignsInSeesNavigationAndTheAppWorksOffline(t *testing.T) {
	srv := testserver.Start(t)
	b := newBrowser(t, 1280, 900)
	ctx := b.step(t)

	if err := login(ctx, srv, "admin@acme.test"); err != nil {
		t.Fatalf("sign in: %v (console: %v)", err, b.consoleErrors())
	}
	title, _ := chromedp.Run(ctx, chromedp.Title())
	org, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="org-name"]`)))
	manage, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('[data-testid="nav"] [data-testid="nav-manage-open"]').offsetParent`))
	phoneMenu, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('[data-testid="mobile-nav"]').offsetParent`))
	if !strings.Contains(title, "Home") || strings.TrimSpace(org) != "Acme Corp" || !manage || phoneMenu {
		t.Errorf("home page: title %q, org %q, Manage menu visible %v, phone menu visible %v", title, org, manage, phoneMenu)
	}
	// The navigation is one row at 1280 px: the admin's pages are in the
	// Manage menu, which opens on a click and closes on Escape or a click
	// elsewhere.
	if rows := evalJS[int](ctx, t, `new Set([...document.querySelectorAll('[data-testid="nav"] > ul > li')].map(li => Math.round(li.getBoundingClientRect().top))).size`); rows != 1 {
		t.Errorf("the navigation takes %d rows at 1280 px", rows)
	}
	click(ctx, t, `[data-testid="nav-manage-open"]`)
	waitJS(ctx, t, "Manage menu open", `!!document.querySelector('[data-testid="nav"] [data-testid="nav-users"]').offsetParent`)
	evalJS[bool](ctx, t, `document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'})), true`)
	waitJS(ctx, t, "Manage menu closed by Escape", `!document.querySelector('[data-testid="nav-manage"]').open`)
	click(ctx, t, `[data-testid="nav-manage-open"]`)
	click(ctx, t, `[data-testid="nav-manage"] [data-testid="nav-audit"]`)
	waitJS(ctx, t, "audit log from the Manage menu", `location.pathname === '/admin/audit'
		&& !!document.querySelector('[data-testid="nav-manage-open"].nav-link-active')`)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL("acme.localhost", "/")), chromedp.WaitVisible(chromedp.CSS(`[data-testid="home"]`))); err != nil {
		t.Fatalf("home again: %v", err)
	}

	// The service worker registers and takes control.
	scope, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`navigator.serviceWorker.ready.then(r => r.active ? r.scope : "")`, chromedp.EvalAwaitPromise))
	if err != nil || scope != srv.URL("acme.localhost", "/") {
		t.Fatalf("service worker: scope %q, err %v", scope, err)
	}
	screenshot(t, b, "home-admin-1280.png")
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}

	// htmx swaps a failed form in place: sign out, then sign in wrongly.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="user-menu"] [data-testid="logout"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.ID("email"), "admin@acme.test"),
		chromedp.SendKeys(chromedp.ID("password"), "wrong password"),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-error"]`)),
	)
	loginError, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="login-error"]`)))
	if err != nil || !strings.Contains(loginError, "incorrect") {
		t.Errorf("failed sign-in message: %q, err %v", loginError, err)
	}
	// The browser reports the deliberate 401 itself; nothing else may appear.
	for _, e := range b.consoleErrors() {
		if !strings.Contains(e, "status of 401") {
			t.Errorf("console error: %s", e)
		}
	}

	// With the server gone, a navigation gets the offline page from the
	// service worker.
	srv.App.ShutdownWithTimeout(5 * time.Second)
	ctx = b.step(t)
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL("acme.localhost", "/")),
		chromedp.WaitVisible(chromedp.CSS(`h1`)),
	)
	offline, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`h1`)))
	if err != nil || !strings.Contains(offline, "offline") {
		t.Errorf("offline navigation: h1 %q, err %v", offline, err)
	}
}

func TestPhoneWidthHasNoHorizontalOverflow(t *testing.T) {
	srv := testserver.Start(t)
	b := newBrowser(t, 390, 844)
	const overflows = `document.documentElement.scrollWidth > window.innerWidth`
	for _, email := range []string{"admin@acme.test", "learner@acme.test"} {
		ctx := b.step(t)
		err := chromedp.Do(ctx,
			chromedp.Navigate(srv.URL("acme.localhost", "/login")),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](overflows)); o {
			t.Errorf("sign-in page overflows horizontally at 390 px")
		}
		if err := login(ctx, srv, email); err != nil {
			t.Fatalf("%s: %v", email, err)
		}
		// The checks below read the layout: wait until app.css applies (a
		// script can run before a render-blocking stylesheet has loaded,
		// which on a loaded machine made the wide navigation look visible).
		err = chromedp.Do(ctx, chromedp.Poll[chromedp.Void](
			`getComputedStyle(document.querySelector('.skip-link')).position === 'absolute'`,
			chromedp.WithPollingTimeout(10*time.Second)))
		if err != nil {
			t.Fatalf("%s: app.css never applied: %v", email, err)
		}
		overflow, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](overflows))
		menu, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('[data-testid="mobile-nav"]').offsetParent`))
		wideNav, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('[data-testid="nav"]').offsetParent`))
		if overflow || !menu || wideNav {
			t.Errorf("%s at 390 px: overflow %v, phone menu visible %v, wide navigation visible %v", email, overflow, menu, wideNav)
		}
		screenshot(t, b, "home-"+strings.Split(email, "@")[0]+"-390.png")
		if email == "admin@acme.test" {
			// The engagement dashboard, "Activity now" and its "Data as
			// of" line first.
			err = chromedp.Do(ctx,
				chromedp.Navigate(srv.URL("acme.localhost", "/dashboards/engagement")),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="activity-as-of"]`)),
			)
			if err != nil {
				t.Fatalf("engagement dashboard at 390 px: %v", err)
			}
			if o, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](overflows)); o {
				t.Errorf("the engagement dashboard overflows horizontally at 390 px")
			}
			screenshot(t, b, "engagement-admin-390.png")
		}
		// The phone menu, open: every item inside the screen's width (an
		// admin's has the Manage group too), then sign out from it.
		err = chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`[data-testid="mobile-nav"] summary`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="mobile-nav"] [data-testid="logout"]`)),
		)
		if err != nil {
			t.Fatalf("%s: open the phone menu: %v", email, err)
		}
		outside, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="mobile-nav"] a, [data-testid="mobile-nav"] button')]
			.filter(e => { const r = e.getBoundingClientRect(); return r.left < 0 || r.right > innerWidth || r.width === 0 })
			.map(e => e.textContent.trim())`))
		if err != nil || len(outside) > 0 {
			t.Errorf("%s at 390 px: phone menu items outside the screen or hidden: %v %v", email, outside, err)
		}
		screenshot(t, b, "menu-"+strings.Split(email, "@")[0]+"-390.png")
		err = chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`[data-testid="mobile-nav"] [data-testid="logout"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		)
		if err != nil {
			t.Fatalf("%s: sign out on the phone menu: %v", email, err)
		}
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}
