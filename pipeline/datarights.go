package pipeline

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/xapi"
)

// Data rights (docs/DATA-RIGHTS.md): pseudonymising and erasing a person
// and purging statements before a date. Each runs in one transaction under
// the tenant's pipeline lock, so it cannot interleave with a statement
// batch or an import, and ends with a new gold version like a batch.

// ErrNoPerson is returned for a learner id the tenant does not have.
var ErrNoPerson = errors.New("no such person")

// PseudonymHomePage is the account homePage of the agent that stands for
// a pseudonymised or erased person in stored statements.
const PseudonymHomePage = "urn:learnlens:pseudonym"

// person is what the data-rights actions need of a learner.
type person struct {
	id                    int64
	name, email, employee string
	manager               *int64
	keys                  []string // xAPI actor keys (learner_identities), and the mbox of their email
	identifiers           []string // email, employee id, name: what must leave import files
}

// loadPerson reads the learner and their actor keys.
func loadPerson(ctx context.Context, tx pgx.Tx, tenantID, id int64) (person, error) {
	p := person{id: id}
	err := tx.QueryRow(ctx, `SELECT name, coalesce(email, ''), coalesce(employee_id, ''), manager_id,
			coalesce((SELECT array_agg(actor_key ORDER BY actor_key) FROM learner_identities i WHERE i.tenant_id = l.tenant_id AND i.learner_id = l.id), '{}')
		FROM learners l WHERE tenant_id = $1 AND id = $2`, tenantID, id).
		Scan(&p.name, &p.email, &p.employee, &p.manager, &p.keys)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, ErrNoPerson
	}
	if err != nil {
		return p, fmt.Errorf("read person: %w", err)
	}
	if p.email != "" {
		// A statement may name them by an mbox the pipeline matched by email.
		p.keys = appendNew(p.keys, xapi.Agent{Mbox: "mailto:" + p.email}.Key())
	}
	for _, s := range []string{p.email, p.employee, p.name} {
		if strings.TrimSpace(s) != "" {
			p.identifiers = append(p.identifiers, s)
		}
	}
	return p, nil
}

func appendNew(ss []string, s string) []string {
	if slices.Contains(ss, s) {
		return ss
	}
	return append(ss, s)
}

// newPseudonym is a fresh opaque id: prefix and 16 random hex digits.
func newPseudonym(prefix string) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return prefix + hex.EncodeToString(b[:])
}

// pseudonymKey is the actor key of the agent standing for pseudonym.
func pseudonymKey(pseudonym string) string {
	return xapi.Agent{AccountHomePage: PseudonymHomePage, AccountName: pseudonym}.Key()
}

// PseudonymiseResult says what Pseudonymise changed.
type PseudonymiseResult struct {
	Pseudonym     string  // the person's opaque id from now on
	Statements    int     // stored statements rewritten
	Documents     int     // xAPI State and Agent Profile documents dropped
	ImportFiles   int     // uploaded import files emptied because they named them
	UnlinkedUsers []int64 // user accounts no longer linked to the record
}

// Pseudonymise replaces a person's identity by an opaque id: their name,
// email and employee id in silver, their actor keys, and every agent of
// theirs in stored statements (actor, object, instructor, team, group
// members, sub-statements). Their xAPI State and Agent Profile documents
// are dropped (their keys and content are identity), import files that
// name them are emptied, and a user account linked to the record is
// unlinked. No number changes; the gold version moves so that dashboards
// show the new name. A statement sent later for the old identity finds no
// one and becomes a new person.
func (p *Pipeline) Pseudonymise(ctx context.Context, tenantID, learnerID int64) (PseudonymiseResult, error) {
	var res PseudonymiseResult
	var version committedVersions
	err := p.inTenant(ctx, tenantID, func(tx pgx.Tx, _ string) error {
		who, err := loadPerson(ctx, tx, tenantID, learnerID)
		if err != nil {
			return err
		}
		res.Pseudonym = newPseudonym("p-")
		newKey := pseudonymKey(res.Pseudonym)
		if res.Statements, err = rewriteAgents(ctx, tx, tenantID, who.keys, res.Pseudonym); err != nil {
			return err
		}
		var b pgx.Batch
		b.Queue(`UPDATE learners SET name = $3, email = NULL, employee_id = NULL, pseudonym = $3, updated_at = now()
			WHERE tenant_id = $1 AND id = $2`, tenantID, learnerID, res.Pseudonym)
		b.Queue(`DELETE FROM learner_identities WHERE tenant_id = $1 AND learner_id = $2`, tenantID, learnerID)
		b.Queue(`INSERT INTO learner_identities (tenant_id, actor_key, learner_id) VALUES ($1, $2, $3)`, tenantID, newKey, learnerID)
		queuePersonDocumentsGone(&b, tenantID, who.keys, &res.Documents)
		queueUnlinkUsers(&b, tenantID, learnerID, &res.UnlinkedUsers)
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("pseudonymise person: %w", err)
		}
		if res.ImportFiles, err = emptyImportFiles(ctx, tx, tenantID, who); err != nil {
			return err
		}
		return newVersion(ctx, tx, tenantID, &version)
	})
	if err != nil {
		return PseudonymiseResult{}, err
	}
	p.committed(tenantID, version)
	return res, nil
}

