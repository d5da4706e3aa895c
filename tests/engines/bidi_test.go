package engines

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// firefoxPrefs go into the test profile's user.js. WebDriver BiDi applies
// its recommended automation preferences itself; these only quiet the
// browser's own background traffic.
const firefoxPrefs = `user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.update.disabledForTesting", true);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("services.settings.server", "http://127.0.0.1:9/");
`

// bidi is a Firefox tab driven over WebDriver BiDi: Firefox listens on a
// WebSocket itself (--remote-debugging-port), so no geckodriver is needed.
type bidi struct {
	t       *testing.T
	conn    *websocket.Conn
	context string // the tab's browsing context id

	mu      sync.Mutex
	nextID  int
	waiting map[int]chan bidiReply
	errs    []string
	closed  chan struct{}
	writeMu sync.Mutex
}

type bidiReply struct {
	Type    string          `json:"type"`
	ID      int             `json:"id"`
	Method  string          `json:"method"`
	Result  json.RawMessage `json:"result"`
	Params  json.RawMessage `json:"params"`
	Error   string          `json:"error"`
	Message string          `json:"message"`
}

var bidiListening = regexp.MustCompile(`WebDriver BiDi listening on (ws://\S+)`)

// firefoxPath finds Debian's firefox-esr that make deps installs; without
// it the test fails rather than skipping.
func firefoxPath(t *testing.T) string {
	for _, name := range []string{"firefox-esr", "firefox"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no firefox-esr on PATH: run `make deps` (apt-get install firefox-esr)")
	return ""
}

// newFirefox starts a headless Firefox with a fresh profile and opens a
// BiDi session on its first tab, width × height CSS pixels.
func newFirefox(t *testing.T, width, height int) page {
	t.Helper()
	profile := t.TempDir()
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(firefoxPrefs), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, firefoxPath(t), "--headless", "--no-remote", "--profile", profile,
		"--remote-debugging-port=0", "about:blank")
	cmd.Env = append(os.Environ(), "MOZ_CRASHREPORTER_DISABLE=1")
	stopGently(cmd)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start firefox: %v", err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := bidiListening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	var endpoint string
	select {
	case endpoint = <-found:
	case <-time.After(60 * time.Second):
		t.Fatal("firefox did not start its WebDriver BiDi server within 60 s")
	}
	conn, _, err := websocket.DefaultDialer.Dial(endpoint+"/session", nil)
	if err != nil {
		t.Fatalf("connect to firefox over BiDi: %v", err)
	}
	b := &bidi{t: t, conn: conn, waiting: map[int]chan bidiReply{}, closed: make(chan struct{})}
	go b.read()
	t.Cleanup(func() {
		_, _ = b.call("session.end", map[string]any{})
		conn.Close()
	})
	if _, err := b.call("session.new", map[string]any{"capabilities": map[string]any{}}); err != nil {
		t.Fatalf("BiDi session.new: %v", err)
	}
	if _, err := b.call("session.subscribe", map[string]any{"events": []string{"log.entryAdded"}}); err != nil {
		t.Fatalf("BiDi subscribe to the console: %v", err)
	}
	tree, err := b.call("browsingContext.getTree", map[string]any{})
	if err != nil {
		t.Fatalf("BiDi getTree: %v", err)
	}
	var contexts struct {
		Contexts []struct {
			Context string `json:"context"`
		} `json:"contexts"`
	}
	if err := json.Unmarshal(tree, &contexts); err != nil || len(contexts.Contexts) == 0 {
		t.Fatalf("BiDi tabs: %s, %v", tree, err)
	}
	b.context = contexts.Contexts[0].Context
	if _, err := b.resize(width, height); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *bidi) resize(width, height int) (int, error) {
	_, err := b.call("browsingContext.setViewport", map[string]any{"context": b.context,
		"viewport": map[string]int{"width": width, "height": height}})
	return width, err
}

