package pipeline

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/learnlens/learnlens/xapi"
)

// BulkResult says what a bulk load stored and where its time went.
type BulkResult struct {
	Statements, Events int
	Load               time.Duration // bronze and learning events
	Writers            int           // connections that wrote them
	Direct             bool          // by COPY into the tables themselves
	RebuildTimes
}

// BulkOptions say how BulkStore writes.
type BulkOptions struct {
	// Direct, when not nil, is a pool whose login bypasses Row Level
	// Security (a superuser or a BYPASSRLS role: the private cluster's
	// superuser that `learnlens seed --bench` gets as DATABASE_OWNER_URL):
	// bronze and the learning events are then copied straight into their
	// tables, every row carrying the tenant's id, instead of into temporary
	// tables on the app's connections and inserted from there (COPY is
	// refused into a table under Row Level Security, even for its owner).
	// Only an operator's command may pass one; never the request path.
	Direct *pgxpool.Pool
	// Writers is how many connections write bronze and the events at
	// once, each in its own transaction (PostgreSQL runs one process per
	// connection); 0 means 2. Each holds its connection until all are
	// done, so the pool they come from (Direct, or the app's beside the
	// main transaction) must have room for all of them at once.
	Writers int
	// Progress, when not nil, is told how many statements are written
	// every 30 s or so.
	Progress func(statements int)
}

// ErrNotEmpty is returned by BulkStore for a tenant that already holds
// statements.
var ErrNotEmpty = errors.New("bulk loading needs a tenant without statements")

// bulkChunk is how many statements go to the database at a time.
// (Smaller than the temporary tables' 8 MB of local buffers.)
const bulkChunk = 2_000

// BulkStore loads a large set of statements into a tenant that holds none
// yet — benchmark data — much faster than StoreStatements can: each
// statement is parsed, finalised and mapped to its learning event exactly
// as ingest does, then bronze and the events are copied in by COPY on
// o.Writers connections at once (see BulkOptions), and silver and gold are
// derived once at the end by the tenant-wide rebuild (rebuildSilver,
// rebuildGold), which the incremental path equals. each calls yield with
// every statement's JSON. A duplicate statement id is an error rather than
// a no-op.
//
// The load is all or nothing. A main transaction holds the tenant's
// pipeline lock throughout, creates the learners and courses the
// statements name, and at the end voids, counts the statements and
// derives silver and gold; the writers' transactions commit only once
// every chunk is written and the voids are checked, just before that end
// (the rebuild must see their rows). A failure before then leaves nothing
// behind (every transaction rolls back); a failure after it (a database
// error or the context cancelled during the rebuild) deletes the rows the
// writers committed, in a transaction of its own (unload).
func (p *Pipeline) BulkStore(ctx context.Context, tenantID int64, authority xapi.Agent, each func(yield func(statement []byte) error) error,
	o BulkOptions) (BulkResult, error) {
	if o.Writers < 1 {
		o.Writers = 2
	}
	res := BulkResult{Writers: o.Writers, Direct: o.Direct != nil}
	write := func(ctx context.Context, fn func(tx pgx.Tx) error) error { return p.db.TenantTx(ctx, tenantID, fn) }
	if o.Direct != nil {
		if bypass, err := BypassesRLS(ctx, o.Direct); err != nil || !bypass {
			return res, errors.Join(err, errors.New("bulk load: the direct login neither is a superuser nor bypasses row level security"))
		}
		write = func(ctx context.Context, fn func(tx pgx.Tx) error) error { return pgx.BeginFunc(ctx, o.Direct, fn) }
	}
	var version committedVersions
	var l *bulkLoader
	err := p.inTenant(ctx, tenantID, func(tx pgx.Tx, tz string) error {
		start := time.Now()
		var full bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM xapi_statements WHERE tenant_id = $1)`, tenantID).Scan(&full); err != nil {
			return err
		}
		if full {
			return ErrNotEmpty
		}
		var err error
		if l, err = newBulkLoader(ctx, tx, tenantID, tz, authority, o.Direct != nil); err != nil {
			return err
		}
		if err := l.run(ctx, each, write, o.Writers, o.Progress); err != nil {
			return err
		}
		if bulkCommittedHook != nil {
			if err := bulkCommittedHook(); err != nil {
				return err
			}
		}
		var b pgx.Batch
		l.queueVoids(&b)
		queueStatementCounts(&b, tenantID, l.statements, l.stored)
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("apply voids: %w", err)
		}
		res.Statements, res.Events, res.Load = l.statements, l.events, time.Since(start)
		start = time.Now()
		if err := rebuildSilver(ctx, tx, tenantID, tz); err != nil {
			return err
		}
		res.Silver, start = time.Since(start), time.Now()
		if err := rebuildGold(ctx, tx, tenantID); err != nil {
			return err
		}
		res.Gold = time.Since(start)
		return newVersion(ctx, tx, tenantID, &version)
	})
	if err != nil {
		if l != nil && l.committed.Load() {
			if uerr := p.unload(context.WithoutCancel(ctx), tenantID, l.stored); uerr != nil {
				err = errors.Join(err, fmt.Errorf("delete the statements already written: %w", uerr))
			}
		}
		return BulkResult{}, err
	}
	p.committed(tenantID, version)
	return res, nil
}

// bulkCommittedHook, when set (by a test), runs once a bulk load's
// writers have committed; an error fails the load there.
var bulkCommittedHook func() error

// BypassesRLS says whether pool's login escapes Row Level Security (a
// superuser or a BYPASSRLS role), as BulkOptions.Direct must.
func BypassesRLS(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	var bypass bool
	err := pool.QueryRow(ctx, `SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&bypass)
	return bypass, err
}

