package pipeline

import (
	"sync"

	"github.com/jackc/pgx/v5"
)

// groupCacheLimit bounds how many learners' groups a process keeps, over
// all tenants (about 150 bytes each).
const groupCacheLimit = 1 << 18

// groupCache keeps the gold groups (learnerGroups) this process has read,
// per tenant, for the roster version they were read at
// (migrations/00037_roster_versions.sql). A customer's batch names about a
// thousand people, nearly all of whom its previous batches named too, and
// reading their groups from learners and org_closure cost 22–29 µs of
// PostgreSQL per statement (docs/PERFORMANCE.md, "Where an ingested
// statement's time goes").
//
// An entry is only used under the tenant's pipeline lock, by a transaction
// that read the same roster version under that lock. Whatever changes a
// group (a roster import, an erasure, the people API, on any instance)
// changes the version in its own transaction, so a group read before it
// is never used after it. The groups are read after the version, so a
// change that commits between the two only makes the entries newer than
// their version says, which is safe: they are dropped at the next version.
type groupCache struct {
	mu      sync.Mutex
	tenants map[int64]*tenantGroups
	size    int // entries over all tenants
}

// tenantGroups are one tenant's cached groups and their roster version.
type tenantGroups struct {
	version int64
	groups  map[int64]group
}

// rosterVersionSQL reads the tenant's roster version: 0 for a tenant
// whose roster never changed since it was created, for which nothing is
// cached (a process that kept groups through a Down and Up of migration
// 00037 would otherwise find its version 0 again).
const rosterVersionSQL = `SELECT coalesce((SELECT version FROM roster_versions WHERE tenant_id = $1), 0)`

// cachedGroups is a transaction's view of the cache: one tenant at the
// roster version the transaction read under the tenant's pipeline lock.
// The transaction must not itself change anyone's group before it reads
// them (the statement ingest path creates people, whose groups no one has
// read, and changes no other).
type cachedGroups struct {
	cache   *groupCache
	tenant  int64
	version int64
}

// queueRosterVersion queues on b (sent once the tenant's pipeline lock is
// held) the read of the tenant's roster version and returns the view of
// the cache it makes, usable once b's results are read.
func (c *groupCache) queueRosterVersion(b *pgx.Batch, tenantID int64) *cachedGroups {
	v := &cachedGroups{cache: c, tenant: tenantID}
	b.Queue(rosterVersionSQL, tenantID).QueryRow(func(row pgx.Row) error { return row.Scan(&v.version) })
	return v
}

// lookup puts into out the cached group of each of ids it knows and
// returns the others. The groups' teams are shared with the cache: read
// them, never change them.
func (v *cachedGroups) lookup(ids []int64, out map[int64]group) (missing []int64) {
	c := v.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tenants[v.tenant]
	if v.version == 0 || t == nil || t.version != v.version {
		return ids
	}
	for _, id := range ids {
		if g, ok := t.groups[id]; ok {
			out[id] = g
		} else {
			missing = append(missing, id)
		}
	}
	return missing
}

// keep caches the groups of ids read from the database (found; an id
// without a row, a learner that does not exist, is not kept).
func (v *cachedGroups) keep(ids []int64, found map[int64]group) {
	if v.version == 0 {
		return
	}
	c := v.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tenants == nil {
		c.tenants = map[int64]*tenantGroups{}
	}
	t := c.tenants[v.tenant]
	if t != nil && t.version != v.version {
		// Another transaction may have read a newer version meanwhile
		// (this one's is then older) or an older one: either way the
		// entries of one version replace the other's.
		c.size -= len(t.groups)
		t = nil
	}
	if c.size+len(ids) > groupCacheLimit {
		c.tenants, c.size, t = map[int64]*tenantGroups{}, 0, nil
	}
	if t == nil {
		t = &tenantGroups{version: v.version, groups: make(map[int64]group, len(ids))}
		c.tenants[v.tenant] = t
	}
	for _, id := range ids {
		g, ok := found[id]
		if _, had := t.groups[id]; ok && !had {
			t.groups[id] = g
			c.size++
		}
	}
}
