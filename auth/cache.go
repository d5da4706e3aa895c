package auth

import (
	"slices"
	"sync"
	"time"

	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/realtime"
)

// Cache keeps, in this instance's memory, what every signed-in request
// needs before its handler runs: the tenant of each host, the sessions and
// the signed-in users. So a signed-in request reads none of them from
// PostgreSQL. The stores announce every change on models.AuthChannel and
// the Cache drops what changed; it trusts itself only while its listener
// is connected (else it reads through), and empties itself whenever the
// listener (re)connects, since notifications may have been missed.
type Cache struct {
	listener *realtime.Listener
	hosts    *table[string, models.Tenant]
	sessions *table[string, cachedSession] // by models.SessionTokenHash
	users    *table[cachedUserKey, models.User]

	mu      sync.Mutex
	waiting map[string][]chan struct{} // by payload: awaitEcho's waiters
}

// echoTimeout bounds how long a sign-out waits to hear its own notification.
const echoTimeout = time.Second

type cachedSession struct {
	data   []byte
	expiry time.Time
}

type cachedUserKey struct{ tenantID, id int64 }

// NewCache returns a Cache that holds at most maxEntries hosts, as many
// sessions and as many users, and registers with listener, which must not
// be running yet.
func NewCache(listener *realtime.Listener, maxEntries int) *Cache {
	c := &Cache{
		listener: listener,
		hosts:    newTable[string, models.Tenant](maxEntries),
		sessions: newTable[string, cachedSession](maxEntries),
		users:    newTable[cachedUserKey, models.User](maxEntries),
	}
	c.waiting = map[string][]chan struct{}{}
	listener.Handle(models.AuthChannel, c.changed)
	listener.OnConnect(c.flush)
	return c
}

// Forget drops what change names from this instance's cache at once. A
// handler that made the change calls it so that its own next request sees
// the change without waiting for the notification to come back; other
// instances learn of it from the notification the store sent.
func (c *Cache) Forget(change models.AuthChange) {
	if c != nil {
		c.forget(change)
	}
}

// changed drops what a notification names and wakes whoever awaits it.
func (c *Cache) changed(payload string) {
	ch, err := models.ParseAuthChange(payload)
	if err != nil {
		c.flush() // whatever it meant, nothing cached can be trusted to be unaffected
		return
	}
	c.forget(ch)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.waiting[payload] {
		close(w)
	}
	delete(c.waiting, payload)
}

func (c *Cache) forget(ch models.AuthChange) {
	switch ch.Kind {
	case models.ChangedSession:
		c.sessions.drop(ch.TokenHash)
	case models.ChangedUser:
		c.users.drop(cachedUserKey{ch.TenantID, ch.UserID})
	case models.ChangedTenant:
		// Hosts are keyed by name, and a new domain may turn an unknown
		// host into the tenant's: drop them all (tenants change rarely).
		c.hosts.clear()
	}
}

// awaitEcho prepares to wait for this instance to receive change's
// notification, and returns the wait, which gives up after echoTimeout.
// PostgreSQL signals every listening instance at the same commit, so once
// this one has heard it the others have it on its way: a sign-out that
// waits for its echo is, in practice, in force everywhere when it answers.
// Call it before making the change, so the echo cannot be missed.
func (c *Cache) awaitEcho(change models.AuthChange) (wait func()) {
	if !c.trusted() {
		return func() {}
	}
	payload := change.Payload()
	ch := make(chan struct{})
	c.mu.Lock()
	c.waiting[payload] = append(c.waiting[payload], ch)
	c.mu.Unlock()
	return func() {
		select {
		case <-ch:
		case <-time.After(echoTimeout):
			c.mu.Lock()
			defer c.mu.Unlock()
			c.waiting[payload] = slices.DeleteFunc(c.waiting[payload], func(w chan struct{}) bool { return w == ch })
			if len(c.waiting[payload]) == 0 {
				delete(c.waiting, payload)
			}
		}
	}
}

func (c *Cache) flush() {
	c.hosts.clear()
	c.sessions.clear()
	c.users.clear()
}

