// Package models reads and writes LearnLens's data in PostgreSQL. Every store
// method that touches tenant-owned rows takes the tenant as an argument and
// runs inside a transaction scoped to it, so Row Level Security applies.
package models

import (
	"errors"

	"gorm.io/gorm"
)

// ErrNotFound is returned when a row does not exist or belongs to another
// tenant; callers cannot and need not tell the two apart.
var ErrNotFound = errors.New("not found")

// notFound maps GORM's record-not-found error to ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	return err
}