// unload deletes what a failed bulk load's writers committed: the
// tenant's statements stored at stored and their learning events, under
// the pipeline lock. The bronze trigger takes the statements off the
// tenant's counts, which the failed load never added to; they are put back.
func (p *Pipeline) unload(ctx context.Context, tenantID int64, stored time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	return p.inTenant(ctx, tenantID, func(tx pgx.Tx, _ string) error {
		var b pgx.Batch
		b.Queue(`DELETE FROM learning_events e USING xapi_statements s
			WHERE e.tenant_id = $1 AND s.tenant_id = $1 AND s.stored = $2 AND e.statement_id = s.id`, tenantID, stored)
		b.Queue(`WITH gone AS (DELETE FROM xapi_statements WHERE tenant_id = $1 AND stored = $2 RETURNING 1),
				n AS (SELECT count(*) AS n FROM gone),
				c AS (UPDATE tenant_statement_counts SET statements = statements + n.n FROM n WHERE tenant_id = $1)
			UPDATE tenant_statement_hours SET statements = statements + n.n FROM n
			WHERE tenant_id = $1 AND hour = date_trunc('hour', $2::timestamptz)`, tenantID, stored)
		return tx.SendBatch(ctx, &b).Close()
	})
}

// bulkLoader holds what a bulk load resolves once: learners by actor key,
// courses by IRI, each learner's org history.
type bulkLoader struct {
	tx         pgx.Tx // the main transaction's
	tenantID   int64
	loc        *time.Location
	authority  xapi.Agent
	direct     bool
	stored     time.Time
	learners   map[string]int64
	courses    map[string]int64
	history    map[int64][]historySpan // newest first
	voids      map[string]string       // voided statement → voiding statement
	voiding    map[string]bool         // the voiding statements
	statements int
	events     int
	written    atomic.Int64 // statements the writers have copied
	committed  atomic.Bool  // a writer has committed
}

// historySpan is one row of learner_history, as learning events need it.
type historySpan struct {
	from, to   string // dates as text: 'infinity' sorts after every year 1000–9999
	manager    *int64
	department string
}

// bulkBatch is one chunk of parsed statements with their documents.
type bulkBatch struct {
	ss   []xapi.Statement
	docs [][]byte
}

// bulkRows is one chunk's rows of bronze and learning events, in the
// order of statementColumns and eventColumns.
type bulkRows struct {
	statements, events [][]any
}

var (
	statementColumns = []string{"tenant_id", "id", "stored", "ts", "verb_id", "actor_key", "agent_keys", "related_agent_keys",
		"activity_id", "related_activity_ids", "registration", "voids", "statement"}
	eventColumns = []string{"tenant_id", "statement_id", "learner_id", "course_id", "kind", "ts", "day", "scaled", "success",
		"duration_ms", "interaction_id", "response", "manager_at", "department_at"}
)

