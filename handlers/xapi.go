package handlers

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/google/uuid"

	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/pipeline"
	"github.com/learnlens/learnlens/xapi"
)

// Limits of the Statements resource.
const (
	xapiDefaultLimit = 100 // statements per GET page
	xapiMaxLimit     = 1000
)

type (
	xapiCredentialKey struct{}
	xapiTenantKey     struct{}
)

// xapiCORS lets course content on other origins (an LMS, a CDN) call the
// LRS from the learner's browser: the methods and headers xAPI clients send,
// and the response headers they read. No cookie is involved (the credential
// travels in Authorization), so any origin may call.
var xapiCORS = cors.Config{
	AllowOrigins:  "*",
	AllowMethods:  "GET, HEAD, POST, PUT, DELETE, OPTIONS",
	AllowHeaders:  "Authorization, Content-Type, If-Match, If-None-Match, X-Experience-API-Version, Accept-Language, X-Requested-With",
	ExposeHeaders: "ETag, Last-Modified, Content-Type, X-Experience-API-Version, X-Experience-API-Consistent-Through",
	MaxAge:        3600,
}

// xapiRoutes mounts the xAPI 1.0.3 Learning Record Store. It is reached on
// any host: the HTTP Basic credential decides the tenant. Every path under
// /xapi is answered here, so none reaches the site's session and CSRF
// middleware.
func (h *Handlers) xapiRoutes(app *fiber.App) {
	x := app.Group("/xapi", cors.New(xapiCORS), h.xapiAlternateSyntax, h.xapiVersion)
	x.Get("/about", h.xapiAbout)
	st := x.Group("/statements", h.xapiAuth, h.xapiLimit)
	st.Post("", h.xapiPostStatements)
	st.Put("", h.xapiPutStatement)
	st.Get("", h.xapiGetStatements)
	h.xapiDocumentRoutes(x)
	x.All("/*", h.xapiAuth, h.xapiNoResource)
}

// isXAPIPath reports whether path belongs to the LRS.
func isXAPIPath(path string) bool { return path == "/xapi" || strings.HasPrefix(path, "/xapi/") }

// xapiVersions are the versions of xAPI served, newest first: content
// libraries still send 1.0.2 and older 1.0.x, which differ from 1.0.3 only
// in wording.
var xapiVersions = []string{"1.0.3", "1.0.2", "1.0.1", "1.0.0"}

// xapiNoResource answers a path under /xapi that no route took, for a
// credential: 405 with Allow for a resource asked with another method,
// else 404.
func (h *Handlers) xapiNoResource(c *fiber.Ctx) error {
	resource := strings.TrimSuffix(strings.TrimPrefix(c.Path(), "/xapi"), "/")
	allow := ""
	switch {
	case resource == "/about" || resource == "/activities" || resource == "/agents":
		allow = "GET, HEAD"
	case resource == "/statements":
		allow = "GET, HEAD, PUT, POST"
	case xapiDocumentResources[resource] != "":
		allow = "GET, HEAD, PUT, POST, DELETE"
	}
	if allow == "" {
		return fiber.NewError(fiber.StatusNotFound, "there is no xAPI resource at "+c.Path())
	}
	c.Set(fiber.HeaderAllow, allow)
	return fiber.NewError(fiber.StatusMethodNotAllowed, c.Path()+" accepts "+allow+", not "+c.Method())
}

// xapiVersion sends the version header on every response and requires a
// 1.0.x version header on every request but About.
func (h *Handlers) xapiVersion(c *fiber.Ctx) error {
	c.Set("X-Experience-API-Version", xapi.Version)
	if c.Path() == "/xapi/about" || c.Method() == fiber.MethodOptions {
		return c.Next()
	}
	v := c.Get("X-Experience-API-Version")
	if v == "" {
		return fiber.NewError(fiber.StatusBadRequest, "the X-Experience-API-Version header is required (use 1.0.3)")
	}
	if !supportedVersion(v) {
		return fiber.NewError(fiber.StatusBadRequest, "X-Experience-API-Version "+v+" is not supported; this LRS speaks "+strings.Join(xapiVersions, ", "))
	}
	return c.Next()
}

