package handlers

import (
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/models"
)

// TokenRequest is the token endpoint's form (documented, not parsed: the
// handler reads the fields one by one). client_id and client_secret may
// come by HTTP Basic instead.
type TokenRequest struct {
	GrantType    string `json:"grant_type"` // client_credentials
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
	Scope        string `json:"scope,omitempty"` // a space-separated subset of the client's scopes
}

// TokenResponse is a successful answer of POST /api/v1/oauth/token (RFC
// 6749 §5.1).
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"` // "Bearer"
	ExpiresIn   int    `json:"expires_in"` // seconds: 900
	Scope       string `json:"scope"`      // the token's scopes, space-separated
}

// TokenError is a refusal of the token endpoint (RFC 6749 §5.2).
type TokenError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// oauthToken is the client-credentials grant (RFC 6749 §4.4): a client of
// the host's tenant authenticates with its id and secret, in the form or
// with HTTP Basic (§2.3.1), and gets an access token for its scopes, or the
// subset that scope asks for. Wrong secrets count against the client
// address like failed sign-ins, and an address that failed too often
// waits (429, Retry-After). A suspended tenant's host answers 403 before
// this runs (ResolveTenant); another tenant's client is not found here.
func (h *Handlers) oauthToken(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderPragma, "no-cache")
	refuse := func(status int, code, msg string) error {
		return c.Status(status).JSON(TokenError{Error: code, ErrorDescription: msg})
	}
	if !h.api.tokens.Enabled() {
		return refuse(fiber.StatusServiceUnavailable, "temporarily_unavailable", auth.ErrTokensOff.Error())
	}
	if !strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEApplicationForm) {
		return refuse(fiber.StatusBadRequest, "invalid_request", "send the parameters form-encoded (application/x-www-form-urlencoded)")
	}
	switch grant := c.FormValue("grant_type"); grant {
	case "client_credentials":
	case "":
		return refuse(fiber.StatusBadRequest, "invalid_request", "grant_type is missing: send grant_type=client_credentials")
	default:
		return refuse(fiber.StatusBadRequest, "unsupported_grant_type", "only grant_type=client_credentials is supported")
	}
	id, secret, basic, err := clientAuth(c)
	if err != nil {
		return refuse(fiber.StatusBadRequest, "invalid_request", err.Error())
	}
	badClient := func(msg string) error {
		if basic {
			c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="LearnLens"`)
		}
		return refuse(fiber.StatusUnauthorized, "invalid_client", msg)
	}
	if id == "" || secret == "" {
		return badClient("authenticate the client: client_id and client_secret in the form, or HTTP Basic")
	}
	ip := h.clientIP(c)
	wait, err := h.authn.ThrottleWait(c, ip)
	if err != nil {
		return err
	}
	if wait > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(wait))
		return refuse(fiber.StatusTooManyRequests, "slow_down", "too many failed attempts from your network; retry after the Retry-After seconds")
	}
	tenant := auth.Tenant(c)
	client, found, err := h.api.clients.Verify(c.UserContext(), tenant.ID, id, secret)
	if errors.Is(err, models.ErrBadClient) {
		if err := h.authn.RecordSecretFailure(c, ip); err != nil {
			return err
		}
		if found {
			_ = h.audit.Record(c.UserContext(), models.AuditEntry{TenantID: tenant.ID, ActorEmail: "api-client:" + client.ClientID,
				Action: models.AuditAPIClientRefused, Target: apiClientTarget(client), IP: ip, RequestID: requestID(c)})
		}
		return badClient("unknown client, wrong secret or revoked client")
	}
	if err != nil {
		return err
	}
	scopes := []string(client.Scopes)
	if asked := strings.Fields(c.FormValue("scope")); len(asked) > 0 {
		for _, s := range asked {
			if !client.Has(s) {
				return refuse(fiber.StatusBadRequest, "invalid_scope", "the client does not have the scope "+s+"; it has "+client.Scopes.String())
			}
		}
		scopes = slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return !slices.Contains(asked, s) })
	}
	token, _, err := h.api.tokens.Issue(c.UserContext(), tenant.ID, client.ClientID, client.SecretVersion(), scopes)
	if err != nil {
		return err
	}
	return c.JSON(TokenResponse{AccessToken: token, TokenType: "Bearer", ExpiresIn: int(auth.TokenLifetime.Seconds()),
		Scope: models.ScopeList(scopes).String()})
}

// clientAuth reads the client's id and secret from HTTP Basic (each part
// form-urlencoded, RFC 6749 §2.3.1) or the form; both at once is an error.
func clientAuth(c *fiber.Ctx) (id, secret string, basic bool, err error) {
	formID, formSecret := c.FormValue("client_id"), c.FormValue("client_secret")
	scheme, cred, _ := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
	if !strings.EqualFold(scheme, "Basic") {
		return formID, formSecret, false, nil
	}
	if formSecret != "" {
		return "", "", true, errors.New("authenticate the client one way only: HTTP Basic or the form's client_secret")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", "", true, errors.New("the HTTP Basic credentials are not base64")
	}
	u, p, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", true, errors.New("the HTTP Basic credentials lack a colon between client id and secret")
	}
	if id, err = url.QueryUnescape(u); err == nil {
		secret, err = url.QueryUnescape(p)
	}
	if err != nil {
		return "", "", true, errors.New("the HTTP Basic credentials are not form-urlencoded")
	}
	if formID != "" && formID != id {
		return "", "", true, errors.New("client_id in the form differs from the HTTP Basic one")
	}
	return id, secret, true, nil
}

func apiClientTarget(cl models.APIClient) string { return "api_client:" + strconv.FormatInt(cl.ID, 10) }