func newBulkLoader(ctx context.Context, tx pgx.Tx, tenantID int64, tz string, authority xapi.Agent, direct bool) (*bulkLoader, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("tenant time zone %q: %w", tz, err)
	}
	l := &bulkLoader{tx: tx, tenantID: tenantID, loc: loc, authority: authority, direct: direct, stored: time.Now().UTC().Truncate(time.Microsecond),
		learners: map[string]int64{}, courses: map[string]int64{}, history: map[int64][]historySpan{},
		voids: map[string]string{}, voiding: map[string]bool{}}
	var b pgx.Batch
	b.Queue(`SELECT actor_key, learner_id FROM learner_identities WHERE tenant_id = $1`, tenantID).Query(func(rows pgx.Rows) error {
		var key string
		var id int64
		_, err := pgx.ForEachRow(rows, []any{&key, &id}, func() error { l.learners[key] = id; return nil })
		return err
	})
	b.Queue(`SELECT activity_iri, id FROM courses WHERE tenant_id = $1`, tenantID).Query(func(rows pgx.Rows) error {
		var iri string
		var id int64
		_, err := pgx.ForEachRow(rows, []any{&iri, &id}, func() error { l.courses[iri] = id; return nil })
		return err
	})
	b.Queue(`SELECT learner_id, valid_from::text, valid_to::text, manager_id, department FROM learner_history
		WHERE tenant_id = $1 ORDER BY learner_id, valid_from DESC`, tenantID).Query(func(rows pgx.Rows) error {
		var id int64
		var h historySpan
		_, err := pgx.ForEachRow(rows, []any{&id, &h.from, &h.to, &h.manager, &h.department}, func() error {
			l.history[id] = append(l.history[id], h)
			h = historySpan{}
			return nil
		})
		return err
	})
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return nil, fmt.Errorf("prepare bulk load: %w", err)
	}
	return l, nil
}

// run parses the statements each gives on every core, maps them to their
// rows (creating learners and courses in the main transaction) and has
// writers connections copy the rows in, each in a transaction that write
// begins; generating, parsing and the writers' work overlap. Chunks may
// be written in any order: a bulk load has none. The writers commit only
// when every chunk is written and the voids are valid.
func (l *bulkLoader) run(ctx context.Context, each func(yield func([]byte) error) error,
	write func(ctx context.Context, fn func(tx pgx.Tx) error) error, writers int, progress func(statements int)) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	raw := make(chan [][]byte, 1)
	parsed := make(chan bulkBatch, 1)
	var parsers sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		parsers.Add(1)
		go func() {
			defer parsers.Done()
			for js := range raw {
				c := bulkBatch{ss: make([]xapi.Statement, len(js)), docs: make([][]byte, len(js))}
				for i := range js {
					s, err := xapi.ParseStatement(js[i])
					if err == nil {
						c.docs[i], err = s.Finalize(l.stored, l.authority)
					}
					if err != nil {
						cancel(fmt.Errorf("statement %.200s: %w", js[i], err))
						break
					}
					c.ss[i] = s
				}
				select {
				case parsed <- c:
				case <-ctx.Done():
				}
			}
		}()
	}
	// Every statement goes to the writer its id picks, with its event: a
	// statement id given twice then fails in one transaction, where two
	// would wait for each other's commit (the unique index's wait), which
	// waits for both.
	rows := make([]chan bulkRows, writers)
	for w := range rows {
		rows[w] = make(chan bulkRows, 2)
	}
	mapped := make(chan struct{})
	go func() {
		defer close(mapped)
		defer func() {
			for _, ch := range rows {
				close(ch)
			}
		}()
		for c := range parsed {
			if ctx.Err() != nil {
				continue
			}
			per, err := l.rows(ctx, c, writers)
			if err != nil {
				cancel(err)
				continue
			}
			for w, r := range per {
				select {
				case rows[w] <- r:
				case <-ctx.Done():
				}
			}
		}
	}()
	// Each writer copies its chunks until there are none, then waits for
	// the verdict: commit (its function returns nil) or roll back.
	var loaded, done sync.WaitGroup
	verdict := make(chan struct{})
	errs := make([]error, writers)
	for w := range writers {
		loaded.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			once := sync.OnceFunc(loaded.Done)
			defer once()
			errs[w] = write(ctx, func(tx pgx.Tx) error {
				if err := l.prepareWriter(ctx, tx); err != nil {
					return err
				}
				last := time.Now()
				for r := range rows[w] {
					if ctx.Err() != nil {
						continue
					}
					if err := l.copy(ctx, tx, r); err != nil {
						cancel(err)
						continue
					}
					n := l.written.Add(int64(len(r.statements)))
					if progress != nil && w == 0 && time.Since(last) >= 30*time.Second {
						last = time.Now()
						progress(int(n))
					}
				}
				once()
				<-verdict
				return context.Cause(ctx)
			})
			if errs[w] == nil {
				l.committed.Store(true)
			} else {
				cancel(errs[w])
			}
		}()
	}
	var cur [][]byte
	produced := each(func(js []byte) error {
		if cur = append(cur, js); len(cur) == bulkChunk {
			select {
			case raw <- cur:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			cur = nil
		}
		return nil
	})
	if produced == nil && len(cur) > 0 {
		select {
		case raw <- cur:
		case <-ctx.Done():
		}
	}
	if produced != nil {
		cancel(produced)
	}
	close(raw)
	parsers.Wait()
	close(parsed)
	<-mapped
	loaded.Wait()
	if err := l.checkVoids(); err != nil {
		cancel(err)
	}
	close(verdict)
	done.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// prepareWriter readies a writer's transaction: the statements it copies
// are counted by the main transaction (which holds the tenant's counter
// row), not by bronze's trigger; without the direct login, temporary
// tables take the rows first.
func (l *bulkLoader) prepareWriter(ctx context.Context, tx pgx.Tx) error {
	var b pgx.Batch
	b.Queue(`SELECT set_config('learnlens.pipeline_counts', 'on', true)`)
	if !l.direct {
		b.Queue(`CREATE TEMPORARY TABLE bulk_statements (tenant_id bigint, id uuid, stored timestamptz, ts timestamptz, verb_id text,
			actor_key text, agent_keys text[], related_agent_keys text[], activity_id text, related_activity_ids text[],
			registration uuid, voids uuid, statement jsonb) ON COMMIT DROP`)
		b.Queue(`CREATE TEMPORARY TABLE bulk_events (tenant_id bigint, statement_id uuid, learner_id bigint, course_id bigint, kind text,
			ts timestamptz, day date, scaled float8, success bool, duration_ms bigint, interaction_id text, response text,
			manager_at bigint, department_at text) ON COMMIT DROP`)
	}
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("prepare bulk writer: %w", err)
	}
	return nil
}