// supportedVersion reports whether v is 1.0 or 1.0.<patch>: every 1.0.x
// is served as 1.0.3 (Communication 3.3: patch versions are compatible).
func supportedVersion(v string) bool {
	if v == "1.0" {
		return true
	}
	patch, ok := strings.CutPrefix(v, "1.0.")
	if !ok || patch == "" {
		return false
	}
	_, err := strconv.ParseUint(patch, 10, 16)
	return err == nil
}

func (h *Handlers) xapiAbout(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"version": xapiVersions, "extensions": fiber.Map{}})
}

// credentialCache remembers verified credentials, so a busy client is not
// checked against the database on every request. A rotated or revoked
// credential is announced on models.CredentialChannel and every instance
// empties its cache (clear); while the notification listener is down the
// cache is not used (see xapiAuth), and credentialTTL bounds an entry's
// life anyway.
type credentialCache struct {
	mu    sync.Mutex
	m     map[[32]byte]cachedCredential
	epoch uint64 // counts clears: a credential verified before one may be stale
}

type cachedCredential struct {
	cred    models.Credential
	expires time.Time
}

const credentialTTL = 30 * time.Second

func (cc *credentialCache) get(k [32]byte) (models.Credential, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	e, ok := cc.m[k]
	if !ok || time.Now().After(e.expires) {
		return models.Credential{}, false
	}
	return e.cred, true
}

// currentEpoch is read before verifying a credential, for put.
func (cc *credentialCache) currentEpoch() uint64 {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.epoch
}

// put keeps a credential verified under epoch, unless the cache was
// cleared since: the credential may have been revoked meanwhile.
func (cc *credentialCache) put(epoch uint64, k [32]byte, c models.Credential) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if epoch != cc.epoch {
		return
	}
	if cc.m == nil || len(cc.m) > 10000 {
		cc.m = map[[32]byte]cachedCredential{}
	}
	cc.m[k] = cachedCredential{cred: c, expires: time.Now().Add(credentialTTL)}
}

// clear forgets every credential: one was rotated or revoked (they change
// rarely), or notifications may have been missed.
func (cc *credentialCache) clear() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.epoch++
	clear(cc.m)
}

// xapiAuth checks the HTTP Basic credential; it alone decides the tenant.
func (h *Handlers) xapiAuth(c *fiber.Ctx) error {
	if c.Method() == fiber.MethodOptions {
		return c.Next()
	}
	key, secret, ok := basicAuth(c.Get(fiber.HeaderAuthorization))
	if !ok {
		c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="LearnLens xAPI"`)
		return fiber.NewError(fiber.StatusUnauthorized, "send the credential's key and secret with HTTP Basic authentication")
	}
	ck := sha256.Sum256([]byte(key + "\x00" + secret))
	trusted := h.listener.Connected()
	var cred models.Credential
	cached := false
	if trusted {
		cred, cached = h.credCache.get(ck)
	}
	if !cached {
		epoch := h.credCache.currentEpoch()
		var err error
		cred, err = h.credentials.Verify(c.UserContext(), key, secret)
		if errors.Is(err, models.ErrBadCredential) {
			c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="LearnLens xAPI"`)
			return fiber.NewError(fiber.StatusUnauthorized, "the credential is not valid: "+err.Error())
		}
		if err != nil {
			return err
		}
		if trusted {
			h.credCache.put(epoch, ck, cred)
		}
	}
	// Checked on every request, not cached with the credential: a
	// suspension (or a change of the tenant's limits) holds from the next
	// request on every instance.
	t, err := h.hosts.ActiveTenant(c.UserContext(), cred.TenantID)
	if err != nil {
		return err
	}
	c.Locals(xapiTenantKey{}, t)
	c.Locals(xapiCredentialKey{}, cred)
	return c.Next()
}

func basicAuth(header string) (user, pass string, ok bool) {
	const prefix = "basic "
	if len(header) < len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return "", "", false
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header[len(prefix):]))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(b), ":")
	return user, pass, ok && user != ""
}

