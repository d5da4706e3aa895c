package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/learnlens/learnlens/xapi"
)

// StatementBatch is a set of parsed, validated statements from one request.
type StatementBatch struct {
	TenantID     int64
	CredentialID int64
	Authority    xapi.Agent
	Statements   []xapi.Statement
	// Attachments is the data of the statements' attachments sent with
	// them (multipart/mixed), checked by xapi.CheckAttachmentParts.
	Attachments []xapi.AttachmentPart
}

// StoreResult says what storing a batch did.
type StoreResult struct {
	IDs        []string // the id of every statement, in request order
	Stored     int      // statements newly stored
	Duplicates int      // statements already stored identically (no-ops)
}

// ConflictError is returned when a statement id is already stored with a
// different statement; nothing of the batch is stored.
type ConflictError struct{ ID string }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("statement %s already exists with different content", e.ID)
}

// VoidingError is returned for a voiding statement that targets another
// voiding statement, which xAPI forbids; nothing of the batch is stored.
type VoidingError struct{ ID, Target string }

func (e *VoidingError) Error() string {
	return fmt.Sprintf("statement %s voids %s, which is itself a voiding statement and cannot be voided", e.ID, e.Target)
}

// StoreStatements stores a batch in bronze and brings silver and gold up to
// date, all in one transaction: when it returns nil the statements are
// committed and every dashboard number includes them.
//
// Batches of one tenant that arrive while its earlier ones are being
// stored are stored together, in one transaction (group commit, see
// group.go): each still gets its own result, as if stored alone.
//
// Bronze is written before the tenant's pipeline lock is taken, so the
// next group's validation, documents and bronze rows overlap with this
// one's silver and gold work. Two batches racing with the same new id meet
// at bronze's primary key: the second waits for the first to commit and
// then finds the statement stored.
func (p *Pipeline) StoreStatements(ctx context.Context, b StatementBatch) (StoreResult, error) {
	start := time.Now()
	var r *request
	if len(b.Attachments) > 0 {
		// Stored alone: its attachments' rows are keyed by its own statements.
		r = &request{batch: b}
		p.storeGroup(ctx, []*request{r})
	} else {
		r = p.enqueue(ctx, b)
		<-r.done
	}
	if r.err != nil {
		return StoreResult{}, r.err
	}
	p.Metrics.Batch(time.Since(start), r.times.lockWait, r.times.underLock)
	return r.res, nil
}

// storeGroup stores the batches of g (one tenant's) in one transaction and
// sets each request's result. If that fails for a group of several, each
// batch is stored alone, so that an error (a conflict, an invalid void) is
// its batch's own and the others are stored as they would have been.
func (p *Pipeline) storeGroup(parent context.Context, g []*request) {
	ctx, cancel := context.WithTimeout(parent, MaxIngestDuration)
	defer cancel()
	batches := make([]StatementBatch, len(g))
	for i, r := range g {
		batches[i] = r.batch
	}
	var res []StoreResult
	var version committedVersions
	var times batchTimes
	var err error
	for attempt := 1; ; attempt++ {
		version, times = committedVersions{}, batchTimes{}
		err = p.db.TenantTx(ctx, batches[0].TenantID, func(tx pgx.Tx) error {
			var err error
			res, err = storeStatements(ctx, tx, batches, &p.learnerGroups, &version, &times)
			return err
		})
		// A deadlock rolled the whole transaction back, so it can run
		// again. lockTenantAnd takes its locks in the order every release
		// does, so none is expected; a new tenant's first batches sent to
		// the previous release during a rolling upgrade across
		// migrations/00023 are the exception (see lockTenantAnd).
		if attempt == 3 || !isDeadlock(err) || ctx.Err() != nil {
			break
		}
	}
	if err != nil && len(g) > 1 {
		// Each alone has its own MaxIngestDuration (the group's may be
		// what ran out).
		for _, r := range g {
			p.storeGroup(parent, []*request{r})
		}
		return
	}
	if err == nil {
		p.committed(batches[0].TenantID, version)
		if !times.locked.IsZero() {
			times.underLock = time.Since(times.locked)
		}
	}
	for i, r := range g {
		r.err, r.times = err, times
		if err == nil {
			r.res = res[i]
		}
	}
}

// batchTimes are where a statement batch spent its time, for metrics.
type batchTimes struct {
	lockWait  time.Duration // waiting for the tenant's pipeline lock
	locked    time.Time     // when it got it (zero: never took it)
	underLock time.Duration // from then to the commit
}

