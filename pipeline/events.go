package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/xapi"
)

// event is what one statement means for learning, before its learner and
// course are resolved to ids.
type event struct {
	stmt          int // index in the batch
	actorKey      string
	email         string
	accountName   string
	actorName     string
	courseIRIs    []string // candidates: the first that is a known course wins
	fallbackIRI   string   // the course to create when none is known
	courseTitle   string
	kind          string
	ts            time.Time
	scaled        *float64
	success       *bool
	durationMs    int64
	interactionID *string
	response      *string
}

// verbKinds maps xAPI verbs to what they mean for a learner's progress in a
// course (docs/DATA-MODEL.md lists them).
var verbKinds = map[string]string{
	xapi.VerbRegistered:  "enroll",
	xapi.VerbLaunched:    "start",
	xapi.VerbInitialized: "start",
	xapi.VerbProgressed:  "activity",
	xapi.VerbExperienced: "activity",
	xapi.VerbAttempted:   "activity",
	xapi.VerbTerminated:  "activity",
	xapi.VerbAnswered:    "activity",
	xapi.VerbCompleted:   "complete",
	xapi.VerbPassed:      "pass",
	xapi.VerbFailed:      "fail",
	xapi.VerbScored:      "score",
}

// questionTypes are activity types whose statements belong to the course
// that contains them rather than being courses themselves.
var questionTypes = map[string]bool{
	xapi.ActivityTypeInteraction:                   true,
	"http://adlnet.gov/expapi/activities/question": true,
}

// mapStatement says what a statement means for learning; ok is false for
// statements that are about no activity (voiding, agents, statement refs).
func mapStatement(i int, s xapi.Statement) (event, bool) {
	if s.ObjectType != "Activity" || s.Voids != "" || s.Actor.Key() == "" {
		return event{}, false
	}
	e := event{
		stmt:        i,
		actorKey:    s.Actor.Key(),
		email:       s.Actor.Email(),
		accountName: s.Actor.AccountName,
		actorName:   s.Actor.Name,
		kind:        verbKinds[s.VerbID],
		ts:          s.Timestamp,
	}
	if e.kind == "" {
		e.kind = "activity"
	}
	question := questionTypes[s.ActivityType] || s.InteractionType != ""
	parents := append(append([]string(nil), s.ContextActivities["grouping"]...), s.ContextActivities["parent"]...)
	if question {
		e.kind = "interaction"
		id := s.ObjectID
		e.interactionID = &id
		e.courseIRIs = parents
		e.fallbackIRI = s.ObjectID
		if len(s.ContextActivities["parent"]) > 0 {
			e.fallbackIRI = s.ContextActivities["parent"][0]
		} else if len(parents) > 0 {
			e.fallbackIRI = parents[0]
		}
	} else {
		e.courseIRIs = append([]string{s.ObjectID}, parents...)
		e.fallbackIRI = s.ObjectID
		e.courseTitle = languageValue(s.ActivityName)
	}
	if r := s.Result; r != nil {
		e.scaled, e.success = r.Scaled, r.Success
		if r.HasDuration {
			e.durationMs = r.Duration.Milliseconds()
		}
		if r.Response != "" && question {
			resp := r.Response
			e.response = &resp
		}
		if r.Completion != nil && *r.Completion && (e.kind == "activity" || e.kind == "start") {
			e.kind = "complete"
		}
	}
	return e, true
}

// languageValue picks a display string from a language map: English first,
// then any, deterministically.
func languageValue(m map[string]string) string {
	for _, tag := range []string{"en-US", "en-GB", "en", "und"} {
		if v := m[tag]; v != "" {
			return v
		}
	}
	best := ""
	for tag := range m {
		if best == "" || tag < best {
			best = tag
		}
	}
	return m[best]
}

