package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/models"
)

// KeysUsage is the usage of the keys command.
const KeysUsage = "usage: learnlens keys rotate|list"

// Keys manages the keys that sign API access tokens, sealed with sealKey
// (TOKEN_KEY): "rotate" makes a new current key (the old one is still
// published and accepted for auth.KeyGrace, so no token in use fails) and
// deletes keys retired longer ago than that; "list" shows them.
func Keys(ctx context.Context, db *database.DB, sealKey []byte, out io.Writer, args []string) error {
	if len(args) != 1 || (args[0] != "rotate" && args[0] != "list") {
		return errors.New(KeysUsage)
	}
	if sealKey == nil {
		return errors.New("set TOKEN_KEY or TOKEN_KEY_FILE: the keys are sealed with it")
	}
	store := models.NewTokenKeyStore(db)
	// Every key in force must open with this TOKEN_KEY: a rotation made
	// with another would leave the servers a key they cannot use.
	tokens := auth.NewTokens(store, sealKey, "", time.Now)
	keys, err := tokens.JWKS(ctx)
	if err != nil {
		return fmt.Errorf("%w (is this the servers' TOKEN_KEY?)", err)
	}
	if args[0] == "list" {
		rows, err := store.Published(ctx, time.Now().Add(-auth.KeyGrace))
		if err != nil {
			return err
		}
		for _, r := range rows {
			state := "current"
			if r.RetiredAt != nil {
				state = "retired " + r.RetiredAt.Format(time.RFC3339) + ", published until " + r.RetiredAt.Add(auth.KeyGrace).Format(time.RFC3339)
			}
			fmt.Fprintf(out, "%s  %s  created %s  %s\n", r.KID, r.Alg, r.CreatedAt.Format(time.RFC3339), state)
		}
		if len(rows) == 0 {
			fmt.Fprintln(out, "no keys yet: the first token request makes one")
		}
		return nil
	}
	k, err := auth.NewTokenKey(sealKey)
	if err != nil {
		return err
	}
	if err := store.Rotate(ctx, k, time.Now().Add(-auth.KeyGrace)); err != nil {
		return err
	}
	fmt.Fprintf(out, "new signing key %s is current; the %d key(s) before it stay published for %s, until every token they signed has expired\n",
		k.KID, len(keys), auth.KeyGrace)
	return nil
}
