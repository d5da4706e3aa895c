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