// queuePersonDocumentsGone queues the deletion of the State and Agent
// Profile documents of the actor keys; their number goes to *n.
func queuePersonDocumentsGone(b *pgx.Batch, tenantID int64, keys []string, n *int) {
	b.Queue(`DELETE FROM xapi_documents WHERE tenant_id = $1 AND resource IN ('state', 'agent_profile') AND agent_key = ANY($2)`,
		tenantID, keys).Exec(func(ct pgconn.CommandTag) error {
		*n = int(ct.RowsAffected())
		return nil
	})
}

// queueUnlinkUsers queues the unlinking of the user accounts linked to the
// learner; their ids go to *ids, for the caller to announce.
func queueUnlinkUsers(b *pgx.Batch, tenantID, learnerID int64, ids *[]int64) {
	b.Queue(`UPDATE users SET learner_id = NULL, updated_at = now() WHERE tenant_id = $1 AND learner_id = $2 RETURNING id`,
		tenantID, learnerID).Query(func(rows pgx.Rows) error {
		var err error
		*ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
}

// rewriteChunk is how many statements one UPDATE of rewriteAgents writes.
const rewriteChunk = 1000

// rewriteAgents replaces, in every stored statement of the tenant that
// names one of keys as an agent anywhere, that agent by the pseudonym's
// account agent (without a name), and the filter columns with it. It
// returns the number of statements rewritten. The statements are found by
// their agent columns (a scan of the tenant's statements: the person may
// be an instructor or team member, which no index covers).
func rewriteAgents(ctx context.Context, tx pgx.Tx, tenantID int64, keys []string, pseudonym string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	rows, err := tx.Query(ctx, `SELECT id::text, statement::text, actor_key = ANY($2) FROM xapi_statements
		WHERE tenant_id = $1 AND (actor_key = ANY($2) OR agent_keys && $2 OR related_agent_keys && $2)`, tenantID, keys)
	if err != nil {
		return 0, fmt.Errorf("find statements naming the person: %w", err)
	}
	var ids, docs []string
	for rows.Next() {
		var id, doc string
		var theirs bool
		if err := rows.Scan(&id, &doc, &theirs); err != nil {
			rows.Close()
			return 0, err
		}
		out, err := replaceAgents([]byte(doc), keys, pseudonym, theirs)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("statement %s: %w", id, err)
		}
		ids, docs = append(ids, id), append(docs, string(out))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	newKey := pseudonymKey(pseudonym)
	for start := 0; start < len(ids); start += rewriteChunk {
		end := min(start+rewriteChunk, len(ids))
		if _, err := tx.Exec(ctx, `UPDATE xapi_statements s SET statement = u.doc::jsonb,
				actor_key = CASE WHEN s.actor_key = ANY($3) THEN $5 ELSE s.actor_key END,
				agent_keys = ARRAY(SELECT DISTINCT CASE WHEN k = ANY($3) THEN $5 ELSE k END FROM unnest(s.agent_keys) k),
				related_agent_keys = ARRAY(SELECT DISTINCT CASE WHEN k = ANY($3) THEN $5 ELSE k END FROM unnest(s.related_agent_keys) k)
			FROM unnest($2::uuid[], $4::text[]) AS u(id, doc)
			WHERE s.tenant_id = $1 AND s.id = u.id`, tenantID, ids[start:end], keys, docs[start:end], newKey); err != nil {
			return 0, fmt.Errorf("rewrite statements: %w", err)
		}
	}
	if _, err := DeleteOrphanAttachments(ctx, tx, tenantID); err != nil {
		return 0, err
	}
	return len(ids), nil
}

// replaceAgents rewrites a statement's JSON: every object that identifies
// an agent or group by one of keys loses its identifier and name and gets
// the pseudonym's account instead. Numbers are kept as written. The
// person's own statements (dropAttachments) also lose their attachments
// (a certificate may carry the name; the data goes once no statement
// names it), and with them any signature, which the rewrite breaks anyway.
func replaceAgents(doc []byte, keys []string, pseudonym string, dropAttachments bool) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if m, ok := v.(map[string]any); ok && dropAttachments {
		delete(m, "attachments")
		if obj, ok := m["object"].(map[string]any); ok {
			delete(obj, "attachments")
		}
	}
	replaceIn(v, keys, pseudonym)
	return json.Marshal(v)
}

func replaceIn(v any, keys []string, pseudonym string) {
	switch x := v.(type) {
	case map[string]any:
		if k := agentKeyOf(x); k != "" && slices.Contains(keys, k) {
			for _, f := range []string{"mbox", "mbox_sha1sum", "openid", "account", "name"} {
				delete(x, f)
			}
			x["account"] = map[string]any{"homePage": PseudonymHomePage, "name": pseudonym}
		}
		for _, child := range x {
			replaceIn(child, keys, pseudonym)
		}
	case []any:
		for _, child := range x {
			replaceIn(child, keys, pseudonym)
		}
	}
}

// agentKeyOf is the Agent.Key of a JSON object with an inverse functional
// identifier, or "".
func agentKeyOf(m map[string]any) string {
	str := func(v any) string { s, _ := v.(string); return s }
	a := xapi.Agent{Mbox: str(m["mbox"]), MboxSHA1Sum: str(m["mbox_sha1sum"]), OpenID: str(m["openid"])}
	if acc, ok := m["account"].(map[string]any); ok {
		a.AccountHomePage, a.AccountName = str(acc["homePage"]), str(acc["name"])
	}
	return a.Key()
}

// emptyImportFiles empties the content and error report of the roster and
// enrolment files the tenant uploaded that name the person (by employee
// id, email or name), keeping the record that the import happened. It
// returns how many it emptied.
func emptyImportFiles(ctx context.Context, tx pgx.Tx, tenantID int64, who person) (int, error) {
	if len(who.identifiers) == 0 {
		return 0, nil
	}
	rows, err := tx.Query(ctx, `SELECT id, kind, filename, content, report::text FROM import_files
		WHERE tenant_id = $1 AND kind IN ('roster', 'enrollments') AND octet_length(content) > 0`, tenantID)
	if err != nil {
		return 0, fmt.Errorf("read import files: %w", err)
	}
	var hits []int64
	for rows.Next() {
		var id int64
		var kind, name, report string
		var content []byte
		if err := rows.Scan(&id, &kind, &name, &content, &report); err != nil {
			rows.Close()
			return 0, err
		}
		if fileNames(imports.Kind(kind), name, content, report, who) {
			hits = append(hits, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(hits) == 0 {
		return 0, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE import_files SET content = '', report = '[]' WHERE tenant_id = $1 AND id = ANY($2)`,
		tenantID, hits); err != nil {
		return 0, fmt.Errorf("empty import files: %w", err)
	}
	return len(hits), nil
}

// fileNames reports whether an import file or its error report names the
// person: a text (CSV) file by its text — their email or name anywhere, their
// employee id as a whole cell — and an XLSX workbook (a ZIP) by its parsed
// rows, which hold every valid row; an invalid row's cells are in the text
// of a CSV and, for a workbook, the offending value in the report.
func fileNames(kind imports.Kind, filename string, content []byte, report string, who person) bool {
	same := func(v string) bool {
		v = strings.TrimSpace(v)
		return v != "" && slices.ContainsFunc(who.identifiers, func(id string) bool { return strings.EqualFold(v, id) })
	}
	inText := func(text string) bool {
		text = strings.ToLower(text)
		for _, s := range []string{who.email, who.name} {
			if strings.TrimSpace(s) != "" && strings.Contains(text, strings.ToLower(strings.TrimSpace(s))) {
				return true
			}
		}
		return who.employee != "" && wholeCell(text, strings.ToLower(who.employee))
	}
	var rowErrors []imports.RowError
	if json.Unmarshal([]byte(report), &rowErrors) == nil {
		for _, e := range rowErrors {
			if same(e.Value) || inText(e.Value) {
				return true
			}
		}
	}
	if !bytes.HasPrefix(content, []byte("PK")) {
		return inText(string(content))
	}
	r, err := imports.Parse(kind, filename, content)
	if err != nil {
		return false // not a workbook the importer reads: nothing of it was imported
	}
	for _, row := range r.Roster {
		if same(row.EmployeeID) || same(row.Email) || same(row.Name) || slices.ContainsFunc(append([]string{row.ManagerEmployeeID}, row.DottedManagerEmployeeIDs...), same) {
			return true
		}
	}
	for _, row := range r.Enrollments {
		if same(row.EmployeeID) {
			return true
		}
	}
	return slices.ContainsFunc(r.Errors, func(e imports.RowError) bool { return same(e.Value) })
}

// wholeCell reports whether text holds cell as a whole CSV cell (between
// separators, quotes, spaces or line ends).
func wholeCell(text, cell string) bool {
	isSep := func(b byte) bool { return strings.IndexByte(",;\t\r\n \"", b) >= 0 }
	for i := 0; ; {
		j := strings.Index(text[i:], cell)
		if j < 0 {
			return false
		}
		at, end := i+j, i+j+len(cell)
		if (at == 0 || isSep(text[at-1])) && (end == len(text) || isSep(text[end])) {
			return true
		}
		i = at + 1
	}
}

// EraseResult says what Erase removed.
type EraseResult struct {
	Statements    int     // stored statements deleted (theirs, and voids of them)
	Rewritten     int     // other people's statements that named them, rewritten
	Documents     int     // xAPI State and Agent Profile documents deleted
	Reports       int     // people who reported to them, now to their manager
	ImportFiles   int     // uploaded import files emptied because they named them
	UnlinkedUsers []int64 // user accounts that were linked to the record
}

// Erase removes a person: their statements (and statements voiding them)
// with the void bookkeeping, their silver rows (learner, identities,
// history, learning events, enrolments, imported enrolments, daily
// activity, compliance assignments), their xAPI State and Agent Profile
// documents, and the uncatalogued courses only they had used. Where they
// appear in other people's statements (instructor, team, object) they are
// replaced by an opaque "erased" agent. Their reports are re-pointed to
// their own manager (or to none), in today's roster, in the effective-dated
// history and in the events' org data; a dotted line to them is dropped.
// A linked user account is unlinked. Gold changes by exact deltas: the
// person's rows leave it, and their reports' rows move to their new
// group; reporting lines are rebuilt when they managed anyone. It is a new
// gold version.
func (p *Pipeline) Erase(ctx context.Context, tenantID, learnerID int64) (EraseResult, error) {
	var res EraseResult
	var version committedVersions
	err := p.inTenant(ctx, tenantID, func(tx pgx.Tx, tz string) error {
		who, err := loadPerson(ctx, tx, tenantID, learnerID)
		if err != nil {
			return err
		}
		var courses, reports []int64
		var managed, underSomeone bool
		var b pgx.Batch
		b.Queue(personCourses, tenantID, learnerID).QueryRow(func(row pgx.Row) error { return row.Scan(&courses) })
		b.Queue(`SELECT coalesce(array_agg(id), '{}') FROM learners WHERE tenant_id = $1 AND manager_id = $2`, tenantID, learnerID).
			QueryRow(func(row pgx.Row) error { return row.Scan(&reports) })
		// Whether anyone ever reported to them, solid or dotted: only then
		// do history, events' org data and reporting lines name them.
		b.Queue(`SELECT EXISTS (SELECT FROM learner_history WHERE tenant_id = $1 AND (manager_id = $2 OR $2 = ANY(dotted_manager_ids)))`,
			tenantID, learnerID).QueryRow(func(row pgx.Row) error { return row.Scan(&managed) })
		b.Queue(`SELECT EXISTS (SELECT FROM org_closure WHERE tenant_id = $1 AND learner_id = $2)`, tenantID, learnerID).
			QueryRow(func(row pgx.Row) error { return row.Scan(&underSomeone) })
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("read the person: %w", err)
		}
		res.Reports = len(reports)
		// Out of gold: the person's rows, and their reports' rows in their
		// present group.
		leaving := newKeys()
		if err := collectGoldRows(ctx, tx, tenantID, append([]int64{learnerID}, reports...), -1, leaving); err != nil {
			return err
		}
		if err := applyGoldDeltas(ctx, tx, tenantID, tz, leaving, nil); err != nil {
			return err
		}

		var ids []string
		if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(id::text), '{}') FROM (
				SELECT id FROM xapi_statements WHERE tenant_id = $1 AND actor_key = ANY($2)
				UNION SELECT statement_id FROM learning_events WHERE tenant_id = $1 AND learner_id = $3) s`,
			tenantID, who.keys, learnerID).Scan(&ids); err != nil {
			return fmt.Errorf("find the person's statements: %w", err)
		}
		if res.Statements, err = deleteStatements(ctx, tx, tenantID, ids); err != nil {
			return err
		}
		if res.Rewritten, err = rewriteAgents(ctx, tx, tenantID, who.keys, newPseudonym("erased-")); err != nil {
			return err
		}
		if res.ImportFiles, err = emptyImportFiles(ctx, tx, tenantID, who); err != nil {
			return err
		}
		b = pgx.Batch{}
		queuePersonDocumentsGone(&b, tenantID, who.keys, &res.Documents)
		queueUnlinkUsers(&b, tenantID, learnerID, &res.UnlinkedUsers)
		for _, q := range eraseSilver {
			b.Queue(q, tenantID, learnerID)
		}
		if len(reports) > 0 {
			b.Queue(`UPDATE learners SET manager_id = CASE WHEN id = $3 THEN NULL ELSE $3 END, updated_at = now()
				WHERE tenant_id = $1 AND manager_id = $2`, tenantID, learnerID, who.manager)
		}
		if managed {
			b.Queue(`UPDATE learner_history SET manager_id = CASE WHEN learner_id = $3 THEN NULL ELSE $3 END
				WHERE tenant_id = $1 AND manager_id = $2`, tenantID, learnerID, who.manager)
			b.Queue(`UPDATE learner_history SET dotted_manager_ids = array_remove(dotted_manager_ids, $2)
				WHERE tenant_id = $1 AND $2 = ANY(dotted_manager_ids)`, tenantID, learnerID)
			b.Queue(`UPDATE learning_events SET manager_at = CASE WHEN learner_id = $3 THEN NULL ELSE $3 END
				WHERE tenant_id = $1 AND manager_at = $2`, tenantID, learnerID, who.manager)
		}
		b.Queue(`DELETE FROM learners WHERE tenant_id = $1 AND id = $2`, tenantID, learnerID)
		b.Queue(`DELETE FROM gold_active_people WHERE tenant_id = $1 AND learner_id = $2`, tenantID, learnerID)
		b.Queue(orphanCourses, tenantID, courses)
		if managed || len(reports) > 0 {
			b.Queue(`DELETE FROM org_closure WHERE tenant_id = $1`, tenantID)
			b.Queue(orgClosureRebuild, tenantID)
		} else {
			b.Queue(`DELETE FROM org_closure WHERE tenant_id = $1 AND learner_id = $2`, tenantID, learnerID)
		}
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("erase person: %w", err)
		}

		// Back into gold: the reports' rows in their new group.
		arriving := newKeys()
		if err := collectGoldRows(ctx, tx, tenantID, reports, +1, arriving); err != nil {
			return err
		}
		var final pgx.Batch
		queueNewVersion(&final, tenantID, nil, &version)
		if err := applyGoldDeltas(ctx, tx, tenantID, tz, arriving, &final); err != nil {
			return err
		}
		// The team tree's per-subtree totals count people by their place
		// in the reporting lines, which the erasure changed.
		if managed || underSomeone || len(reports) > 0 {
			return rebuildTeam(ctx, tx, tenantID)
		}
		return nil
	})
	if err != nil {
		return EraseResult{}, err
	}
	p.committed(tenantID, version)
	return res, nil
}

// collectGoldRows records in k, with sign, every silver row of the
// learners that gold counts: their non-voided learning events, enrolments,
// daily activity and compliance assignments.
func collectGoldRows(ctx context.Context, tx pgx.Tx, tenantID int64, learners []int64, sign int, k *keys) error {
	if len(learners) == 0 {
		return nil
	}
	for _, id := range learners {
		k.addPair(id, 0) // learnerGroups reads the group of every learner in k.learners
	}
	var b pgx.Batch
	b.Queue(`SELECT `+eventCols+` FROM learning_events
		WHERE tenant_id = $1 AND learner_id = ANY($2) AND NOT voided`, tenantID, learners).Query(func(rows pgx.Rows) error {
		var ev eventRow
		_, err := pgx.ForEachRow(rows, ev.dest(), func() error {
			k.events = append(k.events, signed[eventRow]{ev, sign})
			ev = eventRow{} // the next scan must not write through this row's pointers
			return nil
		})
		return err
	})
	b.Queue(`SELECT `+enrollmentColumns+` FROM enrollments en WHERE en.tenant_id = $1 AND en.learner_id = ANY($2)`, tenantID, learners).
		Query(func(rows pgx.Rows) error {
			var e enrollmentRow
			_, err := pgx.ForEachRow(rows, e.dest(), func() error {
				k.enrollments = append(k.enrollments, signed[enrollmentRow]{e, sign})
				e = enrollmentRow{}
				return nil
			})
			return err
		})
	b.Queue(`SELECT learner_id, day::text, statements, duration_ms FROM daily_activity WHERE tenant_id = $1 AND learner_id = ANY($2)`,
		tenantID, learners).Query(func(rows pgx.Rows) error {
		var a activityRow
		_, err := pgx.ForEachRow(rows, []any{&a.learner, &a.day, &a.statements, &a.durationMs}, func() error {
			k.activity = append(k.activity, signed[activityRow]{a, sign})
			return nil
		})
		return err
	})
	b.Queue(`SELECT requirement_id, learner_id, due_on::text, coalesce(expires_on, 'infinity')::text, completed_at IS NOT NULL
		FROM compliance_assignments WHERE tenant_id = $1 AND learner_id = ANY($2)`, tenantID, learners).Query(func(rows pgx.Rows) error {
		var a assignmentRow
		_, err := pgx.ForEachRow(rows, []any{&a.requirement, &a.learner, &a.dueOn, &a.expiresOn, &a.completed}, func() error {
			k.assignments = append(k.assignments, signed[assignmentRow]{a, sign})
			return nil
		})
		return err
	})
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("read the silver rows gold counts: %w", err)
	}
	return nil
}

