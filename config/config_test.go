package config

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cases := []struct {
		name    string
		env     map[string]string
		check   func(Config) bool
		wantErr string
	}{
		{"defaults", nil, func(c Config) bool {
			return c.Port == 8080 && c.BaseDomain == "localhost" && c.PrivateDatabase() && c.DataDir == ".data" &&
				c.SessionIdleTimeout == 2*time.Hour && !c.SecureCookies && len(c.TrustedProxies) == 0
		}, ""},
		{"trusted proxies", map[string]string{"TRUSTED_PROXIES": " 10.0.0.0/8, 192.168.1.7 ,::1"}, func(c Config) bool {
			return strings.Join(c.TrustedProxies, "|") == "10.0.0.0/8|192.168.1.7|::1"
		}, ""},
		{"bad trusted proxy", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal"}, nil, `TRUSTED_PROXIES: "proxy.internal" is not an IP address or a CIDR range`},
		{"values", map[string]string{"PORT": "9000", "BASE_DOMAIN": "LearnLens.Example", "SECURE_COOKIES": "true", "SESSION_LIFETIME": "30m"},
			func(c Config) bool {
				return c.Port == 9000 && c.BaseDomain == "learnlens.example" && c.SecureCookies && c.SessionLifetime == 30*time.Minute
			}, ""},
		{"database logins", map[string]string{"DATABASE_URL": "postgres://learnlens_app@db/ll", "DATABASE_PLATFORM_URL": "postgres://learnlens_platform@db/ll"},
			func(c Config) bool {
				return !c.PrivateDatabase() && c.DatabaseURL == "postgres://learnlens_app@db/ll" && c.DatabasePlatformURL == "postgres://learnlens_platform@db/ll"
			}, ""},
		{"owner alone (migrate)", map[string]string{"DATABASE_OWNER_URL": "postgres://learnlens_owner@db/ll"},
			func(c Config) bool {
				return !c.PrivateDatabase() && c.DatabaseOwnerURL == "postgres://learnlens_owner@db/ll"
			}, ""},
		{"read replica", map[string]string{"DATABASE_URL": "postgres://learnlens_app@db/ll", "DATABASE_PLATFORM_URL": "postgres://learnlens_platform@db/ll",
			"DATABASE_READ_URL": "postgres://learnlens_app@replica/ll", "REPLICA_MAX_WAIT": "20ms"},
			func(c Config) bool {
				return c.DatabaseReadURL == "postgres://learnlens_app@replica/ll" && c.ReplicaMaxWait == 20*time.Millisecond
			}, ""},
		{"read replica without a primary", map[string]string{"DATABASE_READ_URL": "postgres://learnlens_app@replica/ll"}, nil,
			"DATABASE_READ_URL needs DATABASE_URL"},
		{"app login without the platform's", map[string]string{"DATABASE_URL": "postgres://learnlens_app@db/ll"}, nil,
			"set DATABASE_URL and DATABASE_PLATFORM_URL together"},
		{"bad port", map[string]string{"PORT": "eighty"}, nil, `PORT="eighty" is not a whole number`},
		{"log level", map[string]string{"LOG_LEVEL": "WARN"}, func(c Config) bool { return c.LogLevel == "WARN" }, ""},
		{"bad log level", map[string]string{"LOG_LEVEL": "verbose"}, nil, `LOG_LEVEL="verbose" is not debug, info, warn or error`},
		{"token key in hex", map[string]string{"TOKEN_KEY": strings.Repeat("ab", 32), "API_CLIENT_RATE": "5"}, func(c Config) bool {
			k, err := c.TokenSealKey()
			return err == nil && len(k) == 32 && k[0] == 0xab && c.APIClientRate == 5 && c.APIClientBurst == 40
		}, ""},
		{"token key in base64", map[string]string{"TOKEN_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}, func(c Config) bool {
			k, err := c.TokenSealKey()
			return err == nil && len(k) == 32 && k[31] == 31
		}, ""},
		{"no token key", nil, func(c Config) bool { k, err := c.TokenSealKey(); return k == nil && err == nil }, ""},
		{"short token key", map[string]string{"TOKEN_KEY": "abcd"}, nil, "TOKEN_KEY: want 32 random bytes"},
		{"bad bool", map[string]string{"SECURE_COOKIES": "maybe"}, nil, `SECURE_COOKIES="maybe" is not true or false`},
		{"bad duration", map[string]string{"SESSION_IDLE_TIMEOUT": "2 hours"}, nil, `SESSION_IDLE_TIMEOUT="2 hours" is not a duration`},
	}
	for _, tc := range cases {
		c, err := parse(env(tc.env))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !tc.check(c) {
			t.Errorf("%s: %+v, %v", tc.name, c, err)
		}
	}
}
