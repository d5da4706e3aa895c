// Package tests holds black-box suites that start the real LearnLens server
// on a real PostgreSQL and talk to it over HTTP as browsers and API clients
// would.
package tests

import (
	"os"
	"testing"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database/testdb"
)

func TestMain(m *testing.M) {
	// Under make cover, the learnlens binaries the tests build with -cover
	// write their counters where the test binaries do: every child process
	// inherits GOCOVERDIR (binaries built without -cover ignore it).
	if d := os.Getenv("LEARNLENS_COVERDIR"); d != "" {
		os.Setenv("GOCOVERDIR", d)
	}
	os.Exit(testdb.Run(m))
}

type gormDB = gorm.DB