// eventInsert maps a batch's fresh statements to learning events and stores
// them, resolving (and where needed creating) their learners and courses.
//
// When every learner and course is known, the events are stored before the
// tenant's pipeline lock is taken, so one batch's inserts overlap another's
// silver and gold work; confirm then checks under the lock that nothing they
// were derived from changed meanwhile. A batch that must create learners
// or courses stores its events under the lock.
type eventInsert struct {
	tenantID int64
	evs      []event
	sids     []string
	learners *learnerLookup
	courses  *courseLookup
	voided   map[string]bool // statements voided before their events were stored
	tz       string          // the time zone the events were stored with
	importID int64           // the tenant's latest import when they were
	stored   []eventRow      // the stored events that count (not voided)

	voidedNow   map[string]bool // read under the lock (queueConfirm)
	importIDNow int64
}

func newEventInsert(tenantID int64, ss []xapi.Statement, fresh []int) *eventInsert {
	e := &eventInsert{tenantID: tenantID}
	for _, i := range fresh {
		if ev, ok := mapStatement(i, ss[i]); ok {
			e.evs = append(e.evs, ev)
			e.sids = append(e.sids, ss[i].ID)
		}
	}
	return e
}

// lookup reads, in one round trip, the events' learners and courses and
// which of their statements are voided; before the lock (early) also the
// tenant's time zone and latest import.
func (e *eventInsert) lookup(ctx context.Context, tx pgx.Tx, early bool) error {
	var b pgx.Batch
	e.learners = queueLearnerLookup(&b, e.tenantID, e.evs)
	e.courses = queueCourseLookup(&b, e.tenantID, e.evs)
	e.voided = map[string]bool{}
	queueVoidedLookup(&b, e.tenantID, e.sids, e.voided)
	if early {
		b.Queue(`SELECT time_zone FROM tenants WHERE id = $1`, e.tenantID).QueryRow(func(row pgx.Row) error {
			return row.Scan(&e.tz)
		})
		queueLatestImport(&b, e.tenantID, &e.importID)
	}
	err := tx.SendBatch(ctx, &b).Close()
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrTenantMissing
	}
	if err != nil {
		return fmt.Errorf("look up learners, courses and voided statements: %w", err)
	}
	return nil
}

// queueVoidedLookup queues on b the lookup of which of sids are voided.
func queueVoidedLookup(b *pgx.Batch, tenantID int64, sids []string, into map[string]bool) {
	b.Queue(`SELECT statement_id::text FROM xapi_voided
		WHERE tenant_id = $1 AND statement_id = ANY($2::text[]::uuid[])`, tenantID, sids).Query(func(rows pgx.Rows) error {
		var id string
		_, err := pgx.ForEachRow(rows, []any{&id}, func() error {
			into[id] = true
			return nil
		})
		return err
	})
}

// queueLatestImport queues on b the id of the tenant's latest import
// file: roster imports change the org data events are stamped with.
func queueLatestImport(b *pgx.Batch, tenantID int64, into *int64) {
	b.Queue(`SELECT coalesce(max(id), 0) FROM import_files WHERE tenant_id = $1`, tenantID).QueryRow(func(row pgx.Row) error {
		return row.Scan(into)
	})
}

// known says whether every learner and course of the events exists.
func (e *eventInsert) known() bool {
	for _, key := range e.learners.keys {
		if _, ok := e.learners.ids[key]; !ok {
			return false
		}
	}
	for _, ev := range e.evs {
		if !e.courses.knowsOneOf(ev) {
			return false
		}
	}
	return true
}