// xapiTenant is the tenant of the request's credential.
func xapiTenant(c *fiber.Ctx) models.Tenant { return c.Locals(xapiTenantKey{}).(models.Tenant) }

func xapiCredential(c *fiber.Ctx) models.Credential {
	return c.Locals(xapiCredentialKey{}).(models.Credential)
}

// authority is the agent recorded as the authority of statements sent with cred.
func (h *Handlers) authority(cred models.Credential) xapi.Agent {
	return xapi.Agent{ObjectType: "Agent", Name: cred.Name,
		AccountHomePage: "http://" + h.cfg.BaseDomain + "/xapi/credentials", AccountName: cred.Key}
}

func (h *Handlers) xapiPostStatements(c *fiber.Ctx) error {
	body, parts, err := statementsBody(c)
	if err != nil {
		return err
	}
	stmts, err := xapi.ParseStatements(body)
	if err != nil {
		return xapiBadRequest(err)
	}
	if err := xapi.CheckAttachmentParts(stmts, parts); err != nil {
		return xapiBadRequest(err)
	}
	res, err := h.store(c, stmts, parts)
	if err != nil {
		return err
	}
	return c.JSON(res.IDs)
}

func (h *Handlers) xapiPutStatement(c *fiber.Ctx) error {
	body, parts, err := statementsBody(c)
	if err != nil {
		return err
	}
	id := c.Query("statementId")
	if id == "" {
		return fiber.NewError(fiber.StatusBadRequest, "PUT needs the statementId parameter")
	}
	for k := range c.Queries() {
		if k != "statementId" {
			return fiber.NewError(fiber.StatusBadRequest, "PUT accepts only the statementId parameter, not "+k)
		}
	}
	s, err := xapi.ParseStatement(body)
	if err != nil {
		return xapiBadRequest(err)
	}
	canon, err := canonicalUUID(id)
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "statementId "+id+" is not a UUID")
	}
	if s.ID != "" && s.ID != canon {
		return fiber.NewError(fiber.StatusBadRequest, "the statement's id "+s.ID+" differs from the statementId parameter "+canon)
	}
	s.ID = canon
	stmts := []xapi.Statement{s}
	if err := xapi.CheckAttachmentParts(stmts, parts); err != nil {
		return xapiBadRequest(err)
	}
	if _, err := h.store(c, stmts, parts); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h *Handlers) store(c *fiber.Ctx, stmts []xapi.Statement, parts []xapi.AttachmentPart) (pipeline.StoreResult, error) {
	cred := xapiCredential(c)
	res, err := h.pipeline.StoreStatements(c.UserContext(), pipeline.StatementBatch{
		TenantID: cred.TenantID, CredentialID: cred.ID, Authority: h.authority(cred), Statements: stmts,
		Attachments: parts,
	})
	h.metrics.StatementsAccepted(res.Stored)
	var conflict *pipeline.ConflictError
	var voiding *pipeline.VoidingError
	switch {
	case errors.As(err, &conflict):
		return res, fiber.NewError(fiber.StatusConflict, err.Error())
	case errors.As(err, &voiding):
		return res, fiber.NewError(fiber.StatusBadRequest, err.Error())
	}
	return res, err
}

