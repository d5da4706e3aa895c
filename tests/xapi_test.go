package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/learnlens/learnlens/tests/testserver"
)

// lrs is an xAPI client of one tenant's credential.
type lrs struct {
	t      *testing.T
	c      *testserver.Client
	key    string
	secret string
}

func newLRS(t *testing.T, srv *testserver.Server, tenant string) *lrs {
	return &lrs{t: t, c: srv.NewClient(t), key: tenant + "-demo-key", secret: tenant + "-demo-secret"}
}

func (l *lrs) do(method, path, body string, header ...string) testserver.Response {
	l.t.Helper()
	h := append([]string{"Authorization", basic(l.key, l.secret), "X-Experience-API-Version", "1.0.3", "Content-Type", "application/json"}, header...)
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	if rd == nil {
		return l.c.Do(method, "localhost", path, nil, h...)
	}
	return l.c.Do(method, "localhost", path, rd, h...)
}

type statementResult struct {
	Statements []map[string]any `json:"statements"`
	More       string           `json:"more"`
}

func (l *lrs) query(q string) statementResult {
	l.t.Helper()
	r := l.do(http.MethodGet, "/xapi/statements"+q, "")
	if r.Status != http.StatusOK {
		l.t.Fatalf("GET %s: %d %s", q, r.Status, r.Body)
	}
	var res statementResult
	if err := json.Unmarshal([]byte(r.Body), &res); err != nil {
		l.t.Fatalf("GET %s: %v", q, err)
	}
	return res
}

func stmt(id, email, verb, activity, ts, extra string) string {
	idField := ""
	if id != "" {
		idField = fmt.Sprintf(`"id":%q,`, id)
	}
	return fmt.Sprintf(`{%s"actor":{"mbox":"mailto:%s"},"verb":{"id":"http://adlnet.gov/expapi/verbs/%s"},"object":{"id":%q},"timestamp":%q%s}`,
		idField, email, verb, activity, ts, extra)
}

