package browser

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/learnlens/learnlens/tests/testserver"
)

// contentPage is course content served from another origin than the LRS
// (an LMS or a CDN), calling it with TinCanJS, a widely used xAPI client
// library (which sends X-Experience-API-Version 1.0.2), and with fetch.
// run resolves to what each call gave, as JSON.
const contentPage = `<!doctype html><meta charset="utf-8"><title>content</title>
<script src="/tincan.js"></script>
<script>
async function run(endpoint) {
  const lrs = new TinCan.LRS({endpoint: endpoint, username: "acme-demo-key", password: "acme-demo-secret", allowFail: false});
  const activity = new TinCan.Activity({id: "https://lms.acme.test/courses/security"});
  const agent = new TinCan.Agent({mbox: "mailto:learner@acme.test"});
  // call runs a TinCanJS method with a callback and resolves to its result.
  const call = (method, ...args) => new Promise(resolve => {
    const cfg = args.pop();
    cfg.callback = (err, result) => resolve({err: err, result: result});
    lrs[method](...args, cfg);
  });
  const status = r => r.result && r.result.status !== undefined ? r.result.status : "error " + r.err;
  const out = {version: lrs.version};
  out.put = status(await call("saveState", "bookmark", {page: 7}, {activity, agent, contentType: "application/json"}));
  let got = await call("retrieveState", "bookmark", {activity, agent});
  out.etag = got.result && got.result.etag;
  out.post = status(await call("saveState", "bookmark", {chapter: 2}, {activity, agent, contentType: "application/json", method: "POST", lastSHA1: out.etag}));
  got = await call("retrieveState", "bookmark", {activity, agent});
  out.merged = got.result && got.result.contents;
  out.stale = status(await call("saveAgentProfile", "prefs", {lang: "fr"}, {agent, contentType: "application/json", lastSHA1: "0000"}));
  out.statement = status(await call("saveStatement", new TinCan.Statement({actor: agent,
    verb: {id: "http://adlnet.gov/expapi/verbs/experienced"}, target: activity}), {}));
  const certificate = new TinCan.Attachment({usageType: "http://id.tincanapi.com/attachment/certificate-of-completion",
    display: {"en-US": "certificate"}, contentType: "text/plain"});
  certificate.setContentFromString("Certificate: Lee Learner completed security");
  const completed = new TinCan.Statement({id: TinCan.Utils.getUUID(), actor: agent,
    verb: {id: "http://adlnet.gov/expapi/verbs/completed"}, target: activity, attachments: [certificate]});
  out.attachmentPut = status(await call("saveStatement", completed, {}));
  const back = await call("retrieveStatement", completed.id, {params: {attachments: true}});
  out.attachmentBack = back.result && back.result.attachments ?
    TinCan.Utils.stringFromArrayBuffer(back.result.attachments[0].content) : "error " + back.err;
  out.drop = status(await call("dropState", null, {activity, agent}));
  out.ids = (await call("retrieveStateIds", {activity, agent})).result;
  const head = await fetch(endpoint + "statements?limit=1", {method: "HEAD", headers: {
    "Authorization": "Basic " + btoa("acme-demo-key:acme-demo-secret"), "X-Experience-API-Version": "1.0.3"}});
  out.head = head.status;
  out.consistentThrough = head.headers.get("X-Experience-API-Consistent-Through");
  return JSON.stringify(out);
}
</script>`

// TestXAPIFromContentOnAnotherOrigin runs an xAPI client library in
// Chromium on a page of another origin: its preflighted PUT to the State
// Resource, a POST merge with If-Match, a Profile PUT with a stale ETag
// (412), a statement PUT, a statement PUT with an attachment's data
// (multipart/mixed) read back with attachments=true, DELETE of all state,
// HEAD, and the exposed headers.
func TestXAPIFromContentOnAnotherOrigin(t *testing.T) {
	srv := testserver.Start(t)
	library := filepath.Join("..", "..", "node_modules", "tincanjs", "build", "tincan-min.js")
	content := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/tincan.js" {
			http.ServeFile(w, r, library)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(contentPage))
	}))
	t.Cleanup(content.Close)

	b := newBrowser(t, 800, 600)
	ctx := b.step(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(content.URL+"/")); err != nil {
		t.Fatal(err)
	}
	// The page is on 127.0.0.1:<content port>, the LRS on localhost:<port>:
	// two origins.
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`run("`+srv.URL("localhost", "/xapi/")+`")`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run: %v (console: %v)", err, b.consoleErrors())
	}
	var got struct {
		Version               string
		Put, Post, Stale      any
		Etag                  string
		Merged                map[string]any
		Statement, Drop, Head any
		AttachmentPut         any
		AttachmentBack        string
		IDs                   []string
		ConsistentThrough     string
	}
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"the library's version header", got.Version, "1.0.2"},
		{"preflighted State PUT", got.Put, float64(204)},
		{"POST with If-Match", got.Post, float64(204)},
		{"profile PUT with a stale If-Match", got.Stale, float64(412)},
		{"statement PUT", got.Statement, float64(204)},
		{"multipart statement PUT with an attachment", got.AttachmentPut, float64(204)},
		{"the attachment read back with attachments=true", got.AttachmentBack, "Certificate: Lee Learner completed security"},
		{"DELETE of all state", got.Drop, float64(204)},
		{"HEAD statements", got.Head, float64(200)},
		{"merged bookmark", got.Merged["page"], float64(7)},
		{"merged chapter", got.Merged["chapter"], float64(2)},
		{"ids left", len(got.IDs), 0},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v (all: %s)", c.what, c.got, c.want, raw)
		}
	}
	if len(got.Etag) != 42 || got.Etag[0] != '"' || got.ConsistentThrough == "" {
		t.Errorf("ETag %q and X-Experience-API-Consistent-Through %q must be readable from another origin", got.Etag, got.ConsistentThrough)
	}
}
