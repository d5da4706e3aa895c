package engines

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// webDriver is a WebKit tab driven over W3C WebDriver (HTTP) by Debian's
// WebKitWebDriver, which starts WebKitGTK's MiniBrowser on an Xvfb display
// of the test's own.
type webDriver struct {
	t       *testing.T
	base    string // http://127.0.0.1:port/session/id
	client  *http.Client
	display string
}

// needCommand finds name on PATH or fails the test, naming the package
// make deps installs it from.
func needCommand(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("no %s on PATH: run `make deps` (apt-get install %s)", name, pkg)
	}
	return p
}

// startXvfb starts a virtual display and returns its name (":N").
func startXvfb(t *testing.T) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, needCommand(t, "Xvfb", "xvfb"), "-displayfd", "3", "-screen", "0", "1400x1000x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	stopGently(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	t.Cleanup(func() { r.Close() }) // Xvfb fails when it cannot write the whole number
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case d := <-got:
		if d == "" {
			t.Fatal("Xvfb gave no display number")
		}
		return ":" + d
	case <-time.After(20 * time.Second):
		t.Fatal("Xvfb did not start within 20 s")
	}
	return ""
}

// stopGently makes the end of the test's context stop cmd with SIGTERM, so
// it cleans up (Xvfb its socket and lock, the driver its browser), and kill
// it only if it is still there 10 s later.
func stopGently(cmd *exec.Cmd) {
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// newWebKit starts WebKitWebDriver and a session whose viewport is
// width × height CSS pixels.
func newWebKit(t *testing.T, width, height int) page {
	t.Helper()
	driver := needCommand(t, "WebKitWebDriver", "webkit2gtk-driver")
	display := startXvfb(t)
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, driver, "--port="+strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	stopGently(cmd)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start WebKitWebDriver: %v", err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	root := "http://127.0.0.1:" + strconv.Itoa(port)
	w := &webDriver{t: t, client: &http.Client{Timeout: 90 * time.Second}, display: display}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := w.client.Get(root + "/status")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("WebKitWebDriver did not answer within 30 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var session struct {
		SessionID string `json:"sessionId"`
	}
	if err := w.do(http.MethodPost, root+"/session", map[string]any{"capabilities": map[string]any{}}, &session); err != nil {
		t.Fatalf("WebDriver new session: %v; WebKitWebDriver said: %s", err, out.String())
	}
	w.base = root + "/session/" + session.SessionID
	t.Cleanup(func() { _ = w.do(http.MethodDelete, w.base, nil, nil) })
	if got, err := w.resize(width, height); err != nil || got != width {
		t.Fatalf("WebKit page %d px wide, want %d: %v", got, width, err)
	}
	return w
}

// resize sizes the window so the page gets width × height CSS pixels (the
// window's rect includes the browser's frame) and returns the page's
// width: MiniBrowser's window has a minimum width (447 px here), wider
// than a phone's.
func (w *webDriver) resize(width, height int) (int, error) {
	rect := map[string]int{"width": width, "height": height}
	var inner []int
	for range 3 {
		if err := w.do(http.MethodPost, w.base+"/window/rect", rect, nil); err != nil {
			return 0, fmt.Errorf("WebDriver set window size: %w", err)
		}
		raw, err := w.eval(`[window.innerWidth, window.innerHeight]`)
		if err == nil {
			err = json.Unmarshal(raw, &inner)
		}
		if err != nil || len(inner) != 2 {
			return 0, fmt.Errorf("WebDriver viewport: %s, %v", raw, err)
		}
		if inner[0] == width && inner[1] == height {
			break
		}
		rect["width"] += width - inner[0]
		rect["height"] += height - inner[1]
	}
	return inner[0], nil
}

// do sends a WebDriver command; out receives the reply's "value".
func (w *webDriver) do(method, url string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var reply struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		return fmt.Errorf("%s %s: status %d, %v", method, url, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(reply.Value, &e)
		return fmt.Errorf("%s: %s", e.Error, e.Message)
	}
	if out != nil {
		return json.Unmarshal(reply.Value, out)
	}
	return nil
}

// errorHook collects uncaught exceptions and failed promises in the page
// (classic WebDriver has no console log). Every eval installs it, so it
// sees what scripts do after a page loaded (htmx swaps, live updates).
const errorHook = `if (!window.__engineErrors) {
	window.__engineErrors = [];
	addEventListener('error', e => window.__engineErrors.push('error: ' + e.message + ' (' + e.filename + ':' + e.lineno + ')'));
	addEventListener('unhandledrejection', e => window.__engineErrors.push('unhandled rejection: ' + e.reason));
}`

func (w *webDriver) navigate(url string) error {
	return w.do(http.MethodPost, w.base+"/url", map[string]string{"url": url}, nil)
}

// eval runs the JavaScript expression expr, awaits it when it is a promise,
// and returns its value as JSON.
func (w *webDriver) eval(expr string) (json.RawMessage, error) {
	script := errorHook + `
		const done = arguments[arguments.length - 1];
		Promise.resolve().then(() => (` + expr + `)).then(
			v => done({ok: JSON.stringify(v === undefined ? null : v)}),
			e => done({err: String(e && e.stack || e)}));`
	var r struct {
		OK  *string `json:"ok"`
		Err string  `json:"err"`
	}
	if err := w.do(http.MethodPost, w.base+"/execute/async", map[string]any{"script": script, "args": []any{}}, &r); err != nil {
		return nil, err
	}
	if r.OK == nil {
		return nil, fmt.Errorf("script error: %s", r.Err)
	}
	return json.RawMessage(*r.OK), nil
}

func (w *webDriver) element(css string) (string, error) {
	var el map[string]string
	if err := w.do(http.MethodPost, w.base+"/element", map[string]string{"using": "css selector", "value": css}, &el); err != nil {
		return "", err
	}
	for _, id := range el { // the one key is the W3C element identifier
		return id, nil
	}
	return "", fmt.Errorf("no element matches %s", css)
}

func (w *webDriver) click(css string) error {
	id, err := w.element(css)
	if err != nil {
		return err
	}
	return w.do(http.MethodPost, w.base+"/element/"+id+"/click", map[string]any{}, nil)
}

func (w *webDriver) typeText(css, text string) error {
	id, err := w.element(css)
	if err != nil {
		return err
	}
	return w.do(http.MethodPost, w.base+"/element/"+id+"/value", map[string]string{"text": text}, nil)
}

func (w *webDriver) screenshot() ([]byte, error) {
	var data string
	if err := w.do(http.MethodGet, w.base+"/screenshot", nil, &data); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(data)
}

func (w *webDriver) consoleErrors() []string {
	raw, err := w.eval(`(() => { const e = window.__engineErrors || []; window.__engineErrors = []; return e; })()`)
	if err != nil {
		return []string{"reading errors: " + err.Error()}
	}
	var errs []string
	_ = json.Unmarshal(raw, &errs)
	return errs
}

func (w *webDriver) name() string { return "webkit" }

// syncBuffer is a bytes.Buffer that a process's output goroutines and the
// test can use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
