package tests

import (
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/learnlens/learnlens/tests/testserver"
)

// TestStatementResource_2_1_3 checks what GET statements sends besides
// the statements: Last-Modified (the newest stored time returned),
// X-Experience-API-Consistent-Through never in the future, and with
// attachments=true a multipart/mixed body whose first part is the JSON.
func TestStatementResource_2_1_3(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	l := newLRS(t, srv, "acme")
	r := l.do(http.MethodPost, "/xapi/statements", stmt("", "learner@acme.test", "launched", docActivity, "2026-10-01T09:00:00Z", ""))
	var ids []string
	if err := json.Unmarshal([]byte(r.Body), &ids); err != nil || len(ids) != 1 {
		t.Fatalf("POST: %d %s", r.Status, r.Body)
	}
	var stored struct{ Stored time.Time }
	json.Unmarshal([]byte(l.do(http.MethodGet, "/xapi/statements?statementId="+ids[0], "").Body), &stored)

	for _, path := range []string{"/xapi/statements?statementId=" + ids[0], "/xapi/statements", "/xapi/statements?attachments=true"} {
		r := l.do(http.MethodGet, path, "")
		lm, err := http.ParseTime(r.Header.Get("Last-Modified"))
		if err != nil || !lm.Equal(stored.Stored.Truncate(time.Second)) {
			t.Errorf("GET %s: Last-Modified %q, want the stored time %s", path, r.Header.Get("Last-Modified"), stored.Stored)
		}
		ct, err := time.Parse(time.RFC3339Nano, r.Header.Get("X-Experience-API-Consistent-Through"))
		if err != nil || ct.After(time.Now()) {
			t.Errorf("GET %s: X-Experience-API-Consistent-Through %q is not a past time", path, r.Header.Get("X-Experience-API-Consistent-Through"))
		}
	}
	if r := l.do(http.MethodGet, "/xapi/statements?since=2099-01-01T00:00:00Z", ""); r.Header.Get("Last-Modified") != "" {
		t.Errorf("an empty page has Last-Modified %q", r.Header.Get("Last-Modified"))
	}

	for _, path := range []string{"/xapi/statements?attachments=true", "/xapi/statements?attachments=true&statementId=" + ids[0]} {
		r := l.do(http.MethodGet, path, "")
		mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mediaType != "multipart/mixed" {
			t.Errorf("GET %s: Content-Type %q, want multipart/mixed", path, r.Header.Get("Content-Type"))
			continue
		}
		part, err := multipart.NewReader(strings.NewReader(r.Body), params["boundary"]).NextPart()
		if err != nil {
			t.Errorf("GET %s: %v", path, err)
			continue
		}
		body, _ := io.ReadAll(part)
		if part.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), ids[0]) {
			t.Errorf("GET %s: first part %v %s", path, part.Header, body)
		}
	}
}