// IngestApplicationName is the application_name of a transaction that
// stores a batch of tenant's statements, while it runs.
func IngestApplicationName(tenant int64) string {
	return "learnlens-ingest/" + strconv.FormatInt(tenant, 10)
}

// MaxIngestDuration bounds a statement batch's transaction: a producer
// that waits longer gets an error rather than a hang.
const MaxIngestDuration = 30 * time.Second

// storeStatements is StoreStatements inside its transaction, for a group
// of one tenant's batches, stored as one: it returns each batch's result.
// It sets *version to the tenant's new gold version, or leaves it when the
// group stored nothing new.
func storeStatements(ctx context.Context, tx pgx.Tx, g []StatementBatch, cache *groupCache, version *committedVersions, times *batchTimes) ([]StoreResult, error) {
	// Every statement below is driven by the batch's keys; nested loops
	// over the key indexes keep its cost proportional to the batch, not to
	// the tenant's data, whatever the statistics say, and a fresh table
	// without statistics must not tempt the planner into scanning it once
	// per key. Where a disabled plan is the only one its cost is huge,
	// which must not trigger JIT compilation: that took 190 ms for a
	// 1,000-statement insert. Plans are made for each batch's own arrays
	// (see customPlans).
	//
	// The batch's application_name tells readers on every instance that a
	// batch of this tenant is committing since its transaction began
	// (models.StatementStore.ConsistentThrough); its statements' stored
	// time is taken after that.
	tenantID := g[0].TenantID
	if _, err := tx.Exec(ctx, `SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off;
		SET LOCAL enable_seqscan = off; SET LOCAL jit = off; `+customPlans+`;
		SET LOCAL application_name = '`+IngestApplicationName(tenantID)+`';
		SET LOCAL learnlens.pipeline_counts = on`); err != nil {
		return nil, err
	}
	stored := time.Now().UTC().Truncate(time.Microsecond)
	// The group as one batch; owner says whose each statement is.
	all := StatementBatch{TenantID: tenantID}
	var owner []int
	var creds []*int64
	for bi := range g {
		all.Statements = append(all.Statements, g[bi].Statements...)
		all.Attachments = append(all.Attachments, g[bi].Attachments...)
		for range g[bi].Statements {
			owner = append(owner, bi)
			if g[bi].CredentialID != 0 {
				creds = append(creds, &g[bi].CredentialID)
			} else {
				creds = append(creds, nil)
			}
		}
	}
	docs := make([][]byte, len(all.Statements))
	clientTimestamp := make([]bool, len(all.Statements))
	auths := make([]*xapi.Authority, len(g)) // each batch's, checked once
	for i := range all.Statements {
		clientTimestamp[i] = !all.Statements[i].Timestamp.IsZero()
		var err error
		if auths[owner[i]] == nil {
			if auths[owner[i]], err = xapi.NewAuthority(g[owner[i]].Authority); err != nil {
				return nil, fmt.Errorf("finalize statement %d: %w", i, err)
			}
		}
		doc, err := all.Statements[i].FinalizeBy(stored, auths[owner[i]])
		if err != nil {
			// (A group that fails is stored again batch by batch: i is then the batch's own index.)
			return nil, fmt.Errorf("finalize statement %d: %w", i, err)
		}
		docs[i] = doc
	}
	fresh, err := insertBronze(ctx, tx, all, creds, docs, stored)
	if err != nil {
		return nil, err
	}
	if err := checkDuplicates(ctx, tx, tenantID, all.Statements, docs, clientTimestamp, fresh); err != nil {
		return nil, err
	}
	res := make([]StoreResult, len(g))
	for bi := range g {
		res[bi].IDs = make([]string, 0, len(g[bi].Statements))
	}
	for i, bi := range owner {
		res[bi].IDs = append(res[bi].IDs, all.Statements[i].ID) // Finalize gave an id to those without
		res[bi].Duplicates++
	}
	for _, i := range fresh {
		res[owner[i]].Stored++
		res[owner[i]].Duplicates--
	}
	if len(fresh) == 0 {
		return res, nil
	}
	if err := storeAttachments(ctx, tx, all, fresh); err != nil {
		return nil, err
	}
	var uses []credentialUse
	for bi, b := range g {
		if b.CredentialID != 0 && res[bi].Stored > 0 {
			uses = append(uses, credentialUse{b.CredentialID, res[bi].Stored})
		}
	}
	return res, deriveSilverAndGold(ctx, tx, all, uses, fresh, stored, cache, version, times)
}

