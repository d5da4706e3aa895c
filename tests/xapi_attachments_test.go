package tests

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/tests/testserver"
	"github.com/learnlens/learnlens/xapi"
)

// attachmentPart is one attachment part of a multipart/mixed request.
type attachmentPart struct {
	contentType string
	data        []byte
	hash        string // X-Experience-API-Hash; the data's SHA-256 when ""
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// attachmentJSON is an attachments array entry for data.
func attachmentJSON(usageType, contentType string, data []byte, fileURL string) string {
	u := ""
	if fileURL != "" {
		u = fmt.Sprintf(`,"fileUrl":%q`, fileURL)
	}
	return fmt.Sprintf(`{"usageType":%q,"display":{"en-US":"certificate"},"contentType":%q,"length":%d,"sha2":%q%s}`,
		usageType, contentType, len(data), sha256Hex(data), u)
}

const certificateUsage = "http://id.tincanapi.com/attachment/certificate-of-completion"

// withAttachments is a statement of email with the given attachments.
func withAttachments(id, email string, attachments ...string) string {
	return stmt(id, email, "completed", docActivity, "2026-10-01T09:00:00Z", `,"attachments":[`+strings.Join(attachments, ",")+`]`)
}

// multipartStatements is a multipart/mixed body: statements first, then parts.
func multipartStatements(t *testing.T, statements string, parts ...attachmentPart) (body *bytes.Buffer, contentType string) {
	t.Helper()
	body = &bytes.Buffer{}
	w := multipart.NewWriter(body)
	p, err := w.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/json"}})
	if err != nil {
		t.Fatal(err)
	}
	p.Write([]byte(statements))
	for _, a := range parts {
		hash := a.hash
		if hash == "" {
			hash = sha256Hex(a.data)
		}
		p, err := w.CreatePart(textproto.MIMEHeader{"Content-Type": {a.contentType}, "Content-Transfer-Encoding": {"binary"},
			"X-Experience-API-Hash": {hash}, "Content-Length": {strconv.Itoa(len(a.data))}})
		if err != nil {
			t.Fatal(err)
		}
		p.Write(a.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return body, "multipart/mixed; boundary=" + w.Boundary()
}

// sendMultipart sends a multipart/mixed statement request.
func (l *lrs) sendMultipart(method, path, statements string, parts ...attachmentPart) testserver.Response {
	l.t.Helper()
	body, ct := multipartStatements(l.t, statements, parts...)
	return l.c.Do(method, "localhost", path, body, "Authorization", basic(l.key, l.secret),
		"X-Experience-API-Version", "1.0.3", "Content-Type", ct)
}

// readMultipart splits a multipart/mixed response into its parts' headers
// and bodies.
func readMultipart(t *testing.T, r testserver.Response) ([]textproto.MIMEHeader, [][]byte) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q, want multipart/mixed (%d %s)", r.Header.Get("Content-Type"), r.Status, r.Body)
	}
	mr := multipart.NewReader(strings.NewReader(r.Body), params["boundary"])
	var headers []textproto.MIMEHeader
	var bodies [][]byte
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return headers, bodies
		}
		if err != nil {
			t.Fatalf("multipart response: %v", err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		headers, bodies = append(headers, p.Header), append(bodies, b)
	}
}

// attachmentRows counts the tenant's stored attachment data.
func attachmentRows(t *testing.T, srv *testserver.Server, tenant string) int {
	t.Helper()
	var n int
	err := srv.DB.Platform(context.Background(), func(tx *gormDB) error {
		return tx.Raw(`SELECT count(*) FROM xapi_attachments a JOIN tenants t ON t.id = a.tenant_id WHERE t.slug = ?`, tenant).Row().Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAttachments_1_5_2 sends statements with attachment data as
// multipart/mixed (Communication 1.5.2) by POST and PUT, and reads them
// back with attachments=true (2.1.3).
func TestAttachments_1_5_2(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	l := newLRS(t, srv, "acme")
	pdf := append([]byte("%PDF-1.4 certificate for Lee "), bytes.Repeat([]byte{0, 1, 2, 0xff}, 1000)...)
	png := append([]byte("\x89PNG badge "), bytes.Repeat([]byte("\r\n--"), 500)...)
	pdfAtt := attachmentJSON(certificateUsage, "application/pdf", pdf, "")
	pngAtt := attachmentJSON(certificateUsage, "image/png", png, "")

	// POST with one attachment, then with two.
	r := l.sendMultipart(http.MethodPost, "/xapi/statements", withAttachments("", "lee@acme.test", pdfAtt), attachmentPart{"application/pdf", pdf, ""})
	var ids []string
	if r.Status != http.StatusOK || json.Unmarshal([]byte(r.Body), &ids) != nil || len(ids) != 1 {
		t.Fatalf("POST with one attachment: %d %s", r.Status, r.Body)
	}
	r = l.sendMultipart(http.MethodPost, "/xapi/statements", "["+withAttachments("", "kim@acme.test", pdfAtt, pngAtt)+"]",
		attachmentPart{"application/pdf", pdf, ""}, attachmentPart{"image/png", png, ""})
	if r.Status != http.StatusOK {
		t.Fatalf("POST with two attachments: %d %s", r.Status, r.Body)
	}
	// PUT with one, and with two.
	putID, putID2 := "6f0a3c7e-3b1a-4c55-9d7e-2a8f7c1d0e01", "6f0a3c7e-3b1a-4c55-9d7e-2a8f7c1d0e02"
	if r := l.sendMultipart(http.MethodPut, "/xapi/statements?statementId="+putID, withAttachments("", "ana@acme.test", pngAtt),
		attachmentPart{"image/png", png, ""}); r.Status != http.StatusNoContent {
		t.Fatalf("PUT with one attachment: %d %s", r.Status, r.Body)
	}
	if r := l.sendMultipart(http.MethodPut, "/xapi/statements?statementId="+putID2, withAttachments(putID2, "ana@acme.test", pngAtt, pdfAtt),
		attachmentPart{"image/png", png, ""}, attachmentPart{"application/pdf", pdf, ""}); r.Status != http.StatusNoContent {
		t.Fatalf("PUT with two attachments: %d %s", r.Status, r.Body)
	}
	// Four statements name two distinct contents: stored once each.
	if n := attachmentRows(t, srv, "acme"); n != 2 {
		t.Errorf("%d attachment rows stored, want 2 (once per sha2)", n)
	}

	// GET attachments=true: the JSON first, then each distinct content once.
	for _, tc := range []struct {
		query string
		want  map[string][]byte
	}{
		{"?statementId=" + ids[0], map[string][]byte{sha256Hex(pdf): pdf}},
		{"?statementId=" + putID, map[string][]byte{sha256Hex(png): png}},
		{"?agent=" + `{"mbox":"mailto:kim@acme.test"}`, map[string][]byte{sha256Hex(pdf): pdf, sha256Hex(png): png}},
		{"", map[string][]byte{sha256Hex(pdf): pdf, sha256Hex(png): png}},
	} {
		r := l.do(http.MethodGet, "/xapi/statements"+strings.ReplaceAll(tc.query, `"`, "%22")+sep(tc.query)+"attachments=true", "")
		headers, bodies := readMultipart(t, r)
		if len(headers) != 1+len(tc.want) || headers[0].Get("Content-Type") != "application/json" {
			t.Errorf("GET %s attachments=true: %d parts, want the JSON and %d", tc.query, len(headers), len(tc.want))
			continue
		}
		for i, h := range headers[1:] {
			sha := h.Get("X-Experience-API-Hash")
			if want, ok := tc.want[sha]; !ok || !bytes.Equal(bodies[i+1], want) || sha256Hex(bodies[i+1]) != sha ||
				h.Get("Content-Transfer-Encoding") != "binary" || h.Get("Content-Type") == "" {
				t.Errorf("GET %s: part %d %v does not carry the data its hash names", tc.query, i+2, h)
			}
		}
	}
	// Without attachments=true the answer stays JSON.
	if r := l.do(http.MethodGet, "/xapi/statements?statementId="+ids[0], ""); !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("GET without attachments: Content-Type %q", r.Header.Get("Content-Type"))
	}
}

func sep(query string) string {
	if query == "" {
		return "?"
	}
	return "&"
}

// TestAttachmentsRefused_1_5_2: a request whose parts and attachments do
// not match, whose data does not hash to its header, or that is too large
// is refused as a whole, and nothing of it is stored.
func TestAttachmentsRefused_1_5_2(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	l := newLRS(t, srv, "acme")
	data := []byte("certificate of completion")
	other := []byte("an unrelated file")
	att := attachmentJSON(certificateUsage, "text/plain", data, "")
	big := bytes.Repeat([]byte("x"), xapi.MaxAttachmentBytes+1)
	fresh := func(n int) string { return fmt.Sprintf("7a1b2c3d-0000-4000-8000-%012d", n) }
	for i, tc := range []struct {
		name       string
		statements string
		parts      []attachmentPart
		status     int
		want       string
	}{
		{"hash mismatch", "[" + stmt(fresh(1), "a@acme.test", "launched", docActivity, "2026-10-01T09:00:00Z", "") + "," + withAttachments(fresh(2), "a@acme.test", att) + "]",
			[]attachmentPart{{"text/plain", other, sha256Hex(data)}}, 400, "hashes to"},
		{"part without attachment", withAttachments(fresh(3), "a@acme.test", att),
			[]attachmentPart{{"text/plain", data, ""}, {"text/plain", other, ""}}, 400, "belongs to no attachment"},
		{"missing part", withAttachments(fresh(4), "a@acme.test", att, attachmentJSON(certificateUsage, "text/plain", other, "")),
			[]attachmentPart{{"text/plain", data, ""}}, 400, "no part of the request"},
		{"wrong length", withAttachments(fresh(5), "a@acme.test", strings.Replace(att, fmt.Sprintf(`"length":%d`, len(data)), `"length":3`, 1)),
			[]attachmentPart{{"text/plain", data, ""}}, 400, "octets long"},
		{"too large", withAttachments(fresh(6), "a@acme.test", attachmentJSON(certificateUsage, "text/plain", big, "")),
			[]attachmentPart{{"text/plain", big, ""}}, 413, "at most 10 MB"},
	} {
		r := l.sendMultipart(http.MethodPost, "/xapi/statements", tc.statements, tc.parts...)
		if r.Status != tc.status || !strings.Contains(r.Body, tc.want) {
			t.Errorf("%s: %d %s, want %d saying %q", tc.name, r.Status, r.Body, tc.status, tc.want)
		}
		for j := 1; j <= 6; j++ {
			if r := l.do(http.MethodGet, "/xapi/statements?statementId="+fresh(j), ""); r.Status != http.StatusNotFound {
				t.Errorf("%s (case %d): statement %s was stored", tc.name, i, fresh(j))
			}
		}
	}
	// A JSON request cannot carry data: an attachment needs a fileUrl.
	if r := l.do(http.MethodPost, "/xapi/statements", withAttachments("", "a@acme.test", att)); r.Status != 400 || !strings.Contains(r.Body, "multipart/mixed") {
		t.Errorf("JSON without fileUrl: %d %s", r.Status, r.Body)
	}
	// The alternate request syntax is JSON only.
	form := fmt.Sprintf("Authorization=%s&X-Experience-API-Version=1.0.3&Content-Type=%s&content=x",
		strings.ReplaceAll(basic(l.key, l.secret), " ", "+"), "multipart%2Fmixed%3B+boundary%3Dx")
	if r := l.c.Do(http.MethodPost, "localhost", "/xapi/statements?method=POST", strings.NewReader(form),
		"Content-Type", "application/x-www-form-urlencoded"); r.Status != 400 || !strings.Contains(r.Body, "JSON only") {
		t.Errorf("alternate syntax with multipart: %d %s", r.Status, r.Body)
	}
	if n := attachmentRows(t, srv, "acme"); n != 0 {
		t.Errorf("%d attachment rows stored by refused requests", n)
	}

	// A fileUrl-only attachment still works as JSON, and as multipart
	// without parts; attachments=true then has no data part for it.
	byURL := attachmentJSON(certificateUsage, "text/plain", data, "https://files.acme.test/cert.txt")
	if r := l.do(http.MethodPost, "/xapi/statements", withAttachments(fresh(7), "a@acme.test", byURL)); r.Status != 200 {
		t.Errorf("JSON with fileUrl: %d %s", r.Status, r.Body)
	}
	if r := l.sendMultipart(http.MethodPost, "/xapi/statements", withAttachments(fresh(8), "a@acme.test", byURL)); r.Status != 200 {
		t.Errorf("multipart with a fileUrl attachment only: %d %s", r.Status, r.Body)
	}
	headers, _ := readMultipart(t, l.do(http.MethodGet, "/xapi/statements?attachments=true&statementId="+fresh(7), ""))
	if len(headers) != 1 {
		t.Errorf("attachments=true for a fileUrl attachment: %d parts, want only the JSON", len(headers))
	}
}

// TestAttachmentsStoredOncePerTenant: the same content sent with many
// statements, in one request and in several, is one row per tenant; each
// tenant keeps its own.
func TestAttachmentsStoredOncePerTenant(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	data := bytes.Repeat([]byte("certificate "), 100)
	att := attachmentJSON(certificateUsage, "application/pdf", data, "")
	for _, tenant := range []string{"acme", "globex"} {
		l := newLRS(t, srv, tenant)
		batch := "[" + withAttachments("", "a@"+tenant+".test", att) + "," + withAttachments("", "b@"+tenant+".test", att) + "]"
		for range 2 {
			if r := l.sendMultipart(http.MethodPost, "/xapi/statements", batch, attachmentPart{"application/pdf", data, ""}); r.Status != 200 {
				t.Fatalf("%s: %d %s", tenant, r.Status, r.Body)
			}
		}
		if n := attachmentRows(t, srv, tenant); n != 1 {
			t.Errorf("%s: %d rows for one content sent with four statements, want 1", tenant, n)
		}
	}
}

// statementSigner signs statements as a Learning Record Provider would: an RSA
// key and a self-signed X.509 certificate sent in x5c.
type statementSigner struct {
	key  *rsa.PrivateKey
	cert []byte // DER
}

func newStatementSigner(t *testing.T) statementSigner {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Acme authoring tool"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return statementSigner{key: key, cert: der}
}

// sign returns the compact JWS of payload with method and key.
func (s statementSigner) sign(t *testing.T, method jwt.SigningMethod, key any, payload string) []byte {
	t.Helper()
	header, _ := json.Marshal(map[string]any{"alg": method.Alg(), "x5c": []string{base64.StdEncoding.EncodeToString(s.cert)}})
	signing := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	sig, err := method.Sign(signing, key)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(signing + "." + base64.RawURLEncoding.EncodeToString(sig))
}

// TestSignedStatements_Data_2_6: a signed statement carries a JWS of
// itself as an attachment; the LRS refuses one whose JWS is malformed,
// uses another algorithm than RS256/384/512, signs another statement, or
// does not verify with its x5c certificate.
func TestSignedStatements_Data_2_6(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	l := newLRS(t, srv, "acme")
	s := newStatementSigner(t)
	other := newStatementSigner(t)
	original := stmt("", "statementSigner@acme.test", "passed", docActivity, "2026-10-01T09:00:00Z", `,"result":{"score":{"scaled":0.9}}`)
	tampered := strings.Replace(original, "0.9", "1", 1)
	signed := func(jws []byte) (string, attachmentPart) {
		sigAtt := attachmentJSON(xapi.AttachmentUsageSignature, "application/octet-stream", jws, "")
		return original[:len(original)-1] + `,"attachments":[` + sigAtt + `]}`, attachmentPart{"application/octet-stream", jws, ""}
	}
	forged := s.sign(t, jwt.SigningMethodRS256, s.key, original)
	forged = append(forged[:len(forged)-8], []byte("AAAAAAAA")...)
	for _, tc := range []struct {
		name   string
		jws    []byte
		status int
		want   string
	}{
		{"RS256", s.sign(t, jwt.SigningMethodRS256, s.key, original), 200, ""},
		{"RS384", s.sign(t, jwt.SigningMethodRS384, s.key, original), 200, ""},
		{"RS512", s.sign(t, jwt.SigningMethodRS512, s.key, original), 200, ""},
		{"tampered payload", s.sign(t, jwt.SigningMethodRS256, s.key, tampered), 400, "not the statement it signs"},
		{"HS256", s.sign(t, jwt.SigningMethodHS256, []byte("secret"), original), 400, "RS256, RS384 or RS512"},
		{"none", s.sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, original), 400, "RS256, RS384 or RS512"},
		{"wrong key", other.signWithCert(t, s.cert, original), 400, "does not verify"},
		{"forged signature", forged, 400, "does not verify"},
		{"not a JWS", []byte("this is not a signature"), 400, "compact serialization"},
	} {
		body, part := signed(tc.jws)
		r := l.sendMultipart(http.MethodPost, "/xapi/statements", body, part)
		if r.Status != tc.status || !strings.Contains(r.Body, tc.want) {
			t.Errorf("%s: %d %s, want %d saying %q", tc.name, r.Status, r.Body, tc.status, tc.want)
		}
	}
}

// signWithCert signs with s's key but sends cert (another statementSigner's) in x5c.
func (s statementSigner) signWithCert(t *testing.T, cert []byte, payload string) []byte {
	return statementSigner{key: s.key, cert: cert}.sign(t, jwt.SigningMethodRS256, s.key, payload)
}

// TestDeleteOrphanAttachments: the clean-up that erasure calls deletes the
// attachment data no statement names any more and keeps the rest,
// including data named only by a SubStatement, in the tenant's own rows.
func TestDeleteOrphanAttachments(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	l := newLRS(t, srv, "acme")
	named, bySub, orphan := []byte("named by a statement"), []byte("named by a SubStatement"), []byte("named by nothing")
	if r := l.sendMultipart(http.MethodPost, "/xapi/statements", withAttachments("", "a@acme.test", attachmentJSON(certificateUsage, "text/plain", named, "")),
		attachmentPart{"text/plain", named, ""}); r.Status != 200 {
		t.Fatalf("POST: %d %s", r.Status, r.Body)
	}
	sub := `{"actor":{"mbox":"mailto:a@acme.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/planned"},"object":{"objectType":"SubStatement",` +
		`"actor":{"mbox":"mailto:a@acme.test"},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"` + docActivity + `"},` +
		`"attachments":[` + attachmentJSON(certificateUsage, "text/plain", bySub, "") + `]}}`
	if r := l.sendMultipart(http.MethodPost, "/xapi/statements", sub, attachmentPart{"text/plain", bySub, ""}); r.Status != 200 {
		t.Fatalf("POST SubStatement: %d %s", r.Status, r.Body)
	}
	acme, globex := tenantID(t, srv, "acme"), tenantID(t, srv, "globex")
	ctx := context.Background()
	for _, tenant := range []int64{acme, globex} {
		if err := srv.DB.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO xapi_attachments (tenant_id, sha2, content_type, length, content) VALUES ($1, $2, 'text/plain', $3, $4)`,
				tenant, sha256Hex(orphan), len(orphan), orphan)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	var deleted int64
	if err := srv.DB.TenantTx(ctx, acme, func(tx pgx.Tx) (err error) {
		deleted, err = pipeline.DeleteOrphanAttachments(ctx, tx, acme)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if deleted != 1 || attachmentRows(t, srv, "acme") != 2 || attachmentRows(t, srv, "globex") != 1 {
		t.Errorf("deleted %d; acme keeps %d rows (want the 2 named), globex %d (want its own 1)", deleted,
			attachmentRows(t, srv, "acme"), attachmentRows(t, srv, "globex"))
	}
}
