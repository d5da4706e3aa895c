// Package migrations holds the numbered SQL migrations of the LearnLens
// schema, embedded into the binary and applied with goose.
package migrations

import "embed"

// FS holds every *.sql migration, named NNNNN_description.sql.
//
//go:embed *.sql
var FS embed.FS