func TestXAPIClientFlow(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	l := newLRS(t, srv, "acme")

	// About needs no credential.
	about := srv.NewClient(t).Get("localhost", "/xapi/about")
	if about.Status != http.StatusOK || !strings.Contains(about.Body, `"1.0.3"`) || about.Header.Get("X-Experience-API-Version") != "1.0.3" {
		t.Fatalf("about: %d %s", about.Status, about.Body)
	}

	course := "https://lms.acme.test/courses/safety"
	batch := "[" + strings.Join([]string{
		stmt("", "learner@acme.test", "launched", course, "2026-10-01T09:00:00Z", ""),
		stmt("", "learner@acme.test", "completed", course, "2026-10-02T09:00:00Z", `,"result":{"duration":"PT40M","completion":true}`),
		stmt("", "manager@acme.test", "launched", course, "2026-10-03T09:00:00Z", `,"context":{"registration":"11111111-2222-4333-8444-555555555555"}`),
	}, ",") + "]"
	r := l.do(http.MethodPost, "/xapi/statements", batch)
	if r.Status != http.StatusOK {
		t.Fatalf("POST: %d %s", r.Status, r.Body)
	}
	var ids []string
	if err := json.Unmarshal([]byte(r.Body), &ids); err != nil || len(ids) != 3 {
		t.Fatalf("POST answered %s", r.Body)
	}

	// The 200 means the numbers include the batch: gold is already fresh.
	var completed int
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT coalesce(sum(g.completed), 0) FROM gold_course_completion g JOIN courses c ON c.id = g.course_id
			AND c.tenant_id = g.tenant_id WHERE c.activity_iri = ?`, course).Scan(&completed).Error
	})
	if completed != 1 {
		t.Errorf("gold shows %d completions right after the 200, want 1", completed)
	}

	// GET by id returns the statement with what the LRS set.
	one := l.do(http.MethodGet, "/xapi/statements?statementId="+ids[1], "")
	var got map[string]any
	json.Unmarshal([]byte(one.Body), &got)
	if one.Status != http.StatusOK || got["id"] != ids[1] || got["stored"] == nil || got["authority"] == nil {
		t.Fatalf("GET by id: %d %s", one.Status, one.Body)
	}
	if one.Header.Get("X-Experience-API-Consistent-Through") == "" {
		t.Error("no X-Experience-API-Consistent-Through header")
	}
	// Filters.
	agent := url.QueryEscape(`{"mbox":"mailto:learner@acme.test"}`)
	cases := map[string]int{
		"":                3,
		"?agent=" + agent: 2,
		"?verb=" + url.QueryEscape("http://adlnet.gov/expapi/verbs/completed"):            1,
		"?activity=" + url.QueryEscape(course):                                            3,
		"?registration=11111111-2222-4333-8444-555555555555":                              1,
		"?since=" + url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339)): 0,
		"?until=" + url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339)): 3,
	}
	for q, want := range cases {
		if n := len(l.query(q).Statements); n != want {
			t.Errorf("GET %s: %d statements, want %d", q, n, want)
		}
	}

	// Paging with "more" visits every statement once, newest first.
	var seen []string
	res := l.query("?limit=2")
	for {
		for _, s := range res.Statements {
			seen = append(seen, s["id"].(string))
		}
		if res.More == "" {
			break
		}
		res = l.query(strings.TrimPrefix(res.More, "/xapi/statements"))
	}
	if strings.Join(seen, ",") != strings.Join([]string{ids[2], ids[1], ids[0]}, ",") {
		t.Errorf("paged ids %v, want %v newest first", seen, []string{ids[2], ids[1], ids[0]})
	}
	asc := l.query("?ascending=true")
	if len(asc.Statements) != 3 || asc.Statements[0]["id"] != ids[0] {
		t.Errorf("ascending order wrong: %v", asc.Statements)
	}

	// Voiding hides the statement from queries but not from voidedStatementId.
	void := fmt.Sprintf(`{"actor":{"mbox":"mailto:admin@acme.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/voided"},"object":{"objectType":"StatementRef","id":%q}}`, ids[1])
	if r := l.do(http.MethodPost, "/xapi/statements", void); r.Status != http.StatusOK {
		t.Fatalf("void: %d %s", r.Status, r.Body)
	}
	if r := l.do(http.MethodGet, "/xapi/statements?statementId="+ids[1], ""); r.Status != http.StatusNotFound {
		t.Errorf("voided statement by statementId: %d, want 404", r.Status)
	}
	if r := l.do(http.MethodGet, "/xapi/statements?voidedStatementId="+ids[1], ""); r.Status != http.StatusOK {
		t.Errorf("voidedStatementId: %d, want 200", r.Status)
	}
	// The voiding statement targets the voided one, so it matches the
	// voided statement's filters (Communication 2.1.4.s1.b2, 2.1.3.s3);
	// the voided statement itself is not listed.
	if got := l.query("?verb=" + url.QueryEscape("http://adlnet.gov/expapi/verbs/completed")).Statements; len(got) != 1 ||
		got[0]["verb"].(map[string]any)["id"] != "http://adlnet.gov/expapi/verbs/voided" {
		t.Errorf("verb=completed after voiding lists %v, want only the voiding statement", got)
	}
	srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT coalesce(sum(g.completed), 0) FROM gold_course_completion g JOIN courses c ON c.id = g.course_id
			AND c.tenant_id = g.tenant_id WHERE c.activity_iri = ?`, course).Scan(&completed).Error
	})
	if completed != 0 {
		t.Errorf("gold still counts the voided completion: %d", completed)
	}
	// A voiding statement cannot itself be voided.
	var voidID []string
	json.Unmarshal([]byte(l.do(http.MethodGet, "/xapi/statements?verb="+url.QueryEscape("http://adlnet.gov/expapi/verbs/voided"), "").Body), &struct {
		Statements *[]string
	}{})
	vres := l.query("?verb=" + url.QueryEscape("http://adlnet.gov/expapi/verbs/voided"))
	for _, s := range vres.Statements {
		voidID = append(voidID, s["id"].(string))
	}
	if len(voidID) == 1 {
		r := l.do(http.MethodPost, "/xapi/statements", fmt.Sprintf(`{"actor":{"mbox":"mailto:admin@acme.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/voided"},"object":{"objectType":"StatementRef","id":%q}}`, voidID[0]))
		if r.Status != http.StatusBadRequest {
			t.Errorf("voiding a voiding statement: %d, want 400", r.Status)
		}
	} else {
		t.Errorf("found %d voiding statements, want 1", len(voidID))
	}

	// PUT: stored once; the same again is a no-op; a different one conflicts.
	put := "/xapi/statements?statementId=5d1b4b33-7c3e-4c3a-9f55-0f1e2d3c4b5a"
	body := stmt("", "learner@acme.test", "experienced", course, "2026-10-05T09:00:00Z", "")
	for i, want := range []int{http.StatusNoContent, http.StatusNoContent} {
		if r := l.do(http.MethodPut, put, body); r.Status != want {
			t.Errorf("PUT #%d: %d %s, want %d", i+1, r.Status, r.Body, want)
		}
	}
	if r := l.do(http.MethodPut, put, stmt("", "learner@acme.test", "completed", course, "2026-10-05T09:00:00Z", "")); r.Status != http.StatusConflict {
		t.Errorf("PUT of a different statement with a used id: %d, want 409", r.Status)
	}
	if r := l.do(http.MethodPost, "/xapi/statements", stmt("5d1b4b33-7c3e-4c3a-9f55-0f1e2d3c4b5a", "x@acme.test", "completed", course, "2026-10-05T09:00:00Z", "")); r.Status != http.StatusConflict {
		t.Errorf("POST of a different statement with a used id: %d, want 409", r.Status)
	}
	// format=ids keeps identifiers only; canonical keeps one language.
	idsResp := l.do(http.MethodGet, "/xapi/statements?format=ids&statementId="+ids[0], "")
	if idsResp.Status != http.StatusOK || strings.Contains(idsResp.Body, `"name":"Demo LMS"`) || !strings.Contains(idsResp.Body, `"mbox":"mailto:learner@acme.test"`) {
		t.Errorf("format=ids: %d %s", idsResp.Status, idsResp.Body)
	}
	withNames := l.do(http.MethodPost, "/xapi/statements", stmt("", "learner@acme.test", "experienced", "https://lms.acme.test/courses/named",
		"2026-10-04T09:00:00Z", `,"context":{"contextActivities":{"other":[{"id":"https://lms.acme.test/o","definition":{"name":{"en-US":"Other","fr":"Autre"}}}]}}`))
	var named []string
	json.Unmarshal([]byte(withNames.Body), &named)
	canon := l.do(http.MethodGet, "/xapi/statements?format=canonical&statementId="+named[0], "", "Accept-Language", "fr, en;q=0.5")
	if !strings.Contains(canon.Body, `"fr":"Autre"`) || strings.Contains(canon.Body, `"en-US":"Other"`) {
		t.Errorf("format=canonical with Accept-Language fr: %s", canon.Body)
	}

	// related_activities finds a context activity.
	if n := len(l.query("?activity=" + url.QueryEscape("https://lms.acme.test/o") + "&related_activities=true").Statements); n != 1 {
		t.Errorf("related_activities: %d statements, want 1", n)
	}
}