func (h *Handlers) xapiGetStatements(c *fiber.Ctx) error {
	cred := xapiCredential(c)
	// Read before the statements are, so that every statement stored
	// before it is in what they return.
	through, err := h.statements.ConsistentThrough(c.UserContext(), cred.TenantID, pipeline.IngestApplicationName(cred.TenantID))
	if err != nil {
		return err
	}
	c.Set("X-Experience-API-Consistent-Through", through.UTC().Format(time.RFC3339Nano))
	values, after, err := xapiQueryValues(c)
	if err != nil {
		return err
	}
	q, err := xapi.ParseQuery(values)
	if err != nil {
		return xapiBadRequest(err)
	}
	languages := xapi.AcceptLanguages(c.Get(fiber.HeaderAcceptLanguage))
	if q.StatementID != "" || q.VoidedStatementID != "" {
		id, voided := q.StatementID, false
		if id == "" {
			id, voided = q.VoidedStatementID, true
		}
		doc, err := h.statements.Get(c.UserContext(), cred.TenantID, id, voided)
		if errors.Is(err, models.ErrNotFound) {
			return fiber.NewError(fiber.StatusNotFound, "no statement "+id)
		}
		if err != nil {
			return err
		}
		var stored struct{ Stored time.Time }
		if json.Unmarshal(doc, &stored) == nil {
			setLastModified(c, stored.Stored)
		}
		if doc, err = xapi.FormatStatement(doc, q.Format, languages); err != nil {
			return err
		}
		return h.sendStatementResult(c, doc, []json.RawMessage{doc}, q.Attachments)
	}
	limit := q.Limit
	if limit == 0 || limit > xapiMaxLimit {
		limit = xapiDefaultLimit
		if q.Limit > xapiMaxLimit {
			limit = xapiMaxLimit
		}
	}
	page, err := h.statements.Query(c.UserContext(), cred.TenantID, q, limit, after)
	if err != nil {
		return err
	}
	for i, doc := range page.Statements {
		if page.Statements[i], err = xapi.FormatStatement(doc, q.Format, languages); err != nil {
			return err
		}
	}
	more := ""
	if page.Next != nil {
		tok, _ := json.Marshal(moreToken{Query: values.Encode(), Cursor: *page.Next})
		more = "/xapi/statements?more=" + base64.RawURLEncoding.EncodeToString(tok)
	}
	body, err := json.Marshal(struct {
		Statements []json.RawMessage `json:"statements"`
		More       string            `json:"more"`
	}{page.Statements, more})
	if err != nil {
		return err
	}
	setLastModified(c, page.Newest)
	return h.sendStatementResult(c, body, page.Statements, q.Attachments)
}

// setLastModified sends Last-Modified for t, unless t is zero.
func setLastModified(c *fiber.Ctx, t time.Time) {
	if !t.IsZero() {
		c.Set(fiber.HeaderLastModified, t.UTC().Format(http.TimeFormat))
	}
}

// sendStatementResult answers a statement or a page of them (body, made
// of docs) as JSON, or, with attachments=true, as multipart/mixed
// (Communication 2.1.3.s2, 1.5.2): its first part is the JSON, then one
// part for each distinct attachment the statements name whose data the
// tenant holds (an attachment that is only a fileUrl has none), with its
// Content-Type, Content-Transfer-Encoding binary and X-Experience-API-Hash.
// The data parts are streamed from the database one at a time.
func (h *Handlers) sendStatementResult(c *fiber.Ctx, body []byte, docs []json.RawMessage, attachments bool) error {
	if !attachments {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(body)
	}
	sha2s := attachmentHashes(docs)
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	part, err := w.CreatePart(textproto.MIMEHeader{"Content-Type": {fiber.MIMEApplicationJSON}})
	if err == nil {
		_, err = part.Write(body)
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "multipart/mixed; boundary="+w.Boundary())
	if len(sha2s) == 0 || c.Method() == fiber.MethodHead {
		if err := w.Close(); err != nil {
			return err
		}
		return c.Send(buf.Bytes())
	}
	// The stream writer runs after the handler has returned: it must not
	// touch c. It goes on where w stopped, writing each part as
	// multipart.Writer would.
	tenantID, log, boundary := xapiCredential(c).TenantID, h.log, w.Boundary()
	c.Context().SetBodyStreamWriter(func(bw *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), xapiAttachmentStreamTimeout)
		defer cancel()
		if _, err := bw.Write(buf.Bytes()); err != nil {
			return
		}
		err := h.statements.EachAttachment(ctx, tenantID, sha2s, func(a models.AttachmentData) error {
			ct := strings.NewReplacer("\r", "", "\n", "").Replace(a.ContentType)
			fmt.Fprintf(bw, "\r\n--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: binary\r\nX-Experience-API-Hash: %s\r\n\r\n",
				boundary, ct, a.SHA2)
			_, err := bw.Write(a.Content)
			return err
		})
		if err == nil {
			_, err = fmt.Fprintf(bw, "\r\n--%s--\r\n", boundary)
		}
		if err != nil {
			// The status is sent: the client sees a multipart body
			// without its closing boundary.
			log.Error("stream attachments", "tenant", tenantID, "err", err)
		}
	})
	return nil
}