// rows maps one chunk to its rows of bronze and learning events, split
// between writers by statement id, noting its voids.
func (l *bulkLoader) rows(ctx context.Context, c bulkBatch, writers int) ([]bulkRows, error) {
	var evs []event
	var sids []pgtype.UUID
	ids := make([]pgtype.UUID, len(c.ss))
	for i, s := range c.ss {
		ids[i] = pgUUID(s.ID)
		if s.Voids != "" {
			if _, ok := l.voids[s.Voids]; !ok { // the first voiding statement is the one recorded, as in ingest
				l.voids[s.Voids] = s.ID
			}
			l.voiding[s.ID] = true
		}
		if ev, ok := mapStatement(i, s); ok {
			evs, sids = append(evs, ev), append(sids, ids[i])
		}
	}
	lids, cids, err := l.resolve(ctx, evs)
	if err != nil {
		return nil, err
	}
	per := make([]bulkRows, writers)
	writer := func(id pgtype.UUID) *bulkRows {
		h := (binary.LittleEndian.Uint64(id.Bytes[:8]) ^ binary.LittleEndian.Uint64(id.Bytes[8:])) * 0x9e3779b97f4a7c15
		return &per[(h>>32)%uint64(writers)]
	}
	for i, s := range c.ss {
		var activity *string
		if s.ObjectType == "Activity" {
			activity = &c.ss[i].ObjectID
		}
		var reg, voids pgtype.UUID
		if s.Registration != "" {
			reg = pgUUID(s.Registration)
		}
		if s.Voids != "" {
			voids = pgUUID(s.Voids)
		}
		r := writer(ids[i])
		r.statements = append(r.statements, []any{l.tenantID, ids[i], l.stored, s.Timestamp, s.VerbID, s.Actor.Key(),
			notNull(s.AgentKeys(false)), notNull(s.AgentKeys(true)), activity, notNull(s.ActivityIDs(true)), reg, voids, c.docs[i]})
	}
	for j, ev := range evs {
		day := ev.ts.In(l.loc).Format(time.DateOnly)
		var manager *int64
		department := ""
		for _, h := range l.history[lids[j]] {
			if h.from <= day && day < h.to {
				manager, department = h.manager, h.department
				break
			}
		}
		r := writer(sids[j])
		r.events = append(r.events, []any{l.tenantID, sids[j], lids[j], cids[j], ev.kind, ev.ts, day, ev.scaled, ev.success,
			ev.durationMs, ev.interactionID, ev.response, manager, department})
	}
	l.statements += len(c.ss)
	l.events += len(evs)
	return per, nil
}