// read dispatches replies to their callers and collects console errors.
func (b *bidi) read() {
	defer close(b.closed)
	for {
		var m bidiReply
		if err := b.conn.ReadJSON(&m); err != nil {
			return
		}
		switch m.Type {
		case "event":
			if m.Method == "log.entryAdded" {
				var e struct {
					Level      string `json:"level"`
					Text       string `json:"text"`
					Type       string `json:"type"`
					StackTrace struct {
						CallFrames []struct {
							URL  string `json:"url"`
							Line int    `json:"lineNumber"`
						} `json:"callFrames"`
					} `json:"stackTrace"`
				}
				if json.Unmarshal(m.Params, &e) == nil && e.Level == "error" {
					where := ""
					if f := e.StackTrace.CallFrames; len(f) > 0 {
						where = fmt.Sprintf(" (%s:%d)", f[0].URL, f[0].Line+1)
					}
					b.mu.Lock()
					b.errs = append(b.errs, e.Type+": "+e.Text+where)
					b.mu.Unlock()
				}
			}
		default:
			b.mu.Lock()
			ch := b.waiting[m.ID]
			delete(b.waiting, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
	}
}

// call sends a BiDi command and waits up to 60 s for its result.
func (b *bidi) call(method string, params any) (json.RawMessage, error) {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan bidiReply, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	b.writeMu.Lock()
	err := b.conn.WriteJSON(map[string]any{"id": id, "method": method, "params": params})
	b.writeMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	select {
	case r := <-ch:
		if r.Type == "error" {
			return nil, fmt.Errorf("%s: %s: %s", method, r.Error, r.Message)
		}
		return r.Result, nil
	case <-b.closed:
		return nil, fmt.Errorf("%s: connection to firefox closed", method)
	case <-time.After(60 * time.Second):
		return nil, fmt.Errorf("%s: no answer within 60 s", method)
	}
}

func (b *bidi) navigate(url string) error {
	_, err := b.call("browsingContext.navigate", map[string]any{"context": b.context, "url": url, "wait": "complete"})
	return err
}

// eval runs the JavaScript expression expr in the tab, awaits it when it is
// a promise, and returns its value as JSON.
func (b *bidi) eval(expr string) (json.RawMessage, error) {
	res, err := b.call("script.evaluate", map[string]any{
		"expression":   "(async () => JSON.stringify(await (" + expr + ")))()",
		"target":       map[string]string{"context": b.context},
		"awaitPromise": true,
	})
	if err != nil {
		return nil, err
	}
	var r struct {
		Type   string `json:"type"`
		Result struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"result"`
		ExceptionDetails struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return nil, err
	}
	if r.Type == "exception" {
		return nil, errors.New(r.ExceptionDetails.Text)
	}
	if r.Result.Type != "string" { // JSON.stringify(undefined)
		return json.RawMessage("null"), nil
	}
	return json.RawMessage(r.Result.Value), nil
}

// element returns the BiDi shared reference of the first element matching
// css, scrolled into view.
func (b *bidi) element(css string) (map[string]string, error) {
	res, err := b.call("script.callFunction", map[string]any{
		"functionDeclaration": `(css) => { const el = document.querySelector(css); if (el) el.scrollIntoView({block: 'center'}); return el; }`,
		"arguments":           []any{map[string]string{"type": "string", "value": css}},
		"target":              map[string]string{"context": b.context},
		"awaitPromise":        false,
		"resultOwnership":     "root",
	})
	if err != nil {
		return nil, err
	}
	var r struct {
		Result struct {
			Type     string `json:"type"`
			SharedID string `json:"sharedId"`
		} `json:"result"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return nil, err
	}
	if r.Result.Type != "node" {
		return nil, fmt.Errorf("no element matches %s", css)
	}
	return map[string]string{"sharedId": r.Result.SharedID}, nil
}

// click moves the mouse to the middle of the element and presses it, as a
// person does.
func (b *bidi) click(css string) error {
	el, err := b.element(css)
	if err != nil {
		return err
	}
	_, err = b.call("input.performActions", map[string]any{"context": b.context, "actions": []any{map[string]any{
		"type": "pointer", "id": "mouse", "parameters": map[string]string{"pointerType": "mouse"},
		"actions": []any{
			map[string]any{"type": "pointerMove", "x": 0, "y": 0, "origin": map[string]any{"type": "element", "element": el}},
			map[string]any{"type": "pointerDown", "button": 0},
			map[string]any{"type": "pointerUp", "button": 0},
		},
	}}})
	return err
}

// typeText clicks into the element and types text key by key.
func (b *bidi) typeText(css, text string) error {
	if err := b.click(css); err != nil {
		return err
	}
	var keys []any
	for _, r := range text {
		keys = append(keys, map[string]string{"type": "keyDown", "value": string(r)}, map[string]string{"type": "keyUp", "value": string(r)})
	}
	_, err := b.call("input.performActions", map[string]any{"context": b.context, "actions": []any{map[string]any{
		"type": "key", "id": "keyboard", "actions": keys,
	}}})
	return err
}

func (b *bidi) screenshot() ([]byte, error) {
	res, err := b.call("browsingContext.captureScreenshot", map[string]any{"context": b.context, "origin": "document"})
	if err != nil {
		return nil, err
	}
	var r struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(r.Data)
}

// consoleErrors returns the console errors and uncaught exceptions since
// the last call.
func (b *bidi) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	errs := b.errs
	b.errs = nil
	return errs
}

func (b *bidi) name() string { return "firefox" }