// trusted reports whether notifications are arriving, so that what the
// cache holds is current. A nil Cache is never trusted: it caches nothing.
func (c *Cache) trusted() bool { return c != nil && c.listener.Connected() }

func (c *Cache) tenant(host string, load func() (models.Tenant, error)) (models.Tenant, error) {
	if c == nil {
		return load()
	}
	return through(c, c.hosts, host, nil, load)
}

func (c *Cache) user(tenantID, id int64, load func() (models.User, error)) (models.User, error) {
	if c == nil {
		return load()
	}
	return through(c, c.users, cachedUserKey{tenantID, id}, nil, load)
}

// through returns the cached value of k when the cache is trusted and the
// value is still fresh (fresh nil: always), else loads it and keeps it,
// unless a notification or reconnection came in while it was loading: then
// the value may predate a change already announced, and is not kept.
func through[K comparable, V any](c *Cache, t *table[K, V], k K, fresh func(V) bool, load func() (V, error)) (V, error) {
	if !c.trusted() {
		return load()
	}
	if v, ok := t.get(k); ok && (fresh == nil || fresh(v)) {
		return v, nil
	}
	epoch := t.currentEpoch()
	v, err := load()
	if err == nil {
		t.put(epoch, k, v)
	}
	return v, err
}

// table is a bounded map whose epoch counts the drops and clears: a value
// loaded under an earlier epoch may be older than a change since announced.
type table[K comparable, V any] struct {
	mu      sync.Mutex
	entries map[K]V
	max     int
	epoch   uint64
}

func newTable[K comparable, V any](maxEntries int) *table[K, V] {
	return &table[K, V]{entries: make(map[K]V), max: maxEntries}
}

func (t *table[K, V]) get(k K) (V, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.entries[k]
	return v, ok
}

func (t *table[K, V]) currentEpoch() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.epoch
}

// put stores v unless the table changed epoch since epoch was read. When
// full it evicts an arbitrary entry (Go's map order is randomised), which
// costs only a re-read.
func (t *table[K, V]) put(epoch uint64, k K, v V) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if epoch != t.epoch {
		return
	}
	if _, ok := t.entries[k]; !ok && len(t.entries) >= t.max {
		for old := range t.entries {
			delete(t.entries, old)
			break
		}
	}
	t.entries[k] = v
}

func (t *table[K, V]) drop(k K) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.epoch++
	delete(t.entries, k)
}

func (t *table[K, V]) clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.epoch++
	clear(t.entries)
}

func (c *Cache) session(token string, load func() (cachedSession, error)) (cachedSession, error) {
	if c == nil {
		return load()
	}
	return through(c, c.sessions, models.SessionTokenHash(token), cachedSession.live, load)
}

// writeSession runs write, which stores a session as e in PostgreSQL, and
// then caches e, unless a notification came in meanwhile.
func (c *Cache) writeSession(token string, e cachedSession, write func() error) error {
	if !c.trusted() {
		return write()
	}
	key := models.SessionTokenHash(token)
	epoch := c.sessions.currentEpoch()
	if err := write(); err != nil {
		c.sessions.drop(key) // what PostgreSQL holds now is unknown
		return err
	}
	c.sessions.put(epoch, key, e)
	return nil
}

// extendSession runs write, which moves a session's expiry on in
// PostgreSQL, and then moves on the cached copy's.
func (c *Cache) extendSession(token string, expiry time.Time, write func() error) error {
	if !c.trusted() {
		return write()
	}
	key := models.SessionTokenHash(token)
	epoch := c.sessions.currentEpoch()
	if err := write(); err != nil {
		return err
	}
	if e, ok := c.sessions.get(key); ok {
		e.expiry = expiry
		c.sessions.put(epoch, key, e)
	}
	return nil
}

// dropSession forgets a session this instance deleted, at once rather than
// when its own notification comes back.
func (c *Cache) dropSession(token string) {
	if c != nil {
		c.sessions.drop(models.SessionTokenHash(token))
	}
}

func (e cachedSession) live() bool { return time.Now().Before(e.expiry) }
