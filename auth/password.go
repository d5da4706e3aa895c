// Package auth decides who a request comes from: which tenant its host
// serves, which user its session belongs to, and whether that user may do
// what they ask. It also hashes passwords and guards against CSRF and
// password guessing.
package auth

import (
	"errors"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
)

// passwordParams are OWASP's recommended argon2id settings (19 MiB, 2
// iterations, 1 thread).
var passwordParams = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// HashPassword returns the argon2id hash of password in PHC string form.
func HashPassword(password string) (string, error) {
	return argon2id.CreateHash(password, passwordParams)
}

// CheckPassword reports whether password matches hash. A malformed hash
// never matches.
func CheckPassword(password, hash string) bool {
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	return err == nil && ok
}

var (
	dummyOnce sync.Once
	dummyHash string
)

// checkDummyPassword spends the time of one real password check, so an
// unknown email takes as long to refuse as a wrong password.
func checkDummyPassword(password string) {
	dummyOnce.Do(func() { dummyHash, _ = HashPassword("learnlens-dummy-password") })
	CheckPassword(password, dummyHash)
}

// Password rules for a password someone chooses (ASVS 2.1): at least
// MinPasswordLength characters, any characters, at most MaxPasswordLength
// (hashing is not free), and not the account's email address.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 128
)

// CheckNewPassword says why password cannot be chosen by the user with
// that email, or nil.
func CheckNewPassword(password, email string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLength:
		return errors.New("use at least 12 characters")
	case n > MaxPasswordLength:
		return errors.New("use at most 128 characters")
	case strings.EqualFold(strings.TrimSpace(password), strings.TrimSpace(email)):
		return errors.New("do not use your email address as your password")
	}
	return nil
}