// eraseSilver deletes a person's ($2) silver rows; identities, history and
// imported enrolments would also go with the learner row (foreign keys).
var eraseSilver = []string{
	`DELETE FROM learning_events WHERE tenant_id = $1 AND learner_id = $2`,
	`DELETE FROM enrollments WHERE tenant_id = $1 AND learner_id = $2`,
	`DELETE FROM enrollment_imports WHERE tenant_id = $1 AND learner_id = $2`,
	`DELETE FROM daily_activity WHERE tenant_id = $1 AND learner_id = $2`,
	`DELETE FROM compliance_assignments WHERE tenant_id = $1 AND learner_id = $2`,
	`DELETE FROM learner_identities WHERE tenant_id = $1 AND learner_id = $2`,
	`DELETE FROM learner_history WHERE tenant_id = $1 AND learner_id = $2`,
}

// orphanCourses deletes, of the courses $2, the uncatalogued ones
// (activities first seen in statements) that nothing refers to any more:
// they would not exist had the statements that made them never been sent.
const orphanCourses = `
DELETE FROM courses c WHERE c.tenant_id = $1 AND c.id = ANY($2) AND NOT c.catalogued
  AND NOT EXISTS (SELECT FROM enrollments e WHERE e.tenant_id = c.tenant_id AND e.course_id = c.id)
  AND NOT EXISTS (SELECT FROM enrollment_imports e WHERE e.tenant_id = c.tenant_id AND e.course_id = c.id)
  AND NOT EXISTS (SELECT FROM compliance_requirements r WHERE r.tenant_id = c.tenant_id AND r.course_id = c.id)
  AND NOT EXISTS (SELECT FROM learning_events e WHERE e.tenant_id = c.tenant_id AND e.course_id = c.id)`

