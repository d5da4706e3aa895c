package auth

import (
	"bytes"
	"testing"

	"github.com/learnlens/learnlens/models"
)

func TestTokenKeysAreSealedToTheirKid(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	k, err := NewTokenKey(key)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := openTokenKey(key, k)
	if err != nil || len(opened.public) != 32 || opened.kid != k.KID || k.Alg != "EdDSA" {
		t.Fatalf("open: %+v, %v", opened, err)
	}
	if bytes.Contains(k.PrivateSealed, opened.private.Seed()) {
		t.Error("the sealed key holds the private key in clear")
	}
	other := bytes.Repeat([]byte{8}, 32)
	moved := k
	moved.KID = "another-kid-of-22chars"
	wrongAlg := k
	wrongAlg.Alg = "HS256"
	for what, c := range map[string]struct {
		key []byte
		row models.TokenKey
	}{
		"another TOKEN_KEY":              {other, k},
		"sealed value under another kid": {key, moved},
		"another algorithm":              {key, wrongAlg},
	} {
		if _, err := openTokenKey(c.key, c.row); err == nil {
			t.Errorf("%s: opened", what)
		}
	}
	if _, err := NewTokenKey([]byte("short")); err == nil {
		t.Error("a short TOKEN_KEY sealed a key")
	}
}