// split divides the looked-up events into those whose learner and course
// are known, which may be stored before the lock (known's lookups are
// e's), and the rest, which create learners or courses and are looked up
// and stored under it (late). A customer's batch names a few new people
// among many known ones: most of its events still go in before the lock.
func (e *eventInsert) split() (known, late *eventInsert) {
	known = &eventInsert{tenantID: e.tenantID, voided: e.voided, tz: e.tz, importID: e.importID,
		learners: &learnerLookup{tenantID: e.tenantID, byKey: map[string]event{}, ids: e.learners.ids}}
	late = &eventInsert{tenantID: e.tenantID}
	for j, ev := range e.evs {
		if _, ok := e.learners.ids[ev.actorKey]; ok && e.courses.knowsOneOf(ev) {
			known.evs, known.sids = append(known.evs, ev), append(known.sids, e.sids[j])
			if _, ok := known.learners.byKey[ev.actorKey]; !ok {
				known.learners.byKey[ev.actorKey] = ev
				known.learners.keys = append(known.learners.keys, ev.actorKey)
			}
		} else {
			late.evs, late.sids = append(late.evs, ev), append(late.sids, e.sids[j])
		}
	}
	known.courses = &courseLookup{tenantID: e.tenantID, evs: known.evs, known: e.courses.known}
	return known, late
}

// store creates what is missing and stores the events in time zone tz.
func (e *eventInsert) store(ctx context.Context, tx pgx.Tx, tz string) error {
	if err := e.learners.createMissing(ctx, tx); err != nil {
		return err
	}
	cids, err := e.courses.resolve(ctx, tx)
	if err != nil {
		return err
	}
	n := len(e.evs)
	kinds := make([]string, n)
	lids := make([]int64, n)
	ts := make([]time.Time, n)
	scaled, durs := make([]*float64, n), make([]int64, n)
	success := make([]*bool, n)
	iids, resps := make([]*string, n), make([]*string, n)
	voided := make([]bool, n)
	for j, ev := range e.evs {
		kinds[j], lids[j] = ev.kind, e.learners.ids[ev.actorKey]
		ts[j], scaled[j], success[j], durs[j] = ev.ts, ev.scaled, ev.success, ev.durationMs
		iids[j], resps[j] = ev.interactionID, ev.response
		voided[j] = e.voided[e.sids[j]]
	}
	rows, err := tx.Query(ctx, insertEventsSQL, e.tenantID, e.sids, lids, cids, kinds, ts, scaled, success, durs, iids, resps, tz, voided)
	if err != nil {
		return fmt.Errorf("insert learning events: %w", err)
	}
	defer rows.Close()
	e.stored = e.stored[:0]
	for rows.Next() {
		var ev eventRow
		var wasVoided bool
		if err := rows.Scan(ev.dest(&ev.statementID, &wasVoided)...); err != nil {
			return err
		}
		if !wasVoided { // voided before it arrived: it changes nothing
			e.stored = append(e.stored, ev)
		}
	}
	return rows.Err()
}

// queueConfirm queues on b, to run under the lock, what confirm needs.
func (e *eventInsert) queueConfirm(b *pgx.Batch) {
	e.voidedNow = map[string]bool{}
	queueLatestImport(b, e.tenantID, &e.importIDNow)
	queueVoidedLookup(b, e.tenantID, e.sids, e.voidedNow)
}