// xapiAttachmentStreamTimeout bounds the streaming of a response's
// attachment data.
const xapiAttachmentStreamTimeout = 5 * time.Minute

// attachmentHashes is the sha2 of every attachment the statements (and
// their SubStatements) name, once each, in order of first appearance.
func attachmentHashes(docs []json.RawMessage) []string {
	type withAttachments struct {
		Attachments []struct {
			SHA2 string `json:"sha2"`
		} `json:"attachments"`
	}
	var out []string
	seen := map[string]bool{}
	for _, doc := range docs {
		var s struct {
			withAttachments
			Object withAttachments `json:"object"`
		}
		if json.Unmarshal(doc, &s) != nil {
			continue
		}
		for _, a := range append(s.Attachments, s.Object.Attachments...) {
			if sha := strings.ToLower(a.SHA2); sha != "" && !seen[sha] {
				seen[sha] = true
				out = append(out, sha)
			}
		}
	}
	return out
}

// moreToken carries a query and where its last page ended.
type moreToken struct {
	Query  string                 `json:"q"`
	Cursor models.StatementCursor `json:"c"`
}

// xapiQueryValues returns the request's query, or the original query of a
// "more" link with its cursor.
func xapiQueryValues(c *fiber.Ctx) (url.Values, *models.StatementCursor, error) {
	values, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		return nil, nil, fiber.NewError(fiber.StatusBadRequest, "the query string is malformed")
	}
	more := values.Get("more")
	if more == "" {
		return values, nil, nil
	}
	if len(values) != 1 {
		return nil, nil, fiber.NewError(fiber.StatusBadRequest, "the more parameter cannot be combined with others")
	}
	raw, err := base64.RawURLEncoding.DecodeString(more)
	var tok moreToken
	if err == nil {
		err = json.Unmarshal(raw, &tok)
	}
	if err != nil {
		return nil, nil, fiber.NewError(fiber.StatusBadRequest, "the more parameter is not one this LRS issued")
	}
	values, err = url.ParseQuery(tok.Query)
	if err != nil {
		return nil, nil, fiber.NewError(fiber.StatusBadRequest, "the more parameter is not one this LRS issued")
	}
	return values, &tok.Cursor, nil
}

// statementsBody returns the statements' JSON of a POST or PUT, and the
// attachment parts of a multipart/mixed one (Communication 1.5.2).
func statementsBody(c *fiber.Ctx) ([]byte, []xapi.AttachmentPart, error) {
	ct := c.Get(fiber.HeaderContentType)
	mt, _, _ := strings.Cut(strings.ToLower(ct), ";")
	switch strings.TrimSpace(mt) {
	case fiber.MIMEApplicationJSON:
		return c.Body(), nil, nil
	case "multipart/mixed":
		body, parts, err := xapi.ParseMultipart(c.Body(), ct)
		if err != nil {
			return nil, nil, xapiBadRequest(err)
		}
		return body, parts, nil
	}
	return nil, nil, fiber.NewError(fiber.StatusBadRequest, "send statements as application/json, or as multipart/mixed with their attachments' data")
}

// xapiBadRequest turns a validation error into a 400 naming the property
// and the rule.
func xapiBadRequest(err error) error {
	var ve *xapi.ValidationError
	if errors.As(err, &ve) {
		if ve.TooLarge() {
			return fiber.NewError(fiber.StatusRequestEntityTooLarge, ve.Error())
		}
		return fiber.NewError(fiber.StatusBadRequest, ve.Error())
	}
	return fiber.NewError(fiber.StatusBadRequest, "invalid statement: "+err.Error())
}

func canonicalUUID(s string) (string, error) {
	u, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return "", errors.New("not a uuid")
	}
	return u.String(), nil
}
