package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/learnlens/learnlens/xapi"
)

// StatementBatch is a set of parsed, validated statements from one request.
type StatementBatch struct {
	TenantID     int64
	CredentialID int64
	Authority    xapi.Agent
	Statements   []xapi.Statement
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
// Bronze is written before the tenant's pipeline lock is taken, so the
// next batch's validation, documents and bronze rows overlap with this
// one's silver and gold work. Two batches racing with the same new id meet
// at bronze's primary key: the second waits for the first to commit and
// then finds the statement stored.
func (p *Pipeline) StoreStatements(ctx context.Context, b StatementBatch) (StoreResult, error) {
	ctx, cancel := context.WithTimeout(ctx, MaxIngestDuration)
	defer cancel()
	var res StoreResult
	err := p.db.TenantTx(ctx, b.TenantID, func(tx pgx.Tx) error {
		var err error
		res, err = storeStatements(ctx, tx, b)
		return err
	})
	if err != nil {
		return StoreResult{}, err
	}
	return res, nil
}

// MaxIngestDuration bounds a statement batch's transaction, from the stored
// time it gives its statements to its commit: every statement stored before
// now minus this is visible (X-Experience-API-Consistent-Through).
const MaxIngestDuration = 30 * time.Second

// storeStatements is StoreStatements inside its transaction.
func storeStatements(ctx context.Context, tx pgx.Tx, b StatementBatch) (StoreResult, error) {
	// Every statement below is driven by the batch's keys; nested loops
	// over the key indexes keep its cost proportional to the batch, not to
	// the tenant's data, whatever the statistics say, and a fresh table
	// without statistics must not tempt the planner into scanning it once
	// per key. Where a disabled plan is the only one (the staged rows are
	// read by a sequential scan) its cost is huge, which must not trigger
	// JIT compilation: that took 190 ms for a 1,000-statement insert.
	if _, err := tx.Exec(ctx, `SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off;
		SET LOCAL enable_seqscan = off; SET LOCAL jit = off`); err != nil {
		return StoreResult{}, err
	}
	stored := time.Now().UTC().Truncate(time.Microsecond)
	res := StoreResult{IDs: make([]string, len(b.Statements))}
	docs := make([][]byte, len(b.Statements))
	clientTimestamp := make([]bool, len(b.Statements))
	for i := range b.Statements {
		clientTimestamp[i] = !b.Statements[i].Timestamp.IsZero()
		doc, err := b.Statements[i].Finalize(stored, b.Authority)
		if err != nil {
			return StoreResult{}, fmt.Errorf("finalize statement %d: %w", i, err)
		}
		docs[i] = doc
		res.IDs[i] = b.Statements[i].ID
	}
	fresh, err := insertBronze(ctx, tx, b, docs, stored)
	if err != nil {
		return StoreResult{}, err
	}
	if err := checkDuplicates(ctx, tx, b.TenantID, b.Statements, docs, clientTimestamp, fresh); err != nil {
		return StoreResult{}, err
	}
	res.Duplicates = len(b.Statements) - len(fresh)
	res.Stored = len(fresh)
	if len(fresh) == 0 {
		return res, nil
	}
	return res, deriveSilverAndGold(ctx, tx, b, fresh, stored)
}

// deriveSilverAndGold brings silver and gold up to date with the fresh
// statements of a batch, under the tenant's pipeline lock.
func deriveSilverAndGold(ctx context.Context, tx pgx.Tx, b StatementBatch, fresh []int, stored time.Time) error {
	if err := checkVoiding(ctx, tx, b.TenantID, b.Statements, fresh); err != nil {
		return err
	}
	tz, err := lockTenant(ctx, tx, b.TenantID)
	if err != nil {
		return err
	}
	// A voiding statement committed while this batch waited may be the
	// target of one of its voids.
	if err := checkVoiding(ctx, tx, b.TenantID, b.Statements, fresh); err != nil {
		return err
	}
	k := newKeys()
	if err := applyVoids(ctx, tx, b.TenantID, b.Statements, fresh, k); err != nil {
		return err
	}
	if err := insertEvents(ctx, tx, b.TenantID, tz, b.Statements, fresh, k); err != nil {
		return err
	}
	// Even a batch that changes no number moves "data as of".
	var final pgx.Batch
	final.Queue(`INSERT INTO gold_freshness (tenant_id, as_of, refreshed) VALUES ($1, $2, now())
		ON CONFLICT (tenant_id) DO UPDATE SET as_of = greatest(gold_freshness.as_of, excluded.as_of), refreshed = now()`,
		b.TenantID, stored)
	queueNotifyGold(&final, b.TenantID)
	if k.empty() {
		return tx.SendBatch(ctx, &final).Close()
	}
	if err := refreshSilver(ctx, tx, b.TenantID, tz, k); err != nil {
		return err
	}
	return applyGoldDeltas(ctx, tx, b.TenantID, tz, k, &final)
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
func insertBronze(ctx context.Context, tx pgx.Tx, b StatementBatch, docs [][]byte, stored time.Time) ([]int, error) {
	rows := make([][]any, 0, len(b.Statements))
	index := make(map[string]int, len(b.Statements))
	for i, s := range b.Statements {
		index[s.ID] = i
		var reg, voids pgtype.UUID
		if s.Registration != "" {
			reg = pgUUID(s.Registration)
		}
		if s.Voids != "" {
			voids = pgUUID(s.Voids)
		}
		var activity *string
		if s.ObjectType == "Activity" {
			activity = &s.ObjectID
		}
		var cred *int64
		if b.CredentialID != 0 {
			cred = &b.CredentialID
		}
		rows = append(rows, []any{b.TenantID, pgUUID(s.ID), stored, s.Timestamp, cred, s.VerbID, s.Actor.Key(),
			nonNil(s.AgentKeys(false)), nonNil(s.AgentKeys(true)), activity, nonNil(s.ActivityIDs(true)), reg, voids, string(docs[i])})
	}
	// PostgreSQL refuses COPY into a table under Row Level Security, so the
	// rows are copied into a per-connection temporary table first and moved
	// with one INSERT, which the tenant policy checks.
	cols := []string{"tenant_id", "id", "stored", "ts", "credential_id", "verb_id", "actor_key", "agent_keys",
		"related_agent_keys", "activity_id", "related_activity_ids", "registration", "voids", "statement"}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS stage_statements (tenant_id bigint, id uuid,
		stored timestamptz, ts timestamptz, credential_id bigint, verb_id text, actor_key text, agent_keys text[],
		related_agent_keys text[], activity_id text, related_activity_ids text[], registration uuid, voids uuid,
		statement jsonb) ON COMMIT DELETE ROWS`); err != nil {
		return nil, fmt.Errorf("stage statements: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"stage_statements"}, cols, pgx.CopyFromRows(rows)); err != nil {
		return nil, fmt.Errorf("stage statements: %w", err)
	}
	list := strings.Join(cols, ", ")
	inserted, err := tx.Query(ctx, `INSERT INTO xapi_statements (`+list+`) SELECT `+list+` FROM stage_statements
		ON CONFLICT (tenant_id, id) DO NOTHING RETURNING id::text`)
	if err != nil {
		return nil, fmt.Errorf("store statements: %w", err)
	}
	ids, err := pgx.CollectRows(inserted, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store statements: %w", err)
	}
	fresh := make([]int, len(ids))
	for j, id := range ids {
		fresh[j] = index[id]
	}
	slices.Sort(fresh)
	return fresh, nil
}

// applyVoids records voided statements and takes their learning events out
// of the numbers. A target not stored yet is voided when it arrives.
func applyVoids(ctx context.Context, tx pgx.Tx, tenantID int64, ss []xapi.Statement, fresh []int, k *keys) error {
	var targets, by []string
	for _, i := range fresh {
		if ss[i].Voids != "" {
			targets = append(targets, ss[i].Voids)
			by = append(by, ss[i].ID)
		}
	}
	if len(targets) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO xapi_voided (tenant_id, statement_id, voided_by)
		SELECT $1, t::uuid, b::uuid FROM unnest($2::text[], $3::text[]) AS u(t, b)
		ON CONFLICT DO NOTHING`, tenantID, targets, by); err != nil {
		return fmt.Errorf("record voided statements: %w", err)
	}
	rows, err := tx.Query(ctx, `UPDATE learning_events SET voided = true
		WHERE tenant_id = $1 AND statement_id = ANY($2::text[]::uuid[]) AND NOT voided
		RETURNING learner_id, course_id, day::text, kind, scaled, success, duration_ms, ts`, tenantID, targets)
	if err != nil {
		return fmt.Errorf("void learning events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ev eventRow
		if err := rows.Scan(&ev.learner, &ev.course, &ev.day, &ev.kind, &ev.scaled, &ev.success, &ev.durationMs, &ev.ts); err != nil {
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

// nonNil turns a nil slice into an empty one, for NOT NULL array columns.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
