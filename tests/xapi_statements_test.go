package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/learnlens/learnlens/database/testdb"
	"github.com/learnlens/learnlens/pipeline"
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

// TestConsistentThroughFollowsTheBatchesInFlight: the Statement
// Resource's X-Experience-API-Consistent-Through is never later than the
// stored time of a batch still committing (one held at the tenant's
// pipeline lock here), so a client that reads up to it misses nothing
// that commits later; and with nothing in flight it is about now (it was
// 35 s behind), not a fixed lag.
func TestConsistentThroughFollowsTheBatchesInFlight(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	l := newLRS(t, srv, "acme")
	through := func() time.Time {
		t.Helper()
		r := l.do(http.MethodGet, "/xapi/statements?limit=1", "")
		ct, err := time.Parse(time.RFC3339Nano, r.Header.Get("X-Experience-API-Consistent-Through"))
		if r.Status != http.StatusOK || err != nil {
			t.Fatalf("GET statements: %d, Consistent-Through %q", r.Status, r.Header.Get("X-Experience-API-Consistent-Through"))
		}
		return ct
	}
	admin := testdb.Superuser(t, srv.DB)
	var acmeID int64
	if err := admin.QueryRow(`SELECT id FROM tenants WHERE slug = 'acme'`).Scan(&acmeID); err != nil {
		t.Fatal(err)
	}

	// A batch of a tenant of the same id in another database of the
	// cluster (the other tests', a staging copy), by the same login, is
	// not this acme's.
	elsewhere, err := testdb.New(t).SQL().Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer elsewhere.Rollback()
	if _, err := elsewhere.Exec(`SELECT set_config('application_name', $1, true)`, pipeline.IngestApplicationName(acmeID)); err != nil {
		t.Fatal(err)
	}
	if ct := through(); time.Since(ct) > 3*time.Second || ct.After(time.Now()) {
		t.Errorf("quiet tenant: Consistent-Through %v, %v before now; want within a few seconds, never later", ct, time.Since(ct))
	}

	// Hold acme's pipeline lock (the pipeline's key, 0x4c4c, and the
	// tenant) from outside, so that a batch stops after stamping its
	// statements, while it is still committing.
	lock, err := admin.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(context.Background(), `SELECT pg_advisory_lock(19532, $1::int)`, acmeID); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	done := make(chan testserver.Response, 1)
	go func() {
		done <- l.do(http.MethodPost, "/xapi/statements", stmt("", "learner@acme.test", "launched", docActivity, "2026-10-01T09:00:00Z", ""))
	}()
	time.Sleep(1500 * time.Millisecond) // the batch is waiting for the lock
	if ct := through(); !ct.Before(sent) {
		t.Errorf("Consistent-Through %v while a batch sent at %v is still committing: its statements could appear before it later", ct, sent)
	}
	if _, err := lock.ExecContext(context.Background(), `SELECT pg_advisory_unlock(19532, $1::int)`, acmeID); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.Status != http.StatusOK {
		t.Fatalf("held batch: %d %s", r.Status, r.Body)
	}
	if ct := through(); !ct.After(sent) {
		t.Errorf("Consistent-Through %v after the batch committed, still before it was sent (%v)", ct, sent)
	}
}

// TestStatementRefFilters_2_1_3_s3: a statement whose object is a
// StatementRef matches a query's agent, verb, activity and registration
// filters when the statement it targets does, down a chain of references;
// since, until and limit apply to the statement returned.
func TestStatementRefFilters_2_1_3_s3(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	l := newLRS(t, srv, "acme")
	const (
		passed    = "0a000000-0000-4000-8000-000000000001" // Ben passed explosives training
		confirmed = "0a000000-0000-4000-8000-000000000002" // Andrew confirmed <passed>
		endorsed  = "0a000000-0000-4000-8000-000000000003" // Carl endorsed <confirmed>
		other     = "0a000000-0000-4000-8000-000000000004" // Dana launched something else
		loopA     = "0a000000-0000-4000-8000-000000000005" // refers to loopB
		loopB     = "0a000000-0000-4000-8000-000000000006" // refers to loopA
	)
	ref := func(id, email, verb, target string) string {
		return fmt.Sprintf(`{"id":%q,"actor":{"mbox":"mailto:%s"},"verb":{"id":"http://adlnet.gov/expapi/verbs/%s"},"object":{"objectType":"StatementRef","id":%q}}`,
			id, email, verb, target)
	}
	explosives := "https://lms.acme.test/courses/explosives"
	var sinceConfirmed string
	for i, s := range []string{
		stmt(passed, "ben@acme.test", "passed", explosives, "2026-10-01T09:00:00Z", ""),
		ref(confirmed, "andrew@acme.test", "confirmed", passed),
		ref(endorsed, "carl@acme.test", "endorsed", confirmed),
		stmt(other, "dana@acme.test", "launched", "https://lms.acme.test/courses/other", "2026-10-01T09:00:00Z", ""),
		ref(loopA, "eve@acme.test", "commented", loopB),
		ref(loopB, "eve@acme.test", "commented", loopA),
	} {
		if r := l.do(http.MethodPost, "/xapi/statements", s); r.Status != http.StatusOK {
			t.Fatalf("POST %d: %d %s", i, r.Status, r.Body)
		}
		if i == 1 {
			var got struct{ Stored string }
			json.Unmarshal([]byte(l.do(http.MethodGet, "/xapi/statements?statementId="+confirmed, "").Body), &got)
			sinceConfirmed = got.Stored
		}
	}
	ids := func(q string) string {
		var out []string
		for _, s := range l.query(q).Statements {
			out = append(out, s["id"].(string))
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct{ query, want string }{
		{`?agent={"mbox":"mailto:ben@acme.test"}`, endorsed + " " + confirmed + " " + passed},
		{`?activity=` + explosives, endorsed + " " + confirmed + " " + passed},
		{`?verb=http://adlnet.gov/expapi/verbs/passed`, endorsed + " " + confirmed + " " + passed},
		{`?verb=http://adlnet.gov/expapi/verbs/confirmed`, endorsed + " " + confirmed},
		{`?agent={"mbox":"mailto:andrew@acme.test"}&ascending=true`, confirmed + " " + endorsed},
		{`?verb=http://adlnet.gov/expapi/verbs/passed&limit=1`, endorsed},
		{`?verb=http://adlnet.gov/expapi/verbs/passed&since=` + sinceConfirmed, endorsed},
		{`?verb=http://adlnet.gov/expapi/verbs/launched`, other},
		{`?verb=http://adlnet.gov/expapi/verbs/commented`, loopB + " " + loopA},
		{`?verb=http://adlnet.gov/expapi/verbs/attempted`, ""},
	} {
		if got := ids(strings.NewReplacer(`"`, "%22", "{", "%7B", "}", "%7D", ":", "%3A", "/", "%2F").Replace(tc.query)); got != tc.want {
			t.Errorf("GET %s: %s, want %s", tc.query, got, tc.want)
		}
	}
}
