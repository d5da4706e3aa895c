package pipeline

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/imports"
	"github.com/learnlens/learnlens/xapi"
)

// directoryVersion reads the tenant's directory version in a transaction
// of its own.
func (f *fixture) directoryVersion() int64 {
	f.t.Helper()
	ctx := context.Background()
	var v int64
	err := f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT coalesce((SELECT version FROM directory_versions WHERE tenant_id = $1), 0)`, f.tenantID).Scan(&v)
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

// TestDirectoryVersionFollowsWhatScopesRead: the directory version moves
// with every write that can change a viewer's scope or the filter bar's
// choices (a person a user signs in as, reporting lines, departments,
// names, courses), and only with those: statements from known people on
// known courses, and from new people nobody signs in as, leave it alone,
// so that scopes and choices outlast steady ingest. Each change calls the
// OnDirectoryCommit hook with the committed version and is announced on
// learnlens_directory once, at commit, with its final value.
func TestDirectoryVersionFollowsWhatScopesRead(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	ctx := context.Background()
	conn, err := f.db.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	if _, err := conn.Exec(ctx, `LISTEN learnlens_directory`); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var hooks []string
	f.p.OnDirectoryCommit(func(tenant, version int64) {
		mu.Lock()
		defer mu.Unlock()
		hooks = append(hooks, fmt.Sprintf("%d:%d", tenant, version))
	})
	notifications := func() []string {
		var out []string
		for wait := 300 * time.Millisecond; ; wait = 100 * time.Millisecond {
			c, cancel := context.WithTimeout(ctx, wait)
			n, err := conn.WaitForNotification(c)
			cancel()
			if err != nil {
				return out
			}
			out = append(out, n.Payload)
		}
	}
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	n := 0
	send := func(actor, course string) func() {
		return func() {
			n++
			f.send(fmt.Sprintf(`{"id":"00000000-0000-4000-8000-%012d","actor":{"mbox":"mailto:%s"},"verb":{"id":%q},"object":{"id":%q},"timestamp":%q}`,
				n, actor, xapi.VerbLaunched, course, day.Format(time.RFC3339)))
		}
	}
	importFile := func(kind imports.Kind, csv string) func() { return func() { f.importCSV(kind, csv) } }
	admin := superuser(t, f)
	if _, err := admin.ExecContext(ctx, `INSERT INTO users (tenant_id, email, name, role, password_hash)
		VALUES ($1, 'new.manager@t.test', 'New Manager', 'manager', 'x')`, f.tenantID); err != nil {
		t.Fatal(err)
	}
	var person3 int64
	if err := admin.QueryRowContext(ctx, `SELECT id FROM learners WHERE tenant_id = $1 AND email = 'p3@t.test'`, f.tenantID).Scan(&person3); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		do      func()
		changes bool
	}{
		{"statements of known people on known courses", func() {
			f.send(statement("00000000-0000-4000-8000-100000000001", 1, xapi.VerbLaunched, courseIRIs[0], day, ""),
				statement("00000000-0000-4000-8000-100000000002", 2, xapi.VerbCompleted, courseIRIs[1], day, ""))
		}, false},
		{"a new person nobody signs in as", send("stranger@t.test", courseIRIs[0]), false},
		{"a new person a user signs in as", send("new.manager@t.test", courseIRIs[0]), true},
		{"a new course", send("p1@t.test", "https://lms.t.test/courses/brand-new"), true},
		{"the same catalog again", importFile(imports.KindCourses, "code,title,category\nGO,Go Basics,Technical\n"), false},
		{"a course's new title", importFile(imports.KindCourses, "code,title,category\nGO,Go Fundamentals,Technical\n"), true},
		{"the same roster again", importFile(imports.KindRoster, rosterCSV(5, nil)), false},
		{"a move in the roster", importFile(imports.KindRoster, rosterCSV(5, map[int]int{5: 2})), true},
		{"a pseudonymisation", func() {
			if _, err := f.p.Pseudonymise(ctx, f.tenantID, person3); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	version := f.directoryVersion()
	if version == 0 {
		t.Fatal("no directory version after the fixture's roster and catalog")
	}
	notifications()
	mu.Lock()
	hooks = nil
	mu.Unlock()
	for _, s := range steps {
		s.do()
		got := f.directoryVersion()
		payloads := notifications()
		mu.Lock()
		called := hooks
		hooks = nil
		mu.Unlock()
		if !s.changes {
			if got != version || len(called) != 0 || len(payloads) != 0 {
				t.Errorf("%s: directory version %d → %d, hook calls %v, notifications %q; want no change", s.name, version, got, called, payloads)
			}
			continue
		}
		if got <= version {
			t.Errorf("%s: directory version %d → %d, want it higher", s.name, version, got)
		}
		version = got
		want := fmt.Sprintf("%d:%d", f.tenantID, got)
		if strings.Join(payloads, ",") != want || strings.Join(called, ",") != want {
			t.Errorf("%s: notifications %q and hook calls %v, want one of each: %q", s.name, payloads, called, want)
		}
	}
}
