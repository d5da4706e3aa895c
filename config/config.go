// Package config reads LearnLens settings from environment variables.
package config

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config holds every setting of a LearnLens process. Each field names the
// environment variable it comes from and its default.
type Config struct {
	Port               int           // PORT, 8080
	BaseDomain         string        // BASE_DOMAIN, "localhost": tenants live at <slug>.<BASE_DOMAIN>
	DatabaseURL        string        // DATABASE_URL, "": the app's tenant-scoped login (role learnlens_app)
	DataDir            string        // DATA_DIR, ".data"
	DevDBPort          int           // DEV_DB_PORT, 54329: port of the private cluster
	SecureCookies      bool          // SECURE_COOKIES, false: set true behind HTTPS
	SessionIdleTimeout time.Duration // SESSION_IDLE_TIMEOUT, 2h
	SessionLifetime    time.Duration // SESSION_LIFETIME, 12h
	LogLevel           string        // LOG_LEVEL, "info"
	ViewCacheBytes     int64         // VIEW_CACHE_MB (megabytes), 256: memory for shared dashboard results
	ShutdownTimeout    time.Duration // SHUTDOWN_TIMEOUT, 25s
	ShutdownDrain      time.Duration // SHUTDOWN_DRAIN, 5s
	// MetricsAddr (METRICS_ADDR, "127.0.0.1:9464") is where /metrics is
	// served for Prometheus, apart from the public port; "off": nowhere.
	MetricsAddr string
	// TrustedProxies (TRUSTED_PROXIES, none) lists the addresses and CIDR
	// ranges of the reverse proxies whose X-Forwarded-Host and
	// X-Forwarded-Proto headers are believed. From any other peer they
	// are ignored, since they choose the tenant and build sign-in links.
	TrustedProxies []string

	// The database's other two logins (docs/SECURITY.md). With these and
	// DATABASE_URL unset, every command uses a private cluster under
	// DataDir.
	DatabasePlatformURL string        // DATABASE_PLATFORM_URL, "": the app's platform login (role learnlens_platform)
	DatabaseOwnerURL    string        // DATABASE_OWNER_URL, "": the schema's owner, for migrate, seed --demo and serve --dev only
	DatabaseReadURL     string        // DATABASE_READ_URL, "": learnlens_app on a streaming replica, for dashboard reads
	ReplicaMaxWait      time.Duration // REPLICA_MAX_WAIT: how long a read waits for the replica to catch up before using the primary

	// Limits of one xAPI credential on one instance (0 turns a limit
	// off): requests in flight, requests per second and the burst above
	// that rate.
	XAPICredentialConcurrency int     // XAPI_CREDENTIAL_CONCURRENCY, 8
	XAPICredentialRate        float64 // XAPI_CREDENTIAL_RATE, 200 requests/s
	XAPICredentialBurst       int     // XAPI_CREDENTIAL_BURST, 400 requests

	// TokenKey (TOKEN_KEY) seals the private keys that sign API access
	// tokens: 32 bytes as 64 hex digits or base64. TokenKeyFile
	// (TOKEN_KEY_FILE) names a file holding it instead; `serve --dev`
	// makes DATA_DIR/token.key when neither is set. Without either,
	// API tokens are off (the token endpoint answers 503).
	TokenKey     string
	TokenKeyFile string
	// Limits of one API client on one instance: requests per second and
	// the burst above that rate (0 turns the rate limit off).
	APIClientRate  float64 // API_CLIENT_RATE, 20 requests/s
	APIClientBurst int     // API_CLIENT_BURST, 40 requests

	// AdminMFAOptional lets platform admins sign in without a second
	// factor. Not read from the environment: only `serve --dev` (the demo
	// data, whose printed logins must keep working) and tests set it.
	AdminMFAOptional   bool
	LiveMaxPerTenant   int           // LIVE_MAX_PER_TENANT, 1000: live dashboard connections of one tenant on an instance
	LiveMaxConnections int           // LIVE_MAX_CONNECTIONS, 5000: live dashboard connections on an instance
	LiveHeartbeat      time.Duration // LIVE_HEARTBEAT, 25s: live connections are pinged this often and dropped after 2.5 silent heartbeats

	// Now is the clock that decides the tenants' "today" (nil: time.Now).
	// Not read from the environment; tests set it to cross a midnight.
	Now func() time.Time
}

// Load reads the environment and reports the first malformed value.
func Load() (Config, error) {
	return parse(os.Getenv)
}

