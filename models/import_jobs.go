package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
)

// Import job states. A file is staged on upload, runs when applied, and
// ends done (import_files holds what it did) or failed.
const (
	ImportStaged  = "staged"
	ImportRunning = "running"
	ImportDone    = "done"
	ImportFailed  = "failed"
)

// ImportStaleAfter is how long a running import may go without a heartbeat
// before it is taken for dead (its instance stopped) and shown as failed.
// A running import beats every second or so.
const ImportStaleAfter = 30 * time.Second

// ImportStagedTTL is how long a staged upload that was never applied is
// kept.
const ImportStagedTTL = 24 * time.Hour

// ErrImportNotStaged means an import was asked to start that is already
// running or finished.
var ErrImportNotStaged = errors.New("the import is not waiting to be applied")

// ImportJob is an uploaded import file on its way through the imports page:
// staged, running or finished. A finished job's results are its
// import_files row's.
type ImportJob struct {
	ID          int64
	Kind        string
	Filename    string
	Mode        string
	CreatedAt   time.Time
	CreatedBy   string
	State       string
	RowsTotal   int // data rows of the file
	RowsDone    int // rows applied so far (the final count once done)
	DryRun      json.RawMessage
	StartedAt   *time.Time
	HeartbeatAt *time.Time
	FinishedAt  *time.Time
	FileID      *int64 // the import_files row of a finished job
	Error       string
	// From the import_files row of a finished job.
	Outcome     string // "applied" or "refused"
	RowsApplied int
	Errors      int
}

// ImportJobStore keeps tenants' import jobs.
type ImportJobStore struct{ db *database.DB }

// NewImportJobStore returns an ImportJobStore on db.
func NewImportJobStore(db *database.DB) *ImportJobStore { return &ImportJobStore{db: db} }

// importJobColumns reads a job with its import_files results (j, f).
const importJobColumns = `j.id, j.kind, j.filename, j.mode, j.created_at, j.created_by, j.state, j.rows_total, j.rows_done,
	j.dry_run, j.started_at, j.heartbeat_at, j.finished_at, j.import_file_id AS file_id, j.error,
	coalesce(f.outcome, '') AS outcome, coalesce(f.rows_applied, 0) AS rows_applied,
	coalesce(jsonb_array_length(f.report), 0) AS errors
FROM import_jobs j LEFT JOIN import_files f ON f.tenant_id = j.tenant_id AND f.id = j.import_file_id`

// Stage keeps an uploaded file for its preview, dry run and apply, and
// deletes the tenant's staged files older than ImportStagedTTL.
func (s *ImportJobStore) Stage(ctx context.Context, tenantID int64, kind, filename, mode, by string, rows int, content []byte) (int64, error) {
	var id int64
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		if err := tx.Exec(`DELETE FROM import_jobs WHERE tenant_id = ? AND state = 'staged' AND created_at < now() - ?::interval`,
			tenantID, ImportStagedTTL.String()).Error; err != nil {
			return err
		}
		return tx.Raw(`INSERT INTO import_jobs (tenant_id, kind, filename, mode, created_by, rows_total, content)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, tenantID, kind, filename, mode, by, rows, content).Scan(&id).Error
	})
	return id, err
}

// Get returns job id of tenantID, or ErrNotFound.
func (s *ImportJobStore) Get(ctx context.Context, tenantID, id int64) (ImportJob, error) {
	var j ImportJob
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		if err := expireImports(tx, tenantID); err != nil {
			return err
		}
		return tx.Raw(`SELECT `+importJobColumns+` WHERE j.tenant_id = ? AND j.id = ?`, tenantID, id).Take(&j).Error
	})
	return j, notFound(err)
}

// List returns the tenant's imports that were applied or tried, newest
// first.
func (s *ImportJobStore) List(ctx context.Context, tenantID int64, limit int) ([]ImportJob, error) {
	var js []ImportJob
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		if err := expireImports(tx, tenantID); err != nil {
			return err
		}
		return tx.Raw(`SELECT `+importJobColumns+` WHERE j.tenant_id = ? AND j.state <> 'staged'
			ORDER BY j.created_at DESC, j.id DESC LIMIT ?`, tenantID, limit).Scan(&js).Error
	})
	return js, err
}

// expireImports marks the tenant's running imports whose heartbeat stopped
// as failed.
func expireImports(tx *gorm.DB, tenantID int64) error {
	return tx.Exec(`UPDATE import_jobs SET state = 'failed', finished_at = now(),
			error = 'the server applying it stopped before it finished; nothing of it was applied'
		WHERE tenant_id = ? AND state = 'running' AND heartbeat_at < now() - ?::interval`,
		tenantID, ImportStaleAfter.String()).Error
}

// Content returns the file of job id as uploaded: staged, or kept in
// bronze once applied.
func (s *ImportJobStore) Content(ctx context.Context, tenantID, id int64) (filename string, data []byte, err error) {
	var row struct {
		Filename string
		Data     []byte
	}
	err = s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT j.filename, coalesce(j.content, f.content) AS data FROM import_jobs j
			LEFT JOIN import_files f ON f.tenant_id = j.tenant_id AND f.id = j.import_file_id
			WHERE j.tenant_id = ? AND j.id = ?`, tenantID, id).Take(&row).Error
	})
	if err == nil && row.Data == nil {
		err = ErrNotFound
	}
	return row.Filename, row.Data, notFound(err)
}

