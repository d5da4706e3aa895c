package config

import (
	"os"
	"runtime/debug"
)

// GCPercent is the server's garbage-collection target unless GOGC is set.
// Ingest allocates a parse tree and parameter arrays per request, all dead
// by the commit; with Go's default of 100 the collector took about a sixth
// of the server's CPU in the ingest benchmark. The live heap is small (tens
// of MB), so a higher target costs little memory.
const GCPercent = 400

// TuneGC applies GCPercent unless the GOGC environment variable is set.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
}
