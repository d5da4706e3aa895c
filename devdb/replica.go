package devdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// StartReplica makes a streaming replica of primary in opts.Dir, which
// must hold no cluster yet, and starts it as a hot standby: a base backup
// (pg_basebackup -R, which writes the standby's primary_conninfo and
// standby.signal) streamed over primary's Unix socket, then a server with
// primary's options on a port of its own. Stop it like any Cluster.
// Tests use it to read from a real replica; a replica of a development
// cluster is of little use otherwise.
func StartReplica(ctx context.Context, primary *Cluster, opts Options) (*Cluster, error) {
	c := &Cluster{Dir: opts.Dir, Port: opts.Port, bin: primary.bin, runAs: primary.runAs}
	var err error
	if c.Port == 0 {
		if c.Port, err = freePort(); err != nil {
			return nil, err
		}
	}
	if err := c.prepareDirs(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(c.Dir, "PG_VERSION")); !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("replica directory %s already holds a cluster", c.Dir)
	}
	// -c fast: a checkpoint now rather than at the next spread one; -X
	// stream: the WAL written meanwhile comes along, so the copy is
	// consistent on its own.
	basebackup, err := c.tool("pg_basebackup")
	if err != nil {
		return nil, err
	}
	err = c.run(ctx, basebackup, "-D", c.Dir, "-h", primary.SocketDir,
		"-p", strconv.Itoa(primary.Port), "-U", "postgres", "-R", "-X", "stream", "-c", "fast")
	if err != nil {
		return nil, fmt.Errorf("base backup of the primary: %w", err)
	}
	// The primary's options with this server's port and socket; a small
	// buffer pool unless opts asks for more, since a test's replica holds
	// little (a benchmark's replica takes the primary's 1GB, so that both
	// read from their own buffers). hot_standby_feedback keeps the
	// primary's vacuum from removing rows the replica's open snapshots
	// still read, so long dashboard reads are not cancelled.
	buffers := opts.SharedBuffers
	if buffers == "" {
		buffers = "128MB"
	}
	c.options = fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=300"+
		" -c shared_buffers=%s -c hot_standby=on -c hot_standby_feedback=on", c.Port, c.SocketDir, buffers)
	if c.hasLibrary("pg_stat_statements") {
		c.options += " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.max=20000"
	}
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	c.started = true
	return c, nil
}

// tool returns the path of the server's client program name: beside
// initdb, or beside the binary initdb links to (PATH may hold links to the
// server's programs only, as /usr/local/bin does on some machines).
func (c *Cluster) tool(name string) (string, error) {
	dirs := []string{c.bin}
	if real, err := filepath.EvalSymlinks(filepath.Join(c.bin, "initdb")); err == nil {
		dirs = append(dirs, filepath.Dir(real))
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			return filepath.Join(d, name), nil
		}
	}
	return "", fmt.Errorf("%s not found beside initdb in %v", name, dirs)
}
