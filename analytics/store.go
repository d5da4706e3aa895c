package analytics

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database"
)

// Store runs dashboard queries in tenant transactions: on the primary,
// or on the read replica when one is configured and has replayed the
// version the read must show (see UseReplica).
type Store struct {
	db      *database.DB
	replica *replicaReads // nil: every read on the primary
}

// NewStore returns a Store on db.
func NewStore(db *database.DB) *Store { return &Store{db: db} }

// Request is what every dashboard question starts from.
type Request struct {
	Tenant int64
	Loc    *time.Location // the tenant's time zone
	// Today is the tenant's local date the request is answered for; zero
	// means now's.
	Today   time.Time
	Viewer  Viewer
	Filters Filters
}

// Q is one request's open view of the data: its transaction, scope and
// filters. Section methods hang off it.
type Q struct {
	ctx    context.Context
	tx     pgx.Tx
	Scope  Scope
	Viewer Viewer
	F      Filters
	Loc    *time.Location
	Today  time.Time // the tenant's local date
	// AsOf is when the newest statement included was stored (zero if none).
	AsOf time.Time
	// Version is the tenant's gold version (0 before the first change).
	// The transaction is REPEATABLE READ: every section sees the same
	// snapshot as this version, so a result labelled with it is exactly
	// that version's numbers.
	Version int64
	// Directory is the tenant's directory version in the same snapshot
	// (directory_versions.version; 0 before the first change): what the
	// scope and the filter choices are read from.
	Directory int64

	memo memo
	// grouped reads the grouped gold tables only, never their roll-ups:
	// tests compare both.
	grouped bool
}

// memo keeps what several sections of one view read alike, for the
// filters it was read with.
type memo struct {
	completionDays memoized[[]dayCount]
	activity       memoized[[]activityBucket]
	complianceKPIs memoized[ComplianceKPIs]
}

// memoized is a value read for filters f.
type memoized[T any] struct {
	f   Filters
	ok  bool
	val T
}

// get returns the value read for the filters, or reads it with read.
func (m *memoized[T]) get(f Filters, read func() (T, error)) (T, error) {
	f = f.WithoutTable()
	if m.ok && m.f == f {
		return m.val, nil
	}
	v, err := read()
	if err == nil {
		m.f, m.ok, m.val = f, true, v
	}
	return v, err
}

// Today is the local date in loc, as a date at midnight UTC.
func Today(loc *time.Location) time.Time { return DateAt(time.Now(), loc) }