// confirm runs under the lock, after queueConfirm's statements, for events
// stored before it. They stand if the time zone and the org data they were
// derived from did not change meanwhile (an import committed since); a
// statement voided meanwhile has its event voided here. Otherwise the
// events are deleted and confirm returns false, to store them again under
// the lock.
func (e *eventInsert) confirm(ctx context.Context, tx pgx.Tx, tz string) (bool, error) {
	voidedNow, importID := e.voidedNow, e.importIDNow
	if tz != e.tz || importID != e.importID {
		_, err := tx.Exec(ctx, `DELETE FROM learning_events WHERE tenant_id = $1 AND statement_id = ANY($2::text[]::uuid[])`, e.tenantID, e.sids)
		return false, err
	}
	var late []string
	for id := range voidedNow {
		if !e.voided[id] {
			late = append(late, id)
		}
	}
	if len(late) == 0 {
		return true, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE learning_events SET voided = true
		WHERE tenant_id = $1 AND statement_id = ANY($2::text[]::uuid[])`, e.tenantID, late); err != nil {
		return false, fmt.Errorf("void learning events: %w", err)
	}
	e.stored = slices.DeleteFunc(e.stored, func(ev eventRow) bool { return voidedNow[ev.statementID] })
	return true, nil
}

// collect adds the stored events to k.
func (e *eventInsert) collect(k *keys) {
	for _, ev := range e.stored {
		k.addPair(ev.learner, ev.course)
		k.events = append(k.events, signed[eventRow]{ev, +1})
	}
}

// insertEventsSQL stores learning events with the learner's org data on the
// day of the event.
const insertEventsSQL = `
INSERT INTO learning_events (tenant_id, statement_id, learner_id, course_id, kind, ts, day, scaled, success,
    duration_ms, interaction_id, response, manager_at, department_at, voided)
SELECT $1, u.sid::uuid, u.lid, u.cid, u.kind, u.ts, (u.ts AT TIME ZONE $12)::date, u.scaled, u.success,
    u.dur, u.iid, u.resp, h.manager_id, coalesce(h.department, ''), u.voided
FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::timestamptz[], $7::float8[], $8::bool[],
    $9::bigint[], $10::text[], $11::text[], $13::bool[]) AS u(sid, lid, cid, kind, ts, scaled, success, dur, iid, resp, voided)
LEFT JOIN LATERAL (
    SELECT manager_id, department FROM learner_history h
    WHERE h.tenant_id = $1 AND h.learner_id = u.lid
      AND h.valid_from <= (u.ts AT TIME ZONE $12)::date AND (u.ts AT TIME ZONE $12)::date < h.valid_to
    ORDER BY h.valid_from DESC LIMIT 1) h ON true
RETURNING ` + eventCols + `, statement_id::text, voided`

// learnerLookup resolves the actor keys of a batch's events to learners,
// matching an unknown key to a rostered learner by email (mbox) or
// employee id (account name), else creating an unrostered learner.
type learnerLookup struct {
	tenantID int64
	byKey    map[string]event
	keys     []string
	ids      map[string]int64
}

// queueLearnerLookup queues on b the lookup of the events' known actor
// keys.
func queueLearnerLookup(b *pgx.Batch, tenantID int64, evs []event) *learnerLookup {
	l := &learnerLookup{tenantID: tenantID, byKey: map[string]event{}, ids: map[string]int64{}}
	for _, e := range evs {
		if _, ok := l.byKey[e.actorKey]; !ok {
			l.byKey[e.actorKey] = e
			l.keys = append(l.keys, e.actorKey)
		}
	}
	b.Queue(`SELECT actor_key, learner_id FROM learner_identities
		WHERE tenant_id = $1 AND actor_key = ANY($2)`, tenantID, l.keys).Query(func(rows pgx.Rows) error {
		var key string
		var id int64
		_, err := pgx.ForEachRow(rows, []any{&key, &id}, func() error {
			l.ids[key] = id
			return nil
		})
		return err
	})
	return l
}

// createMissing resolves the keys the lookup did not find, in one round
// trip; each statement sees the learners the ones before it created (two
// keys may share an email).
func (l *learnerLookup) createMissing(ctx context.Context, tx pgx.Tx) error {
	var b pgx.Batch
	for _, key := range l.keys {
		if _, ok := l.ids[key]; ok {
			continue
		}
		e := l.byKey[key]
		name := e.actorName
		if name == "" {
			name = e.email
		}
		b.Queue(identifyLearner, l.tenantID, e.email, e.accountName, name, key).QueryRow(func(row pgx.Row) error {
			var id int64
			if err := row.Scan(&id); err != nil {
				return fmt.Errorf("resolve learner %s: %w", key, err)
			}
			l.ids[key] = id
			return nil
		})
	}
	if b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, &b).Close()
}

// identifyLearner records actor key $5 as the learner whose email is $2
// (mbox) or whose employee id is $3 (account name), the email winning,
// else as a new unrostered learner named $4 (never active yet: its row of
// gold_active_people has no days).
const identifyLearner = `
WITH found AS (
    SELECT id FROM learners WHERE tenant_id = $1
      AND (($2 <> '' AND email = $2) OR ($3 <> '' AND employee_id = $3))
    ORDER BY coalesce(email = $2, false) DESC LIMIT 1
), created AS (
    INSERT INTO learners (tenant_id, email, name, rostered)
    SELECT $1, nullif($2, ''), $4, false WHERE NOT EXISTS (SELECT FROM found)
    RETURNING id
), never AS (
    INSERT INTO gold_active_people (tenant_id, learner_id) SELECT $1, id FROM created
)
INSERT INTO learner_identities (tenant_id, actor_key, learner_id)
SELECT $1, $5, id FROM found UNION ALL SELECT $1, $5, id FROM created
RETURNING learner_id`

// courseLookup resolves each event's course, creating uncatalogued
// courses for activities not seen before.
type courseLookup struct {
	tenantID int64
	evs      []event
	iris     []string
	known    map[string]int64
}

// queueCourseLookup queues on b the lookup of every course the events may
// belong to.
func queueCourseLookup(b *pgx.Batch, tenantID int64, evs []event) *courseLookup {
	c := &courseLookup{tenantID: tenantID, evs: evs, known: map[string]int64{}}
	seen := map[string]bool{}
	for _, e := range evs {
		for _, iri := range append(e.courseIRIs, e.fallbackIRI) {
			if !seen[iri] {
				seen[iri] = true
				c.iris = append(c.iris, iri)
			}
		}
	}
	b.Queue(courseIDsSQL, tenantID, c.iris).Query(c.scan)
	return c
}

const courseIDsSQL = `SELECT activity_iri, id FROM courses WHERE tenant_id = $1 AND activity_iri = ANY($2)`

func (c *courseLookup) scan(rows pgx.Rows) error {
	var iri string
	var id int64
	_, err := pgx.ForEachRow(rows, []any{&iri, &id}, func() error {
		c.known[iri] = id
		return nil
	})
	return err
}

// knowsOneOf says whether the course of ev is known, i.e. resolve would
// not create it.
func (c *courseLookup) knowsOneOf(ev event) bool {
	for _, iri := range ev.courseIRIs {
		if _, ok := c.known[iri]; ok {
			return true
		}
	}
	_, ok := c.known[ev.fallbackIRI]
	return ok
}

// resolve returns each event's course id (by position): the first of its
// candidates that is a known course, else its fallback, created if new.
func (c *courseLookup) resolve(ctx context.Context, tx pgx.Tx) ([]int64, error) {
	created := map[string]bool{}
	var missing, titles []string
	picked := make([]string, len(c.evs))
	for j, e := range c.evs {
		picked[j] = e.fallbackIRI
		for _, iri := range e.courseIRIs {
			if _, ok := c.known[iri]; ok {
				picked[j] = iri
				break
			}
		}
		if _, ok := c.known[picked[j]]; !ok && !created[picked[j]] {
			created[picked[j]] = true
			missing = append(missing, picked[j])
			title := e.courseTitle
			if picked[j] != e.fallbackIRI || title == "" {
				title = lastSegment(picked[j])
			}
			titles = append(titles, title)
		}
	}
	if len(missing) > 0 {
		var b pgx.Batch
		b.Queue(`INSERT INTO courses (tenant_id, activity_iri, title)
			SELECT $1, iri, title FROM unnest($2::text[], $3::text[]) AS u(iri, title)
			ON CONFLICT (tenant_id, activity_iri) DO NOTHING`, c.tenantID, missing, titles)
		b.Queue(courseIDsSQL, c.tenantID, missing).Query(c.scan)
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return nil, fmt.Errorf("create courses: %w", err)
		}
	}
	out := make([]int64, len(c.evs))
	for j := range c.evs {
		out[j] = c.known[picked[j]]
	}
	return out, nil
}

func lastSegment(iri string) string {
	iri = strings.TrimRight(iri, "/")
	if i := strings.LastIndexAny(iri, "/:#"); i >= 0 && i < len(iri)-1 {
		return iri[i+1:]
	}
	return iri
}