// deriveSilverAndGold brings silver and gold up to date with the fresh
// statements of a batch. The learning events whose learner and course are
// known go in before the tenant's pipeline lock (see eventInsert); those
// that create a learner or a course, and the rest, run under it.
func deriveSilverAndGold(ctx context.Context, tx pgx.Tx, b StatementBatch, uses []credentialUse, fresh []int, stored time.Time, cache *groupCache, version *committedVersions, times *batchTimes) error {
	if err := checkVoiding(ctx, tx, b.TenantID, b.Statements, fresh); err != nil {
		return err
	}
	if err := recordVoids(ctx, tx, b.TenantID, b.Statements, fresh); err != nil {
		return err
	}
	events := newEventInsert(b.TenantID, b.Statements, fresh)
	var late *eventInsert // events that create learners or courses
	early := false
	if len(events.evs) > 0 {
		if err := events.lookup(ctx, tx, true); err != nil {
			return err
		}
		if !events.known() {
			events, late = events.split()
		}
		if len(events.evs) > 0 {
			if err := events.store(ctx, tx, events.tz); err != nil {
				return err
			}
			early = true
		}
	}
	var underLock pgx.Batch
	if early {
		events.queueConfirm(&underLock)
	}
	// The groups cached for the roster version read under the lock.
	cached := cache.queueRosterVersion(&underLock, b.TenantID)
	asked := time.Now()
	tz, err := lockTenantAnd(ctx, &underLock, tx, b.TenantID)
	if err != nil {
		return err
	}
	times.locked = time.Now()
	times.lockWait = times.locked.Sub(asked)
	// A voiding statement committed while this batch waited may be the
	// target of one of its voids.
	if err := checkVoiding(ctx, tx, b.TenantID, b.Statements, fresh); err != nil {
		return err
	}
	if early {
		if early, err = events.confirm(ctx, tx, tz); err != nil {
			return err
		}
	}
	if !early && len(events.evs) > 0 {
		if err := events.lookup(ctx, tx, false); err != nil {
			return err
		}
		if err := events.store(ctx, tx, tz); err != nil {
			return err
		}
	}
	if late != nil {
		if err := late.lookup(ctx, tx, false); err != nil {
			return err
		}
		if err := late.store(ctx, tx, tz); err != nil {
			return err
		}
	}
	k := newKeys()
	k.cached = cached
	if err := applyVoids(ctx, tx, b.TenantID, b.Statements, fresh, k); err != nil {
		return err
	}
	events.collect(k)
	if late != nil {
		late.collect(k)
	}
	// Even a batch that changes no number moves "data as of", and so
	// gives a new version. It goes with the gold deltas, in their round trip.
	var final pgx.Batch
	queueNewVersion(&final, b.TenantID, &stored, version)
	queueCredentialUse(&final, b.TenantID, uses, stored)
	queueStatementCounts(&final, b.TenantID, len(fresh), stored)
	if k.empty() {
		return tx.SendBatch(ctx, &final).Close()
	}
	if err := refreshSilver(ctx, tx, b.TenantID, tz, k); err != nil {
		return err
	}
	return applyGoldDeltas(ctx, tx, b.TenantID, tz, k, &final)
}

// credentialUse is how many statements a credential stored.
type credentialUse struct {
	id int64
	n  int
}

// queueCredentialUse queues on b the notes that the credentials stored
// their statements at stored, for the credentials page. Under the
// tenant's pipeline lock the rows are never contended, and in the batch's
// last round trip they cost no extra one.
func queueCredentialUse(b *pgx.Batch, tenantID int64, uses []credentialUse, stored time.Time) {
	for _, u := range uses {
		b.Queue(`UPDATE xapi_credentials SET last_used_at = $3, statements_received = statements_received + $4
			WHERE tenant_id = $1 AND id = $2`, tenantID, u.id, stored, u.n)
	}
}