// personCourses lists the courses of a person's ($2) events and enrolments.
const personCourses = `SELECT coalesce(array_agg(DISTINCT course_id), '{}') FROM (
    SELECT course_id FROM learning_events WHERE tenant_id = $1 AND learner_id = $2
    UNION ALL SELECT course_id FROM enrollments WHERE tenant_id = $1 AND learner_id = $2) c`

// deleteStatements deletes the stored statements ids, the statements that
// void them (a void means nothing without its target) and the void
// bookkeeping of both, and returns how many statements went. The
// statement counters follow by trigger.
func deleteStatements(ctx context.Context, tx pgx.Tx, tenantID int64, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var voids []string
	if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(voided_by::text), '{}') FROM xapi_voided WHERE tenant_id = $1 AND statement_id = ANY($2::uuid[])`,
		tenantID, ids).Scan(&voids); err != nil {
		return 0, fmt.Errorf("find voids of the statements: %w", err)
	}
	all := append(slices.Clone(ids), voids...)
	var b pgx.Batch
	b.Queue(`DELETE FROM xapi_voided WHERE tenant_id = $1 AND statement_id = ANY($2::uuid[])`, tenantID, all)
	b.Queue(`DELETE FROM xapi_voided WHERE tenant_id = $1 AND voided_by = ANY($2::uuid[])`, tenantID, all)
	var n int
	b.Queue(`DELETE FROM xapi_statements WHERE tenant_id = $1 AND id = ANY($2::uuid[])`, tenantID, all).Exec(func(ct pgconn.CommandTag) error {
		n = int(ct.RowsAffected())
		return nil
	})
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return 0, fmt.Errorf("delete statements: %w", err)
	}
	if _, err := DeleteOrphanAttachments(ctx, tx, tenantID); err != nil {
		return 0, err
	}
	return n, nil
}

// MinPurgeAgeDays is how recent a purge may reach: statements of the last
// MinPurgeAgeDays days (before today, in the tenant's time zone) always
// stay, so a mistyped date cannot empty the dashboards.
const MinPurgeAgeDays = 30

// ErrPurgeTooRecent is a purge date in the future or within the last
// MinPurgeAgeDays days.
var ErrPurgeTooRecent = fmt.Errorf("the date must be at least %d days before today", MinPurgeAgeDays)

// Headline is a tenant's headline numbers, before or after a purge.
type Headline struct {
	Statements     int64 `json:"statements"`      // stored statements (the statement counter)
	People         int64 `json:"people"`          // people with any learning activity
	ActiveLastYear int64 `json:"active_365_days"` // people active in the last 365 days
	Enrolments     int64 `json:"enrolments"`
	Completions    int64 `json:"completions"`
	Assigned       int64 `json:"compliance_assigned"`  // required-training assignments
	Compliant      int64 `json:"compliance_compliant"` // of them completed and not expired today
}

// CompliancePercent is Compliant of Assigned, in percent (0 with none).
func (h Headline) CompliancePercent() float64 {
	if h.Assigned == 0 {
		return 0
	}
	return 100 * float64(h.Compliant) / float64(h.Assigned)
}

// headlineSQL reads the headline numbers from silver and gold ($2: today).
const headlineSQL = `SELECT
    coalesce((SELECT statements FROM tenant_statement_counts WHERE tenant_id = $1), 0),
    (SELECT count(DISTINCT learner_id) FROM daily_activity WHERE tenant_id = $1),
    (SELECT count(DISTINCT learner_id) FROM daily_activity WHERE tenant_id = $1 AND day > $2::date - 365),
    coalesce((SELECT sum(enrolled) FROM gold_course_completion_tenant WHERE tenant_id = $1), 0)::bigint,
    coalesce((SELECT sum(completed) FROM gold_course_completion_tenant WHERE tenant_id = $1), 0)::bigint,
    coalesce((SELECT sum(people) FROM gold_compliance_tenant WHERE tenant_id = $1), 0)::bigint,
    coalesce((SELECT sum(people) FROM gold_compliance_tenant WHERE tenant_id = $1 AND completed AND on_date > $2::date), 0)::bigint`

func headline(ctx context.Context, tx pgx.Tx, tenantID int64, today string) (Headline, error) {
	var h Headline
	err := tx.QueryRow(ctx, headlineSQL, tenantID, today).Scan(&h.Statements, &h.People, &h.ActiveLastYear,
		&h.Enrolments, &h.Completions, &h.Assigned, &h.Compliant)
	if err != nil {
		return h, fmt.Errorf("headline numbers: %w", err)
	}
	return h, nil
}

// PurgeReport says what a purge removed or, for a dry run, would remove.
type PurgeReport struct {
	Before     string `json:"before"` // YYYY-MM-DD, in the tenant's time zone
	DryRun     bool   `json:"dry_run"`
	Statements int    `json:"statements"` // stored statements (with voids of them)
	// People lost every learning event; RemovedPeople of them were
	// unrostered actors with nothing else, whose records went too.
	People        int      `json:"people_left_without_statements"`
	RemovedPeople int      `json:"people_removed"`
	Courses       int      `json:"courses_affected"`
	Documents     int      `json:"documents"`
	Then          Headline `json:"headline_before"`
	Now           Headline `json:"headline_after"`
}

// purgeStatementIDs lists the statements with a timestamp before $2, but
// not a voiding statement whose target stays: that void must keep holding.
const purgeStatementIDs = `
WITH p AS (SELECT id, voids FROM xapi_statements WHERE tenant_id = $1 AND ts < $2)
SELECT coalesce(array_agg(id::text), '{}') FROM p
WHERE p.voids IS NULL OR p.voids IN (SELECT id FROM p)
   OR NOT EXISTS (SELECT FROM xapi_statements s WHERE s.tenant_id = $1 AND s.id = p.voids)`

// errPurgeDryRun rolls a dry run's transaction back.
var errPurgeDryRun = errors.New("dry run")

// Purge deletes the tenant's stored statements whose timestamp is before
// the start of day before (YYYY-MM-DD, the tenant's time zone), with the
// statements voiding them, their void bookkeeping and learning events, and
// the State and Agent Profile documents last updated before then;
// enrolments, daily activity and compliance completions of the touched
// people and courses are recomputed and gold changed by exact deltas, as
// for voided statements. Unrostered people left with nothing are removed.
// A dry run does all of it and rolls back, reporting the same numbers.
// before must be at least MinPurgeAgeDays before today.
func (p *Pipeline) Purge(ctx context.Context, tenantID int64, before time.Time, dryRun bool) (PurgeReport, error) {
	rep := PurgeReport{Before: before.Format(time.DateOnly), DryRun: dryRun}
	var version committedVersions
	err := p.inTenant(ctx, tenantID, func(tx pgx.Tx, tz string) error {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return fmt.Errorf("tenant time zone: %w", err)
		}
		y, m, d := time.Now().In(loc).Date()
		today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		if before.After(today.AddDate(0, 0, -MinPurgeAgeDays)) {
			return ErrPurgeTooRecent
		}
		if rep.Then, err = headline(ctx, tx, tenantID, today.Format(time.DateOnly)); err != nil {
			return err
		}
		cutoff := time.Date(before.Year(), before.Month(), before.Day(), 0, 0, 0, 0, loc)
		var ids []string
		if err := tx.QueryRow(ctx, purgeStatementIDs, tenantID, cutoff).Scan(&ids); err != nil {
			return fmt.Errorf("find statements to purge: %w", err)
		}
		k := newKeys()
		learners, courses := map[int64]bool{}, map[int64]bool{}
		rows, err := tx.Query(ctx, `DELETE FROM learning_events WHERE tenant_id = $1 AND statement_id = ANY($2::uuid[])
			RETURNING `+eventCols+`, voided`, tenantID, ids)
		if err != nil {
			return fmt.Errorf("purge learning events: %w", err)
		}
		for rows.Next() {
			var ev eventRow
			var voided bool
			if err := rows.Scan(ev.dest(&voided)...); err != nil {
				rows.Close()
				return err
			}
			k.addRecompute(ev.learner, ev.course)
			learners[ev.learner], courses[ev.course] = true, true
			if !voided {
				k.events = append(k.events, signed[eventRow]{ev, -1})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rep.Courses = len(courses)
		if rep.Statements, err = deleteStatements(ctx, tx, tenantID, ids); err != nil {
			return err
		}
		var final pgx.Batch
		if !dryRun {
			queueNewVersion(&final, tenantID, nil, &version)
		}
		if !k.empty() {
			if err := refreshSilver(ctx, tx, tenantID, tz, k); err != nil {
				return err
			}
		}
		if err := applyGoldDeltas(ctx, tx, tenantID, tz, k, &final); err != nil {
			return err
		}
		touched := make([]int64, 0, len(learners))
		for id := range learners {
			touched = append(touched, id)
		}
		touchedCourses := make([]int64, 0, len(courses))
		for id := range courses {
			touchedCourses = append(touchedCourses, id)
		}
		var b pgx.Batch
		b.Queue(`SELECT count(*) FROM unnest($2::bigint[]) AS t(id)
			WHERE NOT EXISTS (SELECT FROM learning_events e WHERE e.tenant_id = $1 AND e.learner_id = t.id)`, tenantID, touched).
			QueryRow(func(row pgx.Row) error { return row.Scan(&rep.People) })
		b.Queue(`DELETE FROM learners l WHERE l.tenant_id = $1 AND l.id = ANY($2) AND NOT l.rostered
			AND NOT EXISTS (SELECT FROM learning_events e WHERE e.tenant_id = $1 AND e.learner_id = l.id)
			AND NOT EXISTS (SELECT FROM enrollments e WHERE e.tenant_id = $1 AND e.learner_id = l.id)
			AND NOT EXISTS (SELECT FROM enrollment_imports e WHERE e.tenant_id = $1 AND e.learner_id = l.id)
			AND NOT EXISTS (SELECT FROM compliance_assignments a WHERE a.tenant_id = $1 AND a.learner_id = l.id)
			AND NOT EXISTS (SELECT FROM learners r WHERE r.tenant_id = $1 AND r.manager_id = l.id)
			AND NOT EXISTS (SELECT FROM users u WHERE u.tenant_id = $1 AND u.learner_id = l.id)`, tenantID, touched).
			Exec(func(ct pgconn.CommandTag) error {
				rep.RemovedPeople = int(ct.RowsAffected())
				return nil
			})
		// Every learner has a row of gold_active_people; the removed ones no more.
		b.Queue(`DELETE FROM gold_active_people g WHERE g.tenant_id = $1 AND g.learner_id = ANY($2)
			AND NOT EXISTS (SELECT FROM learners l WHERE l.tenant_id = $1 AND l.id = g.learner_id)`, tenantID, touched)
		b.Queue(orphanCourses, tenantID, touchedCourses)
		b.Queue(`DELETE FROM xapi_documents WHERE tenant_id = $1 AND resource IN ('state', 'agent_profile') AND updated < $2`,
			tenantID, cutoff).Exec(func(ct pgconn.CommandTag) error {
			rep.Documents = int(ct.RowsAffected())
			return nil
		})
		queueDirectoryVersion(&b, tenantID, &version)
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("purge: %w", err)
		}
		if rep.Now, err = headline(ctx, tx, tenantID, today.Format(time.DateOnly)); err != nil {
			return err
		}
		if dryRun {
			return errPurgeDryRun
		}
		return nil
	})
	if errors.Is(err, errPurgeDryRun) {
		return rep, nil
	}
	if err != nil {
		return PurgeReport{}, err
	}
	p.committed(tenantID, version)
	return rep, nil
}