// copy writes one chunk's rows in a writer's transaction: straight into
// the tables with the direct login, else through the temporary tables.
func (l *bulkLoader) copy(ctx context.Context, tx pgx.Tx, r bulkRows) error {
	if len(r.statements) == 0 {
		return nil
	}
	statements, events := "xapi_statements", "learning_events"
	if !l.direct {
		statements, events = "bulk_statements", "bulk_events"
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{statements}, statementColumns, pgx.CopyFromRows(r.statements)); err != nil {
		return fmt.Errorf("copy statements: %w", err)
	}
	if len(r.events) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{events}, eventColumns, pgx.CopyFromRows(r.events)); err != nil {
			return fmt.Errorf("copy learning events: %w", err)
		}
	}
	if l.direct {
		return nil
	}
	// The staged rows are all the tenant's; the condition says so where
	// every query on a tenant's table names its tenant.
	var b pgx.Batch
	b.Queue(`INSERT INTO xapi_statements (`+strings.Join(statementColumns, ", ")+`)
		SELECT `+strings.Join(statementColumns, ", ")+` FROM bulk_statements WHERE tenant_id = $1`, l.tenantID)
	b.Queue(`INSERT INTO learning_events (`+strings.Join(eventColumns, ", ")+`)
		SELECT `+strings.Join(eventColumns, ", ")+` FROM bulk_events WHERE tenant_id = $1`, l.tenantID)
	b.Queue(`TRUNCATE bulk_statements, bulk_events`)
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("store statements: %w", err)
	}
	return nil
}

// resolve returns the learner and course of each event, creating (as
// ingest does) the ones not seen before.
func (l *bulkLoader) resolve(ctx context.Context, evs []event) ([]int64, []int64, error) {
	var unknown []event
	for _, ev := range evs {
		if _, ok := l.learners[ev.actorKey]; !ok {
			unknown = append(unknown, ev)
		}
	}
	if len(unknown) > 0 {
		var b pgx.Batch
		lookup := queueLearnerLookup(&b, l.tenantID, unknown)
		if err := l.tx.SendBatch(ctx, &b).Close(); err != nil {
			return nil, nil, fmt.Errorf("look up learners: %w", err)
		}
		if err := lookup.createMissing(ctx, l.tx); err != nil {
			return nil, nil, err
		}
		for key, id := range lookup.ids {
			l.learners[key] = id
		}
	}
	cids, err := (&courseLookup{tenantID: l.tenantID, evs: evs, known: l.courses}).resolve(ctx, l.tx)
	if err != nil {
		return nil, nil, err
	}
	lids := make([]int64, len(evs))
	for j, ev := range evs {
		lids[j] = l.learners[ev.actorKey]
	}
	return lids, cids, nil
}

// checkVoids refuses, as ingest does, a statement that voids a voiding
// statement.
func (l *bulkLoader) checkVoids() error {
	for t, b := range l.voids {
		if l.voiding[t] {
			return &VoidingError{ID: b, Target: t}
		}
	}
	return nil
}

// queueVoids queues, for the main transaction once the writers have
// committed, the records of the voided statements and the voiding of their
// learning events.
func (l *bulkLoader) queueVoids(b *pgx.Batch) {
	if len(l.voids) == 0 {
		return
	}
	targets, by := make([]string, 0, len(l.voids)), make([]string, 0, len(l.voids))
	for t, v := range l.voids {
		targets, by = append(targets, t), append(by, v)
	}
	b.Queue(`INSERT INTO xapi_voided (tenant_id, statement_id, voided_by)
		SELECT $1, t::uuid, b::uuid FROM unnest($2::text[], $3::text[]) AS u(t, b)`, l.tenantID, targets, by)
	b.Queue(`UPDATE learning_events SET voided = true
		WHERE tenant_id = $1 AND statement_id = ANY($2::text[]::uuid[])`, l.tenantID, targets)
}

// notNull is ss, or an empty list for none: COPY writes a nil slice as
// NULL.
func notNull(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}