// DateAt is the local date in loc at instant t, as a date at midnight UTC.
func DateAt(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Run opens a read-only tenant transaction, resolves the viewer's scope
// (narrowed by the manager filter) and calls fn.
func (s *Store) Run(ctx context.Context, r Request, fn func(q *Q) error) error {
	return s.run(ctx, r, nil, fn)
}

// RunScoped is Run with a scope already resolved (by ResolveScope, for a
// viewer of the same tenant): views shared by several viewers are
// computed once for their common scope.
func (s *Store) RunScoped(ctx context.Context, r Request, scope Scope, fn func(q *Q) error) error {
	return s.run(ctx, r, &scope, fn)
}

// RunView is RunScoped for computing a view of the scope's people (a
// dashboard, a section, a table, a drill-down, the filter choices): the
// reads of a small scope then run on generic plans (Scope.genericPlans).
// Reads of the whole tenant's data that only serve the scope afterwards
// ("Activity now"'s recent events) use RunScoped, whose plans are made
// for their values.
func (s *Store) RunView(ctx context.Context, r Request, scope Scope, fn func(q *Q) error) error {
	scope.view = true
	return s.run(ctx, r, &scope, fn)
}

// ResolveScope resolves r's scope in a read-only transaction of its own,
// returning the tenant's directory version that transaction saw: the
// scope stands until that version changes. It reads on the primary (see
// RunDirectory).
func (s *Store) ResolveScope(ctx context.Context, r Request) (scope Scope, directory int64, err error) {
	err = s.readDirectory(ctx, r, nil, func(q *Q) error {
		scope, directory = q.Scope, q.Directory
		return nil
	})
	return scope, directory, err
}

// RunDirectory is RunView for a view read from the tenant's directory
// alone (the filter choices, a person's name), which is kept for the
// directory version it read (Q.Directory) rather than for a gold version.
// It reads on the primary: a replica is chosen for having replayed the
// gold version a read must show, and may be behind the directory version
// this instance already knows.
func (s *Store) RunDirectory(ctx context.Context, r Request, scope Scope, fn func(q *Q) error) error {
	scope.view = true
	return s.readDirectory(ctx, r, &scope, fn)
}

func (s *Store) run(ctx context.Context, r Request, scope *Scope, fn func(q *Q) error) error {
	if s.replica != nil {
		if done, err := s.replica.run(ctx, s, r, scope, fn); done {
			return err
		}
	}
	return s.onPrimary(ctx, r, scope, &readStart{}, fn)
}

// readDirectory is run for a read of the directory alone, on the
// primary: it reads the directory version but not gold's (Q.Version and
// Q.AsOf are zero).
func (s *Store) readDirectory(ctx context.Context, r Request, scope *Scope, fn func(q *Q) error) error {
	return s.onPrimary(ctx, r, scope, &readStart{directoryOnly: true}, fn)
}

// onPrimary reads on the primary, starting with start.
func (s *Store) onPrimary(ctx context.Context, r Request, scope *Scope, start *readStart, fn func(q *Q) error) error {
	return s.db.TenantSnapshotAnd(ctx, r.Tenant, start.queue(r, scope), func(tx pgx.Tx) error {
		return s.read(ctx, tx, r, scope, 0, start, fn)
	})
}

// readStart is what a read does first, in the round trip that opens its
// snapshot: its settings, and the tenant's gold and directory versions
// and "data as of".
type readStart struct {
	directoryOnly      bool // read the directory version only
	asOf               *time.Time
	version, directory int64
	err                error
}

// queue queues the start of a read of r's tenant for scope (nil: not yet
// resolved) on a new batch.
func (st *readStart) queue(r Request, scope *Scope) *pgx.Batch {
	var b pgx.Batch
	// Plans are made for this tenant's values each time, except for the
	// views of a small scope (RunView): a cached generic plan assumes an
	// average tenant, which a large one is not.
	// No parallel workers: each is a fresh process that maps every
	// buffer it reads anew, which made a 1M-statement tenant's scans
	// 2–4 times slower than one warm backend alone, and under load the
	// cores are busy with other computations anyway. No JIT: the
	// planner's row estimates for the team tree's and engagement's
	// per-node and per-person subqueries are far above the rows read,
	// which took them past jit_above_cost, and compiling took 0.25–5.4 s
	// for queries that run in milliseconds (docs/PERFORMANCE.md,
	// "Pre-aggregates"). set_config(…, true) is SET LOCAL.
	b.Queue(`SELECT set_config('plan_cache_mode', $1, true), set_config('work_mem', '32MB', true),
		set_config('max_parallel_workers_per_gather', '0', true), set_config('jit', 'off', true)`, planMode(scope))
	versions := `SELECT f.as_of, coalesce(f.version, 0), coalesce(d.version, 0) FROM (SELECT $1::bigint AS id) t
		LEFT JOIN gold_freshness f ON f.tenant_id = t.id LEFT JOIN directory_versions d ON d.tenant_id = t.id`
	if st.directoryOnly {
		versions = `SELECT NULL::timestamptz, 0::bigint, coalesce((SELECT version FROM directory_versions WHERE tenant_id = $1), 0)`
	}
	b.Queue(versions, r.Tenant).QueryRow(func(row pgx.Row) error {
		if err := row.Scan(&st.asOf, &st.version, &st.directory); err != nil {
			st.err = fmt.Errorf("read freshness: %w", err)
		}
		return nil
	})
	return &b
}

// read opens q on tx, a read-only snapshot scoped to r.Tenant that began
// with start's statements, and calls fn, unless the snapshot shows a gold
// version older than need: then it returns errBehind without calling fn.
func (s *Store) read(ctx context.Context, tx pgx.Tx, r Request, scope *Scope, need int64, start *readStart, fn func(q *Q) error) error {
	if start.err != nil {
		return start.err
	}
	asOf, version := start.asOf, start.version
	if version < need {
		return errBehind
	}
	if scope == nil {
		sc, err := ResolveScope(ctx, tx, r.Tenant, r.Viewer, r.Filters.Manager)
		if err != nil {
			return err
		}
		sc.directory = start.directory
		scope = &sc
	} else if scope.directory != start.directory {
		// The scope was resolved at another directory version (kept by
		// the result cache until this instance learns the new one): its
		// people are read again in this snapshot, so that the view is
		// exactly Root's people's as of its version.
		sc := *scope
		if err := sc.readPeople(ctx, tx); err != nil {
			return err
		}
		sc.directory = start.directory
		scope = &sc
	}
	today := r.Today
	if today.IsZero() {
		today = Today(r.Loc)
	}
	q := &Q{ctx: ctx, tx: tx, Scope: *scope, Viewer: r.Viewer, F: r.Filters, Loc: r.Loc, Today: today, Version: version, Directory: start.directory}
	if asOf != nil {
		q.AsOf = asOf.In(r.Loc)
	}
	return fn(q)
}

// planMode is the plan_cache_mode of the reads of scope (nil: not yet
// resolved).
func planMode(scope *Scope) string {
	if scope != nil && scope.view && scope.genericPlans() {
		return "force_generic_plan"
	}
	return "force_custom_plan"
}

// args are the scope's arguments plus today's date.
func (q *Q) args() pgx.NamedArgs { return q.Scope.args(pgx.NamedArgs{"today": q.Today}) }

// TablePage returns the page of table id (see Tables) for the filters.
func (q *Q) TablePage(id string, p Params) (Table, error) {
	tq, err := q.table(id, p)
	if err != nil {
		return Table{}, err
	}
	t, err := tq.page(q.ctx, q.tx, q.F)
	t.Loc = q.Loc
	return t, err
}

// TableStream calls emit for every row of table id, after head with the
// table's columns.
func (q *Q) TableStream(id string, p Params, head func(Table) error, emit func([]any) error) error {
	tq, err := q.table(id, p)
	if err != nil {
		return err
	}
	if _, _, _, err := tq.order(q.F); err != nil {
		return err
	}
	if err := head(Table{ID: tq.id, Columns: tq.columns, Loc: q.Loc}); err != nil {
		return err
	}
	return tq.stream(q.ctx, q.tx, q.F, emit)
}

// CheckTable fails as the table would (unknown table, ids out of scope,
// bad sort) without reading its rows.
func (q *Q) CheckTable(id string, p Params) error {
	tq, err := q.table(id, p)
	if err != nil {
		return err
	}
	_, _, _, err = tq.order(q.F)
	return err
}

// Params are the ids of a drill-down path, e.g. the course of a course's
// teams, and for a point-in-time section (the team tree) the day it is
// for.
type Params struct {
	Course, Team, Requirement, Learner int64
	// AsOf is the past day the team tree is read as of (ParseAsOf); zero
	// is today.
	AsOf time.Time
}

// tables builds each table of the dashboards by id.
var tables = map[string]func(q *Q, p Params) (tableQuery, error){}

func (q *Q) table(id string, p Params) (tableQuery, error) {
	build, ok := tables[id]
	if !ok {
		return tableQuery{}, ErrNotFound
	}
	return build(q, p)
}

// HasTable reports whether id names a table.
func HasTable(id string) bool { _, ok := tables[id]; return ok }

// TableIDs lists every table's id, sorted.
func TableIDs() []string { return slices.Sorted(maps.Keys(tables)) }

// one runs a query returning one row.
func (q *Q) one(sql string, args pgx.NamedArgs, dest ...any) error {
	if err := q.tx.QueryRow(q.ctx, sql, args).Scan(dest...); err != nil {
		return fmt.Errorf("%w\n%s", err, sql)
	}
	return nil
}

// exists is an ErrNotFound unless the query finds a row.
func (q *Q) exists(sql string, args pgx.NamedArgs) error {
	var ok bool
	if err := q.one(`SELECT EXISTS (`+sql+`)`, args, &ok); err != nil {
		return err
	}
	if !ok {
		return ErrNotFound
	}
	return nil
}

// CourseTitle names a course of the tenant, or ErrNotFound.
func (q *Q) CourseTitle(course int64) (string, error) {
	var title string
	err := q.tx.QueryRow(q.ctx, `SELECT coalesce(nullif(title, ''), activity_iri) FROM courses WHERE tenant_id = $1 AND id = $2`,
		q.Scope.Tenant, course).Scan(&title)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	return title, err
}

// PersonName names a learner (a team's manager, say); 0 is "No manager".
func (q *Q) PersonName(id int64) (string, error) {
	if id == 0 {
		return "No manager", nil
	}
	var name string
	err := q.tx.QueryRow(q.ctx, `SELECT coalesce(nullif(name, ''), email, employee_id, 'Learner ' || id) FROM learners WHERE tenant_id = $1 AND id = $2`,
		q.Scope.Tenant, id).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	return name, err
}

// Options are the values the filter bar offers. Managers are searched
// (SearchManagers), not listed: a large organisation has hundreds.
type Options struct {
	Departments, Locations, Categories []string
	Courses                            []Option
}

// Option is an id with its label.
type Option struct {
	ID    int64
	Label string
}

// FilterOptions lists the filter bar's choices within the scope.
func (q *Q) FilterOptions() (Options, error) {
	var o Options
	a := q.args()
	// One pass over the people in scope for both lists, hashed down to
	// their few (department, location) pairs before the lists are sorted:
	// sorting 90,000 names for array_agg(DISTINCT …) took 75 ms.
	err := q.one(`WITH g AS MATERIALIZED (SELECT l.department, l.location FROM learners l
			WHERE l.tenant_id = @tenant AND `+q.Scope.learnerCond("l")+` GROUP BY 1, 2)
		SELECT coalesce((SELECT array_agg(DISTINCT department) FROM g WHERE department <> ''), '{}'),
			coalesce((SELECT array_agg(DISTINCT location) FROM g WHERE location <> ''), '{}'),
			coalesce((SELECT array_agg(DISTINCT category ORDER BY category) FROM courses WHERE tenant_id = @tenant AND category <> ''), '{}')`,
		a, &o.Departments, &o.Locations, &o.Categories)
	if err != nil {
		return o, err
	}
	collect := func(sql string) ([]Option, error) {
		rows, err := q.tx.Query(q.ctx, sql, a)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Option, error) {
			var o Option
			return o, r.Scan(&o.ID, &o.Label)
		})
	}
	o.Courses, err = collect(`SELECT id, coalesce(nullif(title, ''), activity_iri) FROM courses WHERE tenant_id = @tenant ORDER BY 2 LIMIT 500`)
	return o, err
}
