package xapi

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Finalize sets what the LRS sets and returns the statement's JSON as it
// will be stored and served:
//   - id: a new random (version 4) UUID if the statement has none; an id
//     is written back in lower case (for PUT without an id in the body, set
//     ID to the canonical statementId parameter before calling);
//   - stored: the given time, in UTC, overwriting any sent value;
//   - timestamp: stored if the client sent none; a sent timestamp is
//     re-serialised in UTC (same instant, full precision);
//   - authority: the given agent, replacing any sent authority;
//   - version: StatementVersion ("1.0.0", as the spec requires) if missing;
//     a sent version is kept.
//
// The authority must be an Agent with one inverse functional identifier or
// an anonymous Group of exactly two such Agents. Callers should pass a
// stored time already truncated to the precision their storage keeps (for
// example time.Microsecond for PostgreSQL) so the JSON and the column agree.
func (s *Statement) Finalize(stored time.Time, authority Agent) ([]byte, error) {
	auth, err := NewAuthority(authority)
	if err != nil {
		return nil, err
	}
	return s.FinalizeBy(stored, auth)
}

// Authority is an authority agent checked and put in its JSON form once,
// for finalising many statements (FinalizeBy).
type Authority struct {
	agent Agent
	json  map[string]any
}

// NewAuthority checks authority as Finalize does and returns it ready for
// FinalizeBy.
func NewAuthority(authority Agent) (*Authority, error) {
	authJSON := authority.JSON()
	auth, err := parseAgent(authJSON, "authority", roleAuthority)
	if err != nil {
		return nil, fmt.Errorf("xapi: finalize: invalid authority: %w", err)
	}
	return &Authority{agent: auth, json: authJSON}, nil
}

// FinalizeBy is Finalize with an authority checked once for a whole
// batch. The statements finalised by one Authority share its JSON value
// in Raw, which nothing changes after finalising.
func (s *Statement) FinalizeBy(stored time.Time, authority *Authority) ([]byte, error) {
	if s.Raw == nil {
		return nil, errors.New("xapi: finalize: statement has no raw JSON; parse it with ParseStatement or ParseStatements first")
	}
	if stored.IsZero() {
		return nil, errors.New("xapi: finalize: stored time is zero")
	}
	auth := authority.agent
	authJSON := authority.json
	if s.ID == "" {
		s.ID = uuid.NewString()
	}
	s.Raw["id"] = s.ID
	s.Stored = stored
	s.Raw["stored"] = FormatTimestamp(stored)
	if s.Timestamp.IsZero() {
		s.Timestamp = stored
	}
	s.Raw["timestamp"] = FormatTimestamp(s.Timestamp)
	s.Authority = &auth
	s.Raw["authority"] = authJSON
	if _, ok := s.Raw["version"]; !ok {
		s.Raw["version"] = StatementVersion
	}
	out, err := encodeJSON(s.Raw)
	if err != nil {
		return nil, fmt.Errorf("xapi: finalize: encode statement: %w", err)
	}
	return out, nil
}