func TestXAPIRefusesBadRequestsClearly(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	l := newLRS(t, srv, "acme")
	good := stmt("", "learner@acme.test", "launched", "https://lms.acme.test/c", "2026-10-01T09:00:00Z", "")
	cases := []struct {
		name   string
		method string
		path   string
		body   string
		header []string
		status int
		want   string
	}{
		{"no version header", "POST", "/xapi/statements", good, []string{"X-Experience-API-Version", ""}, 400, "X-Experience-API-Version"},
		{"unsupported version", "POST", "/xapi/statements", good, []string{"X-Experience-API-Version", "2.0.0"}, 400, "not supported"},
		{"wrong secret", "POST", "/xapi/statements", good, []string{"Authorization", basic("acme-demo-key", "nope")}, 401, "not valid"},
		{"unknown key", "GET", "/xapi/statements", "", []string{"Authorization", basic("nobody", "nope")}, 401, "not valid"},
		{"no credential", "GET", "/xapi/statements", "", []string{"Authorization", ""}, 401, "HTTP Basic"},
		{"not JSON", "POST", "/xapi/statements", "actor=x", []string{"Content-Type", "application/x-www-form-urlencoded"}, 400, "application/json"},
		{"malformed JSON", "POST", "/xapi/statements", `{"actor":`, nil, 400, ""},
		{"two actor identifiers", "POST", "/xapi/statements",
			`{"actor":{"mbox":"mailto:a@acme.test","openid":"http://x.example/a"},"verb":{"id":"http://adlnet.gov/expapi/verbs/launched"},"object":{"id":"https://lms.acme.test/c"}}`,
			nil, 400, "actor"},
		{"score out of range", "POST", "/xapi/statements",
			stmt("", "a@acme.test", "scored", "https://lms.acme.test/c", "2026-10-01T09:00:00Z", `,"result":{"score":{"scaled":1.5}}`), nil, 400, "result.score.scaled"},
		{"unknown property", "POST", "/xapi/statements",
			`{"actor":{"mbox":"mailto:a@acme.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/launched"},"object":{"id":"https://lms.acme.test/c"},"colour":"red"}`,
			nil, 400, "colour"},
		{"bad query parameter", "GET", "/xapi/statements?colour=red", "", nil, 400, "colour"},
		{"statementId with a filter", "GET", "/xapi/statements?statementId=5d1b4b33-7c3e-4c3a-9f55-0f1e2d3c4b5a&verb=http%3A%2F%2Fx.example%2Fv", "", nil, 400, ""},
		{"PUT without statementId", "PUT", "/xapi/statements", good, nil, 400, "statementId"},
		{"PUT with an id differing from statementId", "PUT", "/xapi/statements?statementId=5d1b4b33-7c3e-4c3a-9f55-0f1e2d3c4b5a",
			stmt("6d1b4b33-7c3e-4c3a-9f55-0f1e2d3c4b5a", "a@acme.test", "launched", "https://lms.acme.test/c", "2026-10-01T09:00:00Z", ""), nil, 400, "differs"},
		{"forged more token", "GET", "/xapi/statements?more=bm9wZQ", "", nil, 400, "more"},
		{"unknown statement", "GET", "/xapi/statements?statementId=5d1b4b33-7c3e-4c3a-9f55-0f1e2d3c4b5a", "", nil, 404, ""},
	}
	for _, tc := range cases {
		r := l.do(tc.method, tc.path, tc.body, tc.header...)
		if r.Status != tc.status {
			t.Errorf("%s: status %d (%s), want %d", tc.name, r.Status, r.Body, tc.status)
			continue
		}
		if !strings.Contains(r.Body, `"error"`) || !strings.Contains(r.Body, tc.want) {
			t.Errorf("%s: body %s does not explain (want %q)", tc.name, r.Body, tc.want)
		}
		if r.Header.Get("X-Experience-API-Version") != "1.0.3" {
			t.Errorf("%s: no version header on the error", tc.name)
		}
	}

	// Too many statements in one request.
	many := make([]string, 5001)
	for i := range many {
		many[i] = good
	}
	if r := l.do(http.MethodPost, "/xapi/statements", "["+strings.Join(many, ",")+"]"); r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(r.Body, "5000") {
		t.Errorf("5001 statements: %d %.200s", r.Status, r.Body)
	}
	// A body over the limit is refused from its Content-Length, before it
	// is read (a raw request, so the client is not still writing the body
	// when the server answers and closes).
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", srv.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /xapi/statements HTTP/1.1\r\nHost: localhost\r\nAuthorization: %s\r\nX-Experience-API-Version: 1.0.3\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		basic("acme-demo-key", "acme-demo-secret"), 17<<20)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("17 MB body: %v %v", resp, err)
	}
	// Nothing was stored by any of that, and the server still answers.
	if n := len(l.query("").Statements); n != 0 {
		t.Errorf("%d statements stored by refused requests", n)
	}
}