// Report returns the error report of finished job id as stored in bronze
// (a JSON array of imports.RowError), or ErrNotFound.
func (s *ImportJobStore) Report(ctx context.Context, tenantID, id int64) (json.RawMessage, error) {
	var report []byte
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT f.report FROM import_jobs j JOIN import_files f ON f.tenant_id = j.tenant_id AND f.id = j.import_file_id
			WHERE j.tenant_id = ? AND j.id = ?`, tenantID, id).Row().Scan(&report)
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	return report, notFound(err)
}

// SaveDryRun keeps the report of a staged job's dry run (JSON).
func (s *ImportJobStore) SaveDryRun(ctx context.Context, tenantID, id int64, report []byte) error {
	return s.updateJob(ctx, tenantID, id, `state = 'staged'`, `dry_run = ?`, report)
}

// Start marks staged job id running; ErrImportNotStaged if it is not
// staged (already applied, say, from another tab).
func (s *ImportJobStore) Start(ctx context.Context, tenantID, id int64) error {
	err := s.updateJob(ctx, tenantID, id, `state = 'staged'`, `state = 'running', started_at = now(), heartbeat_at = now()`)
	if errors.Is(err, ErrNotFound) {
		if _, gerr := s.Get(ctx, tenantID, id); gerr == nil {
			return ErrImportNotStaged
		}
	}
	return err
}

// Beat records that running job id is alive and has applied rowsDone rows.
func (s *ImportJobStore) Beat(ctx context.Context, tenantID, id int64, rowsDone int) error {
	return s.updateJob(ctx, tenantID, id, `state = 'running'`, `heartbeat_at = now(), rows_done = ?`, rowsDone)
}

// Finish records that job id was applied as import_files row fileID, and
// drops its staged copy (bronze keeps the file). It holds even over a
// failure that a reader inferred from a late heartbeat: the import did
// commit.
func (s *ImportJobStore) Finish(ctx context.Context, tenantID, id, fileID int64, applied int) error {
	return s.updateJob(ctx, tenantID, id, `state <> 'done'`,
		`state = 'done', finished_at = now(), import_file_id = ?, rows_done = ?, content = NULL, error = ''`, fileID, applied)
}

// Fail records that job id could not be applied, and why.
func (s *ImportJobStore) Fail(ctx context.Context, tenantID, id int64, reason string) error {
	return s.updateJob(ctx, tenantID, id, `state IN ('staged', 'running')`, `state = 'failed', finished_at = now(), error = ?`, reason)
}

// updateJob sets set on job id of tenantID when it is in the state where
// says; ErrNotFound when there is no such job in that state.
func (s *ImportJobStore) updateJob(ctx context.Context, tenantID, id int64, where, set string, values ...any) error {
	return s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE import_jobs SET `+set+` WHERE tenant_id = ? AND id = ? AND `+where, append(values, tenantID, id)...)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return nil
	})
}
