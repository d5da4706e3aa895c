package models

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/learnlens/learnlens/database"
)

// LoginThrottle counts failed sign-ins per client address in fixed windows,
// across all tenants, so one address cannot guess passwords at speed.
type LoginThrottle struct {
	db     *database.DB
	window time.Duration
}

// NewLoginThrottle returns a LoginThrottle with windows of the given length.
func NewLoginThrottle(db *database.DB, window time.Duration) *LoginThrottle {
	return &LoginThrottle{db: db, window: window}
}

// Failures returns the failures counted for ip in the current window and
// how long ago the last of them was.
func (t *LoginThrottle) Failures(ctx context.Context, ip string) (n int, since time.Duration, err error) {
	var row struct {
		N     int
		Since float64
	}
	err = t.db.Platform(ctx, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT coalesce(sum(failures), 0) AS n,
				coalesce(extract(epoch FROM now() - max(last_failure_at)), 0)::float8 AS since
			FROM login_ip_failures
			WHERE ip = ? AND window_start = date_bin(make_interval(secs => ?), now(), 'epoch')`,
			ip, t.window.Seconds()).Scan(&row).Error
	})
	return row.N, time.Duration(row.Since * float64(time.Second)), err
}

// RecordFailure counts one failure for ip and forgets windows older than a day.
func (t *LoginThrottle) RecordFailure(ctx context.Context, ip string) error {
	return t.db.Platform(ctx, func(tx *gorm.DB) error {
		err := tx.Exec(`INSERT INTO login_ip_failures (ip, window_start, failures)
			VALUES (?, date_bin(make_interval(secs => ?), now(), 'epoch'), 1)
			ON CONFLICT (ip, window_start) DO UPDATE SET failures = login_ip_failures.failures + 1, last_failure_at = now()`,
			ip, t.window.Seconds()).Error
		if err != nil {
			return err
		}
		return tx.Exec(`DELETE FROM login_ip_failures WHERE ip = ? AND window_start < now() - interval '1 day'`, ip).Error
	})
}
