package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/learnlens/learnlens/xapi"
)

// BulkResult says what a bulk load stored and where its time went.
type BulkResult struct {
	Statements, Events int
	Load               time.Duration // bronze and learning events
	RebuildTimes
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
// as ingest does, then bronze and the events are copied in by COPY (into
// temporary tables, as Row Level Security refuses COPY into the tenant's
// own, then inserted from them in chunks), and silver and gold are
// derived once at the end by the tenant-wide rebuild (rebuildSilver,
// rebuildGold), which the incremental path equals. each calls yield with
// every statement's JSON; progress, when not nil, is told how many are
// stored every 30 s or so. Everything happens in one transaction holding
// the tenant's pipeline lock: a failure leaves nothing behind. A duplicate
// statement id is an error rather than a no-op.
func (p *Pipeline) BulkStore(ctx context.Context, tenantID int64, authority xapi.Agent, each func(yield func(statement []byte) error) error,
	progress func(statements int)) (BulkResult, error) {
	var res BulkResult
	var version int64
	err := p.inTenant(ctx, tenantID, func(tx pgx.Tx, tz string) error {
		start := time.Now()
		var full bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM xapi_statements WHERE tenant_id = $1)`, tenantID).Scan(&full); err != nil {
			return err
		}
		if full {
			return ErrNotEmpty
		}
		l, err := newBulkLoader(ctx, tx, tenantID, tz, authority)
		if err != nil {
			return err
		}
		if err := l.run(ctx, each, progress); err != nil {
			return err
		}
		if err := l.applyVoids(ctx); err != nil {
			return err
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
		return BulkResult{}, err
	}
	p.committed(tenantID, version)
	return res, nil
}

// bulkLoader holds what a bulk load resolves once: learners by actor key,
// courses by IRI, each learner's org history.
type bulkLoader struct {
	tx         pgx.Tx
	tenantID   int64
	loc        *time.Location
	authority  xapi.Agent
	stored     time.Time
	learners   map[string]int64
	courses    map[string]int64
	history    map[int64][]historySpan // newest first
	voids      map[string]string       // voided statement → voiding statement
	voiding    map[string]bool         // the voiding statements
	statements int
	events     int
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

func newBulkLoader(ctx context.Context, tx pgx.Tx, tenantID int64, tz string, authority xapi.Agent) (*bulkLoader, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("tenant time zone %q: %w", tz, err)
	}
	l := &bulkLoader{tx: tx, tenantID: tenantID, loc: loc, authority: authority, stored: time.Now().UTC().Truncate(time.Microsecond),
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
	b.Queue(`CREATE TEMPORARY TABLE bulk_statements (id uuid, ts timestamptz, verb_id text, actor_key text,
			agent_keys text[], related_agent_keys text[], activity_id text, related_activity_ids text[],
			registration uuid, voids uuid, statement text) ON COMMIT DROP`)
	b.Queue(`CREATE TEMPORARY TABLE bulk_events (statement_id uuid, learner_id bigint, course_id bigint, kind text,
			ts timestamptz, day date, scaled float8, success bool, duration_ms bigint, interaction_id text, response text,
			manager_at bigint, department_at text) ON COMMIT DROP`)
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return nil, fmt.Errorf("prepare bulk load: %w", err)
	}
	return l, nil
}

// run parses the statements each gives on every core while earlier
// chunks are written, so generating and parsing overlap with the
// database's work. Chunks may be written in any order: a bulk load has
// none.
func (l *bulkLoader) run(ctx context.Context, each func(yield func([]byte) error) error, progress func(statements int)) error {
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
	written := make(chan error, 1)
	go func() {
		last := time.Now()
		for c := range parsed {
			if ctx.Err() != nil {
				continue
			}
			if err := l.write(ctx, c); err != nil {
				cancel(err)
				continue
			}
			if progress != nil && time.Since(last) >= 30*time.Second {
				last = time.Now()
				progress(l.statements)
			}
		}
		written <- nil
	}()
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
	close(raw)
	parsers.Wait()
	close(parsed)
	<-written
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return produced
}

// write copies one chunk's statements and learning events in.
func (l *bulkLoader) write(ctx context.Context, c bulkBatch) error {
	var evs []event
	var sids []string
	for i, s := range c.ss {
		if s.Voids != "" {
			if _, ok := l.voids[s.Voids]; !ok { // the first voiding statement is the one recorded, as in ingest
				l.voids[s.Voids] = s.ID
			}
			l.voiding[s.ID] = true
		}
		if ev, ok := mapStatement(i, s); ok {
			evs, sids = append(evs, ev), append(sids, s.ID)
		}
	}
	lids, cids, err := l.resolve(ctx, evs)
	if err != nil {
		return err
	}
	statementRows := make([][]any, len(c.ss))
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
		statementRows[i] = []any{pgUUID(s.ID), s.Timestamp, s.VerbID, s.Actor.Key(), notNull(s.AgentKeys(false)),
			notNull(s.AgentKeys(true)), activity, notNull(s.ActivityIDs(true)), reg, voids, string(c.docs[i])}
	}
	eventRows := make([][]any, len(evs))
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
		eventRows[j] = []any{pgUUID(sids[j]), lids[j], cids[j], ev.kind, ev.ts, day, ev.scaled, ev.success, ev.durationMs,
			ev.interactionID, ev.response, manager, department}
	}
	if _, err := l.tx.CopyFrom(ctx, pgx.Identifier{"bulk_statements"}, []string{"id", "ts", "verb_id", "actor_key", "agent_keys",
		"related_agent_keys", "activity_id", "related_activity_ids", "registration", "voids", "statement"},
		pgx.CopyFromRows(statementRows)); err != nil {
		return fmt.Errorf("copy statements: %w", err)
	}
	if _, err := l.tx.CopyFrom(ctx, pgx.Identifier{"bulk_events"}, []string{"statement_id", "learner_id", "course_id", "kind",
		"ts", "day", "scaled", "success", "duration_ms", "interaction_id", "response", "manager_at", "department_at"},
		pgx.CopyFromRows(eventRows)); err != nil {
		return fmt.Errorf("copy learning events: %w", err)
	}
	var b pgx.Batch
	b.Queue(`INSERT INTO xapi_statements (tenant_id, id, stored, ts, verb_id, actor_key, agent_keys, related_agent_keys,
			activity_id, related_activity_ids, registration, voids, statement)
		SELECT $1, id, $2, ts, verb_id, actor_key, agent_keys, related_agent_keys, activity_id, related_activity_ids,
			registration, voids, statement::jsonb FROM bulk_statements`, l.tenantID, l.stored)
	b.Queue(`INSERT INTO learning_events (tenant_id, statement_id, learner_id, course_id, kind, ts, day, scaled, success,
			duration_ms, interaction_id, response, manager_at, department_at)
		SELECT $1, statement_id, learner_id, course_id, kind, ts, day, scaled, success, duration_ms, interaction_id, response,
			manager_at, department_at FROM bulk_events`, l.tenantID)
	b.Queue(`TRUNCATE bulk_statements, bulk_events`)
	if err := l.tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("store statements: %w", err)
	}
	l.statements += len(c.ss)
	l.events += len(evs)
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

// applyVoids records the voided statements and voids their learning
// events, refusing a statement that voids a voiding statement as ingest
// does.
func (l *bulkLoader) applyVoids(ctx context.Context) error {
	if len(l.voids) == 0 {
		return nil
	}
	targets, by := make([]string, 0, len(l.voids)), make([]string, 0, len(l.voids))
	for t, b := range l.voids {
		if l.voiding[t] {
			return &VoidingError{ID: b, Target: t}
		}
		targets, by = append(targets, t), append(by, b)
	}
	var b pgx.Batch
	b.Queue(`INSERT INTO xapi_voided (tenant_id, statement_id, voided_by)
		SELECT $1, t::uuid, b::uuid FROM unnest($2::text[], $3::text[]) AS u(t, b)`, l.tenantID, targets, by)
	b.Queue(`UPDATE learning_events SET voided = true
		WHERE tenant_id = $1 AND statement_id = ANY($2::text[]::uuid[])`, l.tenantID, targets)
	if err := l.tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("apply voids: %w", err)
	}
	return nil
}

// notNull is ss, or an empty list for none: COPY writes a nil slice as
// NULL.
func notNull(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}