func parse(getenv func(string) string) (Config, error) {
	p := parser{getenv: getenv}
	c := Config{
		Port:               p.int("PORT", 8080),
		BaseDomain:         strings.ToLower(p.str("BASE_DOMAIN", "localhost")),
		DatabaseURL:        p.str("DATABASE_URL", ""),
		DataDir:            p.str("DATA_DIR", ".data"),
		DevDBPort:          p.int("DEV_DB_PORT", 54329),
		SecureCookies:      p.bool("SECURE_COOKIES", false),
		SessionIdleTimeout: p.duration("SESSION_IDLE_TIMEOUT", 2*time.Hour),
		SessionLifetime:    p.duration("SESSION_LIFETIME", 12*time.Hour),
		LogLevel:           p.str("LOG_LEVEL", "info"),
		ViewCacheBytes:     int64(p.int("VIEW_CACHE_MB", 256)) << 20,
		ShutdownTimeout:    p.duration("SHUTDOWN_TIMEOUT", 25*time.Second),
		ShutdownDrain:      p.duration("SHUTDOWN_DRAIN", 5*time.Second),
		TrustedProxies:     p.addresses("TRUSTED_PROXIES"),
		MetricsAddr:        p.str("METRICS_ADDR", "127.0.0.1:9464"),

		DatabasePlatformURL: p.str("DATABASE_PLATFORM_URL", ""),
		DatabaseOwnerURL:    p.str("DATABASE_OWNER_URL", ""),
		DatabaseReadURL:     p.str("DATABASE_READ_URL", ""),
		ReplicaMaxWait:      p.duration("REPLICA_MAX_WAIT", 50*time.Millisecond),

		XAPICredentialConcurrency: p.int("XAPI_CREDENTIAL_CONCURRENCY", 8),
		XAPICredentialRate:        float64(p.int("XAPI_CREDENTIAL_RATE", 200)),
		XAPICredentialBurst:       p.int("XAPI_CREDENTIAL_BURST", 400),
		TokenKey:                  p.str("TOKEN_KEY", ""),
		TokenKeyFile:              p.str("TOKEN_KEY_FILE", ""),
		APIClientRate:             float64(p.int("API_CLIENT_RATE", 20)),
		APIClientBurst:            p.int("API_CLIENT_BURST", 40),
		LiveMaxPerTenant:          p.int("LIVE_MAX_PER_TENANT", 1000),
		LiveMaxConnections:        p.int("LIVE_MAX_CONNECTIONS", 5000),
		LiveHeartbeat:             p.duration("LIVE_HEARTBEAT", 25*time.Second),
	}
	if c.TokenKey != "" && p.err == nil {
		if _, err := decodeTokenKey(c.TokenKey); err != nil {
			p.err = fmt.Errorf("TOKEN_KEY: %w", err)
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil && p.err == nil {
		p.err = fmt.Errorf("LOG_LEVEL=%q is not debug, info, warn or error", c.LogLevel)
	}
	if strings.EqualFold(c.MetricsAddr, "off") {
		c.MetricsAddr = ""
	}
	if (c.DatabaseURL == "") != (c.DatabasePlatformURL == "") && p.err == nil {
		p.err = errors.New("set DATABASE_URL and DATABASE_PLATFORM_URL together: the app logs in as learnlens_app and as learnlens_platform (docs/SECURITY.md)")
	}
	if c.DatabaseReadURL != "" && c.DatabaseURL == "" && p.err == nil {
		p.err = errors.New("DATABASE_READ_URL needs DATABASE_URL: it names a replica of the database DATABASE_URL names")
	}
	return c, p.err
}

// TokenSealKey returns the 32-byte key that seals the token signing keys,
// from TOKEN_KEY or the file TOKEN_KEY_FILE names; nil when neither is set.
func (c Config) TokenSealKey() ([]byte, error) {
	text := c.TokenKey
	if text == "" && c.TokenKeyFile != "" {
		b, err := os.ReadFile(c.TokenKeyFile)
		if err != nil {
			return nil, fmt.Errorf("TOKEN_KEY_FILE: %w", err)
		}
		text = strings.TrimSpace(string(b))
	}
	if text == "" {
		return nil, nil
	}
	key, err := decodeTokenKey(text)
	if err != nil {
		return nil, fmt.Errorf("TOKEN_KEY: %w", err)
	}
	return key, nil
}

// NewTokenKey returns a new random TOKEN_KEY value (64 hex digits).
func NewTokenKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// decodeTokenKey reads 32 bytes written as 64 hex digits or in base64.
func decodeTokenKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("want 32 random bytes as 64 hex digits or base64 (e.g. openssl rand -hex 32)")
}

// PrivateDatabase reports whether no database login is configured, so that
// commands use a private cluster under DataDir.
func (c Config) PrivateDatabase() bool {
	return c.DatabaseURL == "" && c.DatabasePlatformURL == "" && c.DatabaseOwnerURL == ""
}

type parser struct {
	getenv func(string) string
	err    error
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

func (p *parser) int(name string, def int) int {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("%s=%q is not a whole number", name, v)
	}
	return n
}

// addresses reads a comma-separated list of IP addresses and CIDR ranges.
func (p *parser) addresses(name string) []string {
	var out []string
	for _, v := range strings.Split(p.str(name, ""), ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		_, _, cidrErr := net.ParseCIDR(v)
		if cidrErr != nil && net.ParseIP(v) == nil {
			if p.err == nil {
				p.err = fmt.Errorf("%s: %q is not an IP address or a CIDR range such as 10.0.0.0/8", name, v)
			}
			continue
		}
		out = append(out, v)
	}
	return out
}

func (p *parser) bool(name string, def bool) bool {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("%s=%q is not true or false", name, v)
	}
	return b
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("%s=%q is not a duration such as 30m or 2h", name, v)
	}
	return d
}

// Clock is Now's time, or time.Now's when Now is unset.
func (c Config) Clock() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
