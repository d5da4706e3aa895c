package pipeline

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/imports"
)

// TestRequirementChangesKeepGoldExactAndAnnounceVersions: creating,
// editing, retiring and restoring a requirement each leave gold equal to a
// rebuild, commit the next gold version and call the OnCommit hook, and
// assign exactly the people the preview counted; refused changes (a clash,
// retiring twice, an unknown course) change nothing and announce nothing.
func TestRequirementChangesKeepGoldExactAndAnnounceVersions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 12)
	w := watchVersions(f)
	ctx := context.Background()
	var goID, secID int64
	if err := f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT id FROM courses WHERE tenant_id = $1 AND code = 'SEC'`, f.tenantID).Scan(&secID); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT id FROM courses WHERE tenant_id = $1 AND code = 'GO'`, f.tenantID).Scan(&goID)
	}); err != nil {
		t.Fatal(err)
	}
	assigned := func(id int64) (n int64) {
		f.db.TenantTx(ctx, f.tenantID, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT count(*) FROM compliance_assignments WHERE tenant_id = $1 AND requirement_id = $2`,
				f.tenantID, id).Scan(&n)
		})
		return n
	}

	sales := Requirement{CourseID: goID, Audience: imports.Audience{Department: "Sales"}, DueDays: 30, DueFrom: "hire"}
	everyone := sales
	everyone.Audience = imports.Audience{All: true}
	var id int64
	steps := []struct {
		name    string
		do      func() error
		preview *Requirement // when set, the preview must count what the step assigns
		want    error        // a refusal: nothing changes
	}{
		{"create", func() (err error) {
			id, err = f.p.CreateRequirement(ctx, f.tenantID, sales)
			everyone.ID = id
			return err
		}, &sales, nil},
		{"clash on create", func() error { _, err := f.p.CreateRequirement(ctx, f.tenantID, sales); return err }, nil, &RequirementClash{}},
		{"unknown course", func() error {
			r := sales
			r.CourseID = -1
			_, err := f.p.CreateRequirement(ctx, f.tenantID, r)
			return err
		}, nil, ErrCourseMissing},
		{"edit to everyone", func() error { return f.p.UpdateRequirement(ctx, f.tenantID, everyone) }, &everyone, nil},
		{"edit into the import's course and audience", func() error {
			r := everyone
			r.CourseID = secID
			return f.p.UpdateRequirement(ctx, f.tenantID, r)
		}, nil, &RequirementClash{}},
		{"retire", func() error { return f.p.RetireRequirement(ctx, f.tenantID, id, true) }, nil, nil},
		{"retire again", func() error { return f.p.RetireRequirement(ctx, f.tenantID, id, true) }, nil, ErrRequirementMissing},
		{"restore", func() error { return f.p.RetireRequirement(ctx, f.tenantID, id, false) }, &everyone, nil},
	}
	version := w.version()
	w.takeHooks()
	w.notifications(200 * time.Millisecond)
	for _, s := range steps {
		var pv RequirementPreview
		if s.preview != nil {
			var err error
			if pv, err = f.p.PreviewRequirement(ctx, f.tenantID, *s.preview); err != nil {
				t.Fatal(err)
			}
		}
		err := s.do()
		got, hooks := w.version(), w.takeHooks()
		if s.want != nil {
			var clash *RequirementClash
			if !errors.Is(err, s.want) && !(errors.As(s.want, &clash) && errors.As(err, &clash)) {
				t.Errorf("%s: error %v, want %v", s.name, err, s.want)
			}
			if got != version || len(hooks) != 0 {
				t.Errorf("%s was refused, yet: version %d → %d, hooks %v", s.name, version, got, hooks)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got != version+1 || len(hooks) != 1 {
			t.Errorf("%s: version %d → %d, hooks %v; want the next version, announced once", s.name, version, got, hooks)
		}
		version = got
		f.assertGoldEqualsRebuild(s.name)
		if s.name == "retire" && assigned(id) != 0 {
			t.Errorf("retired, the requirement still has %d people", assigned(id))
		}
		if s.preview != nil && assigned(id) != pv.People {
			t.Errorf("%s: the preview counted %d people, %d were assigned", s.name, pv.People, assigned(id))
		}
	}
	if n := assigned(id); n != 12 {
		t.Errorf("the restored requirement for everyone has %d people, want 12", n)
	}
}
