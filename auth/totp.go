package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// TOTP parameters (RFC 6238 with its defaults, which every authenticator
// app supports): HMAC-SHA-1, 30-second steps, 6 digits. A code is accepted
// one step early or late, for clock drift, and never twice (the caller
// keeps the last step used).
const (
	totpStep   = 30 * time.Second
	totpDigits = 6
	totpSkew   = 1
)

// NewTOTPSecret returns 160 random bits, the key size RFC 4226 recommends.
func NewTOTPSecret() []byte {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return b
}

// TOTPKeyText is secret as authenticator apps take it typed in: base32
// without padding.
func TOTPKeyText(secret []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
}

// TOTPURI is the otpauth:// URI of secret for account at issuer, which
// authenticator apps read (as a QR code or a link).
func TOTPURI(secret []byte, issuer, account string) string {
	label := url.PathEscape(issuer + ":" + account)
	v := url.Values{"secret": {TOTPKeyText(secret)}, "issuer": {issuer}, "algorithm": {"SHA1"},
		"digits": {fmt.Sprint(totpDigits)}, "period": {fmt.Sprint(int(totpStep.Seconds()))}}
	return "otpauth://totp/" + label + "?" + v.Encode()
}

// totpCode is the code of secret at time step (RFC 4226 HOTP of the step).
func totpCode(secret []byte, step int64) string {
	mac := hmac.New(sha1.New, secret)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range totpDigits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", totpDigits, bin%mod)
}

// CheckTOTP returns the time step whose code is code, within the allowed
// drift of now and after lastStep (a code already used, or one older than
// it, does not count), or ok false.
func CheckTOTP(secret []byte, code string, now time.Time, lastStep int64) (step int64, ok bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != totpDigits {
		return 0, false
	}
	cur := now.Unix() / int64(totpStep.Seconds())
	for s := cur - totpSkew; s <= cur+totpSkew; s++ {
		if s > lastStep && subtle.ConstantTimeCompare([]byte(totpCode(secret, s)), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}

// NewRecoveryCodes returns n one-time recovery codes, as the user writes
// them down: ten base32 characters in two groups (50 bits each).
func NewRecoveryCodes(n int) []string {
	out := make([]string, n)
	for i := range out {
		b := make([]byte, 7)
		if _, err := rand.Read(b); err != nil {
			panic(err)
		}
		s := strings.ToLower(base32.StdEncoding.EncodeToString(b))[:10]
		out[i] = s[:5] + "-" + s[5:]
	}
	return out
}

// NormaliseRecoveryCode is code as stored (hashed): lower case, without
// the dash and spaces.
func NormaliseRecoveryCode(code string) string {
	return strings.NewReplacer("-", "", " ", "").Replace(strings.ToLower(strings.TrimSpace(code)))
}

// TOTPCode is the code an authenticator app shows for secret at t.
func TOTPCode(secret []byte, t time.Time) string {
	return totpCode(secret, t.Unix()/int64(totpStep.Seconds()))
}
