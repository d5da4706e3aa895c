package auth

import (
	"strings"
	"testing"
	"time"
)

// RFC 6238 appendix B, SHA-1 key, truncated to the 6 digits apps use.
func TestTOTPMatchesRFC6238(t *testing.T) {
	secret := []byte("12345678901234567890")
	cases := []struct {
		unix int64
		code string
	}{
		{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"},
		{1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"},
	}
	for _, c := range cases {
		if got := totpCode(secret, c.unix/30); got != c.code {
			t.Errorf("code at %d = %s, want %s", c.unix, got, c.code)
		}
		step, ok := CheckTOTP(secret, c.code, time.Unix(c.unix, 0), 0)
		if !ok || step != c.unix/30 {
			t.Errorf("CheckTOTP at %d: %d %v", c.unix, step, ok)
		}
	}
}

func TestCheckTOTPWindowAndReplay(t *testing.T) {
	secret := NewTOTPSecret()
	now := time.Unix(1_800_000_000, 0)
	cur := now.Unix() / 30
	for _, d := range []int64{-1, 0, 1} {
		if _, ok := CheckTOTP(secret, totpCode(secret, cur+d), now, 0); !ok {
			t.Errorf("code of step %+d refused", d)
		}
	}
	for _, d := range []int64{-3, -2, 2, 3} {
		if _, ok := CheckTOTP(secret, totpCode(secret, cur+d), now, 0); ok {
			t.Errorf("code of step %+d accepted", d)
		}
	}
	if _, ok := CheckTOTP(secret, totpCode(secret, cur), now, cur); ok {
		t.Error("a code was accepted twice")
	}
	if _, ok := CheckTOTP(secret, "12345", now, 0); ok {
		t.Error("a 5-digit code was accepted")
	}
	if u := TOTPURI(secret, "LearnLens", "a@acme.test"); !strings.HasPrefix(u, "otpauth://totp/LearnLens:a@acme.test?") || !strings.Contains(u, "secret="+TOTPKeyText(secret)) {
		t.Errorf("URI %s", u)
	}
	codes := NewRecoveryCodes(10)
	if len(codes) != 10 || len(codes[0]) != 11 || codes[0] == codes[1] || NormaliseRecoveryCode(strings.ToUpper(codes[0])) != strings.ReplaceAll(codes[0], "-", "") {
		t.Errorf("recovery codes %v", codes)
	}
}

func TestTOTPSecretsAreSealedToTheirUser(t *testing.T) {
	key := make([]byte, 32)
	key[0] = 7
	secret := NewTOTPSecret()
	sealed, err := sealTOTP(key, 3, 42, secret)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), string(secret)) || len(sealed) != 12+len(secret)+16 {
		t.Errorf("sealed value %x holds the secret or has the wrong size", sealed)
	}
	if got, err := openTOTP(key, 3, 42, sealed); err != nil || string(got) != string(secret) {
		t.Fatalf("open: %x, %v", got, err)
	}
	other := append([]byte(nil), key...)
	other[1] = 1
	for _, c := range []struct {
		what           string
		key            []byte
		tenant, userID int64
		sealed         []byte
	}{
		{"another user's row", key, 3, 43, sealed},
		{"another tenant", key, 4, 42, sealed},
		{"another key", other, 3, 42, sealed},
		{"a damaged value", key, 3, 42, append(append([]byte(nil), sealed[:len(sealed)-1]...), sealed[len(sealed)-1]^1)},
		{"a short value", key, 3, 42, sealed[:5]},
	} {
		if _, err := openTOTP(c.key, c.tenant, c.userID, c.sealed); err == nil {
			t.Errorf("%s: the secret opened", c.what)
		}
	}
}