// queueStatementCounts queues on b the count of n statements stored at
// stored, for the platform's usage page (migrations/00011 and 00023). The
// trigger that counts other inserts leaves the pipeline's batches to it:
// counted in the bronze INSERT, they held the tenant's counter row locked
// from then to the commit, and the tenant's next batch waited for it at
// its own bronze INSERT. Under the pipeline lock the row is never
// contended.
func queueStatementCounts(b *pgx.Batch, tenantID int64, n int, stored time.Time) {
	b.Queue(`INSERT INTO tenant_statement_counts AS c (tenant_id, statements, last_stored) VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id) DO UPDATE
			SET statements = c.statements + excluded.statements, last_stored = greatest(c.last_stored, excluded.last_stored)`,
		tenantID, n, stored)
	b.Queue(`INSERT INTO tenant_statement_hours AS h (tenant_id, hour, statements) VALUES ($1, date_trunc('hour', $3::timestamptz), $2)
		ON CONFLICT (tenant_id, hour) DO UPDATE SET statements = h.statements + excluded.statements`, tenantID, n, stored)
	b.Queue(`DELETE FROM tenant_statement_hours WHERE tenant_id = $1 AND hour < now() - interval '2 days'`, tenantID)
}

// checkDuplicates checks the statements of a batch that bronze already held
// (those not in fresh): a stored statement with the same id and the same
// content is a no-op; with other content it is a conflict.
func checkDuplicates(ctx context.Context, tx pgx.Tx, tenantID int64, ss []xapi.Statement, docs [][]byte, clientTimestamp []bool, fresh []int) error {
	if len(fresh) == len(ss) {
		return nil
	}
	isFresh := make([]bool, len(ss))
	for _, i := range fresh {
		isFresh[i] = true
	}
	var ids []string
	for i, s := range ss {
		if !isFresh[i] {
			ids = append(ids, s.ID)
		}
	}
	rows, err := tx.Query(ctx, `SELECT id::text, statement::text FROM xapi_statements
		WHERE tenant_id = $1 AND id = ANY($2::text[]::uuid[])`, tenantID, ids)
	if err != nil {
		return fmt.Errorf("look up stored statements: %w", err)
	}
	existing := map[string]string{}
	for rows.Next() {
		var id, doc string
		if err := rows.Scan(&id, &doc); err != nil {
			return err
		}
		existing[id] = doc
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i, s := range ss {
		if isFresh[i] {
			continue
		}
		// Compared as the client sent it: a timestamp the LRS filled in
		// (it equals stored) must not make a resend differ.
		incoming := docs[i]
		if !clientTimestamp[i] {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(incoming, &m); err != nil {
				return err
			}
			delete(m, "timestamp")
			if incoming, err = json.Marshal(m); err != nil {
				return err
			}
		}
		same, err := xapi.Equivalent([]byte(existing[s.ID]), incoming)
		if err != nil {
			return err
		}
		if !same {
			return &ConflictError{ID: s.ID}
		}
	}
	return nil
}

func checkVoiding(ctx context.Context, tx pgx.Tx, tenantID int64, ss []xapi.Statement, fresh []int) error {
	inBatch := map[string]bool{}
	var targets []string
	for _, i := range fresh {
		inBatch[ss[i].ID] = ss[i].Voids != ""
		if ss[i].Voids != "" {
			targets = append(targets, ss[i].Voids)
		}
	}
	if len(targets) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT id::text FROM xapi_statements
		WHERE tenant_id = $1 AND id = ANY($2::text[]::uuid[]) AND voids IS NOT NULL`, tenantID, targets)
	if err != nil {
		return fmt.Errorf("check voiding targets: %w", err)
	}
	voiding, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, id := range voiding {
		inBatch[id] = true
	}
	for _, i := range fresh {
		if t := ss[i].Voids; t != "" && inBatch[t] {
			return &VoidingError{ID: ss[i].ID, Target: t}
		}
	}
	return nil
}

// insertBronze stores the batch's statements that bronze does not hold yet
// and returns their indexes, in request order. A statement another
// transaction is storing at the same time is waited for.
//
// The rows go in as one INSERT from column arrays. (COPY, the other bulk
// path, is refused under Row Level Security; copying into a temporary
// table and inserting from it cost bronze about a fifth more.) The
// per-statement key lists are passed as array literals, since PostgreSQL
// arrays cannot be ragged.
func insertBronze(ctx context.Context, tx pgx.Tx, b StatementBatch, creds []*int64, docs [][]byte, stored time.Time) ([]int, error) {
	n := len(b.Statements)
	ids, regs, voids := make([]pgtype.UUID, n), make([]pgtype.UUID, n), make([]pgtype.UUID, n)
	ts := make([]time.Time, n)
	verbs, actors, statements := make([]string, n), make([]string, n), make([]string, n)
	agents, relatedAgents, relatedActivities := make([]string, n), make([]string, n), make([]string, n)
	activities := make([]*string, n)
	index := make(map[string]int, n)
	for i, s := range b.Statements {
		index[s.ID] = i
		ids[i], ts[i], verbs[i], actors[i] = pgUUID(s.ID), s.Timestamp, s.VerbID, s.Actor.Key()
		if s.Registration != "" {
			regs[i] = pgUUID(s.Registration)
		}
		if s.Voids != "" {
			voids[i] = pgUUID(s.Voids)
		}
		if s.ObjectType == "Activity" {
			activities[i] = &b.Statements[i].ObjectID
		}
		agents[i] = arrayLiteral(s.AgentKeys(false))
		relatedAgents[i] = arrayLiteral(s.AgentKeys(true))
		relatedActivities[i] = arrayLiteral(s.ActivityIDs(true))
		statements[i] = string(docs[i])
	}
	rows, err := tx.Query(ctx, insertBronzeSQL, b.TenantID, stored, creds, ids, ts, verbs, actors, agents, relatedAgents,
		activities, relatedActivities, regs, voids, statements)
	if err != nil {
		return nil, fmt.Errorf("store statements: %w", err)
	}
	inserted, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store statements: %w", err)
	}
	fresh := make([]int, len(inserted))
	for j, id := range inserted {
		fresh[j] = index[id]
	}
	slices.Sort(fresh)
	return fresh, nil
}

const insertBronzeSQL = `
INSERT INTO xapi_statements (tenant_id, id, stored, ts, credential_id, verb_id, actor_key, agent_keys,
    related_agent_keys, activity_id, related_activity_ids, registration, voids, statement)
SELECT $1, u.id, $2, u.ts, u.cred, u.verb, u.actor, u.agents::text[], u.related_agents::text[], u.activity,
    u.related_activities::text[], u.reg, u.voids, u.doc::jsonb
FROM unnest($4::uuid[], $5::timestamptz[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
    $12::uuid[], $13::uuid[], $14::text[], $3::bigint[])
    AS u(id, ts, verb, actor, agents, related_agents, activity, related_activities, reg, voids, doc, cred)
ON CONFLICT (tenant_id, id) DO NOTHING
RETURNING id::text`

// arrayLiteral writes ss as a PostgreSQL text array literal ('{"a","b"}').
func arrayLiteral(ss []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for j := 0; j < len(s); j++ {
			if s[j] == '"' || s[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(s[j])
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// voidTargets returns the statements the batch's fresh statements void,
// and the voiding statements.
func voidTargets(ss []xapi.Statement, fresh []int) (targets, by []string) {
	for _, i := range fresh {
		if ss[i].Voids != "" {
			targets = append(targets, ss[i].Voids)
			by = append(by, ss[i].ID)
		}
	}
	return targets, by
}

// recordVoids records the statements the batch voids, before its learning
// events are stored: a target in the same batch is then stored voided, and
// one that arrives later too.
func recordVoids(ctx context.Context, tx pgx.Tx, tenantID int64, ss []xapi.Statement, fresh []int) error {
	targets, by := voidTargets(ss, fresh)
	if len(targets) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO xapi_voided (tenant_id, statement_id, voided_by)
		SELECT $1, t::uuid, b::uuid FROM unnest($2::text[], $3::text[]) AS u(t, b)
		ON CONFLICT DO NOTHING`, tenantID, targets, by); err != nil {
		return fmt.Errorf("record voided statements: %w", err)
	}
	return nil
}

// applyVoids takes the learning events of the statements the batch voids
// out of the numbers (under the lock). A target not stored yet is voided
// when it arrives.
func applyVoids(ctx context.Context, tx pgx.Tx, tenantID int64, ss []xapi.Statement, fresh []int, k *keys) error {
	targets, _ := voidTargets(ss, fresh)
	if len(targets) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `UPDATE learning_events SET voided = true
		WHERE tenant_id = $1 AND statement_id = ANY($2::text[]::uuid[]) AND NOT voided
		RETURNING `+eventCols, tenantID, targets)
	if err != nil {
		return fmt.Errorf("void learning events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ev eventRow
		if err := rows.Scan(ev.dest()...); err != nil {
			return err
		}
		k.addRecompute(ev.learner, ev.course)
		k.events = append(k.events, signed[eventRow]{ev, -1})
	}
	return rows.Err()
}

func pgUUID(s string) pgtype.UUID {
	u, err := uuid.Parse(s)
	if err != nil {
		return pgtype.UUID{}
	}
	return pgtype.UUID{Bytes: u, Valid: true}
}

// isDeadlock says whether err is PostgreSQL's deadlock_detected.
func isDeadlock(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "40P01"
}
