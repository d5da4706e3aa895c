package handlers

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/learnlens/learnlens/models"
)

// credentialLimits bounds what one xAPI credential may ask of an instance:
// requests in flight at once, and requests per second (a token bucket with
// a burst), so that one tenant's key cannot starve the others. The
// deployment sets the defaults (XAPI_CREDENTIAL_CONCURRENCY,
// XAPI_CREDENTIAL_RATE, XAPI_CREDENTIAL_BURST) and a tenant may have its
// own (tenants.xapi_*, `learnlens tenant xapi-limits`); 0 turns a limit
// off. The limits are per instance.
type credentialLimits struct {
	defaults limits

	mu    sync.Mutex
	creds map[int64]*credentialUse
}

// limits are one credential's limits.
type limits struct {
	concurrency int
	rate        float64 // tokens per second
	burst       float64
}

// forTenant is the limits of t's credentials: its own where set.
func (l *credentialLimits) forTenant(t models.Tenant) limits {
	out := l.defaults
	if t.XAPIConcurrency != nil {
		out.concurrency = *t.XAPIConcurrency
	}
	if t.XAPIRate != nil {
		out.rate = float64(*t.XAPIRate)
	}
	if t.XAPIBurst != nil {
		out.burst = float64(*t.XAPIBurst)
	}
	out.burst = max(out.burst, 1)
	return out
}

type credentialUse struct {
	inFlight int
	tokens   float64
	at       time.Time
}

// take admits one request of credential id, or returns how long to wait.
// done must be called when an admitted request ends.
func (l *credentialLimits) take(id int64, lim limits, now time.Time) (done func(), wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.creds == nil || len(l.creds) > 100_000 {
		l.creds = map[int64]*credentialUse{}
	}
	u := l.creds[id]
	if u == nil {
		u = &credentialUse{tokens: lim.burst, at: now}
		l.creds[id] = u
	}
	if lim.concurrency > 0 && u.inFlight >= lim.concurrency {
		return nil, time.Second
	}
	if lim.rate > 0 {
		u.tokens = math.Min(lim.burst, u.tokens+now.Sub(u.at).Seconds()*lim.rate)
		u.at = now
		if u.tokens < 1 {
			return nil, time.Duration((1 - u.tokens) / lim.rate * float64(time.Second))
		}
		u.tokens--
	}
	u.inFlight++
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		u.inFlight--
	}, 0
}

// xapiLimit is middleware that admits a credential's request within its
// limits, or answers 429 with Retry-After (whole seconds, at least 1).
func (h *Handlers) xapiLimit(c *fiber.Ctx) error {
	if c.Method() == fiber.MethodOptions {
		return c.Next()
	}
	done, wait := h.xapiLimits.take(xapiCredential(c).ID, h.xapiLimits.forTenant(xapiTenant(c)), time.Now())
	if done == nil {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		return fiber.NewError(fiber.StatusTooManyRequests, "this credential is sending faster than its limit allows; retry after the Retry-After seconds")
	}
	defer done()
	return c.Next()
}
