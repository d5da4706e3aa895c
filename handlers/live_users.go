package handlers

import (
	"context"
	"errors"
	"sync"

	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/realtime"
)

// liveViewers are this instance's open live connections by user, so that
// a change to a user (deactivated, another role, another learner record)
// checks their connections at once instead of at the next heartbeat.
type liveViewers struct {
	mu sync.Mutex
	m  map[liveUserKey]map[*liveSession]struct{}
}

type liveUserKey struct{ tenant, user int64 }

func (lv *liveViewers) add(s *liveSession) {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	k := liveUserKey{s.tenant, s.user}
	if lv.m == nil {
		lv.m = map[liveUserKey]map[*liveSession]struct{}{}
	}
	if lv.m[k] == nil {
		lv.m[k] = map[*liveSession]struct{}{}
	}
	lv.m[k][s] = struct{}{}
}

func (lv *liveViewers) remove(s *liveSession) {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	k := liveUserKey{s.tenant, s.user}
	delete(lv.m[k], s)
	if len(lv.m[k]) == 0 {
		delete(lv.m, k)
	}
}

func (lv *liveViewers) of(tenant, user int64) []*liveSession {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	out := make([]*liveSession, 0, len(lv.m[liveUserKey{tenant, user}]))
	for s := range lv.m[liveUserKey{tenant, user}] {
		out = append(out, s)
	}
	return out
}

// ofTenant is every open live connection of tenant on this instance.
func (lv *liveViewers) ofTenant(tenant int64) []*liveSession {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	var out []*liveSession
	for k, ss := range lv.m {
		if k.tenant == tenant {
			for s := range ss {
				out = append(out, s)
			}
		}
	}
	return out
}

// liveUserChanged checks again, on a notification that a user changed,
// that user's open live connections on this instance. It runs on the
// listener's goroutine after the auth cache dropped the user, so the
// checks read the user anew; they run on their own goroutines.
func (h *Handlers) liveUserChanged(payload string) {
	ch, err := models.ParseAuthChange(payload)
	if err == nil && ch.Kind == models.ChangedTenant {
		go h.liveTenantChanged(ch.TenantID)
		return
	}
	if err != nil || ch.Kind != models.ChangedUser {
		return
	}
	for _, s := range h.liveUsers.of(ch.TenantID, ch.UserID) {
		go h.liveRecheck(s)
	}
}

// liveRecheck ends a connection whose viewer may no longer see their page
// (signed out, deactivated, another role or scope).
func (h *Handlers) liveRecheck(s *liveSession) {
	if err := s.check(h); errors.Is(err, realtime.ErrViewerGone) {
		s.client.Close(realtime.ClosePolicy, "live updates stopped: sign in again to see this page")
	}
}

// liveTenantChanged ends the tenant's open live connections on this
// instance when the tenant was suspended or deleted: every one of its
// viewers lost its pages at once.
func (h *Handlers) liveTenantChanged(id int64) {
	sessions := h.liveUsers.ofTenant(id)
	if len(sessions) == 0 {
		return
	}
	t, err := h.tenants.ByID(context.Background(), id)
	reason := ""
	switch {
	case errors.Is(err, models.ErrNotFound):
		reason = "this organisation was deleted"
	case err == nil && t.Suspended():
		reason = "this organisation is suspended"
	default:
		return
	}
	for _, s := range sessions {
		s.client.Close(realtime.ClosePolicy, reason)
	}
}
