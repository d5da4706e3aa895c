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

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }

type gormDB = gorm.DB
