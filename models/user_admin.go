package models

import (
	"context"
	"errors"
	"slices"

	"gorm.io/gorm"
)

// TenantRoles are the roles a tenant admin can give, in the order the
// Users page offers them.
var TenantRoles = []string{RoleTenantAdmin, RoleAnalyst, RoleManager, RoleLearner}

// ErrLastAdmin is returned for a change that would leave a tenant without
// an active admin: nobody could then manage its users.
var ErrLastAdmin = errors.New("this is the organisation's only active admin: make someone else an admin first")

// ErrBadRole is a role a tenant admin cannot give.
var ErrBadRole = errors.New("role must be one of tenant_admin, analyst, manager or learner")

// ErrLearnerTaken is returned when linking a user to a learner record that
// another user is already linked to.
var ErrLearnerTaken = errors.New("that person is already linked to another user")

// ChangeRole gives user id of tenantID another of the TenantRoles, unless
// that leaves the tenant without an active admin. Their sessions carry the
// new role from their next request on, on every instance.
func (s *UserStore) ChangeRole(ctx context.Context, tenantID, id int64, role string) (User, error) {
	if !slices.Contains(TenantRoles, role) {
		return User{}, ErrBadRole
	}
	return s.changeAdminSeat(ctx, tenantID, id, func(u *User) { u.Role = role }, `role = ?`, role)
}

// SetActive re-activates (active) or deactivates a user, unless that
// leaves the tenant without an active admin. A deactivated user's
// sessions end at their next request, on every instance.
func (s *UserStore) SetActive(ctx context.Context, tenantID, id int64, active bool) (User, error) {
	status := UserDisabled
	if active {
		status = UserActive
	}
	return s.changeAdminSeat(ctx, tenantID, id, func(u *User) { u.Status = status }, `status = ?`, status)
}

// changeAdminSeat applies change (and the matching SET clause) to a user,
// refusing with ErrLastAdmin when the user is the tenant's last active
// admin and would stop being one. The tenant's active admins are locked
// first, so two admins demoting each other at once cannot both succeed.
func (s *UserStore) changeAdminSeat(ctx context.Context, tenantID, id int64, change func(*User), set string, value any) (User, error) {
	var u User
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		var admins []int64
		if err := tx.Raw(`SELECT id FROM users WHERE tenant_id = ? AND role = ? AND status = ? ORDER BY id FOR UPDATE`,
			tenantID, RoleTenantAdmin, UserActive).Scan(&admins).Error; err != nil {
			return err
		}
		if err := tx.Where("tenant_id = ? AND id = ?", tenantID, id).Take(&u).Error; err != nil {
			return err
		}
		change(&u)
		stillAdmin := u.Role == RoleTenantAdmin && u.Status == UserActive
		if !stillAdmin && slices.Equal(admins, []int64{id}) {
			return ErrLastAdmin
		}
		return tx.Exec(`UPDATE users SET `+set+`, updated_at = now() WHERE tenant_id = ? AND id = ?`, value, tenantID, id).Error
	})
	if err != nil {
		return User{}, notFound(err)
	}
	return u, announce(ctx, s.db, userChanged(tenantID, id))
}

// LinkLearner links user id to the learner record learnerID of the same
// tenant (0 unlinks: the record with the user's email counts again).
// ErrNotFound covers a user or learner record the tenant does not have.
func (s *UserStore) LinkLearner(ctx context.Context, tenantID, id, learnerID int64) (User, error) {
	var u User
	err := s.db.Tenant(ctx, tenantID, func(tx *gorm.DB) error {
		var link *int64
		if learnerID != 0 {
			var taken []int64
			if err := tx.Raw(`SELECT coalesce(u.id, 0) FROM learners l
				LEFT JOIN users u ON u.tenant_id = l.tenant_id AND u.learner_id = l.id AND u.id <> ?
				WHERE l.tenant_id = ? AND l.id = ?`, id, tenantID, learnerID).Scan(&taken).Error; err != nil {
				return err
			}
			if len(taken) == 0 {
				return ErrNotFound
			}
			if taken[0] != 0 {
				return ErrLearnerTaken
			}
			link = &learnerID
		}
		res := tx.Exec(`UPDATE users SET learner_id = ?, updated_at = now() WHERE tenant_id = ? AND id = ?`, link, tenantID, id)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return tx.Where("tenant_id = ? AND id = ?", tenantID, id).Take(&u).Error
	})
	if err != nil {
		return User{}, notFound(err)
	}
	return u, announce(ctx, s.db, userChanged(tenantID, id))
}

// Announce tells every instance that the user changed outside this store
// (the data-rights actions unlink a user from an erased or pseudonymised
// learner record), so that cached copies are dropped.
func (s *UserStore) Announce(ctx context.Context, tenantID, id int64) error {
	return announce(ctx, s.db, userChanged(tenantID, id))
}
