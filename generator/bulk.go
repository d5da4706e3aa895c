package generator

import (
	"math/rand/v2"
	"time"

	"github.com/learnlens/learnlens/xapi"
)

// Stream is a generated data set whose statements are rendered one
// enrolment at a time, for bulk loading: unlike a Dataset it never holds
// them all, so its memory does not grow with the statement count. The
// statements are those of the same plans a Dataset would send, with
// duplicates that are voided and voided mistakes, but in plan order rather
// than in the order an LMS would send them, and with no late arrivals
// (order means nothing to a bulk load).
type Stream struct {
	Config  Config // with defaults filled in
	Files   []File // in import order
	Summary Summary
	g       *gen
}

// GenerateStream plans the data for cfg without rendering the statements;
// Summary.Statements is the number Each will give, give or take the voids
// it draws (Summary.Voided is counted by Each).
func GenerateStream(cfg Config) (*Stream, error) {
	g, err := newGen(cfg)
	if err != nil {
		return nil, err
	}
	s := &Stream{Config: g.cfg, g: g, Files: g.files(), Summary: g.summary()}
	for _, pl := range g.plans {
		s.Summary.Statements += pl.count
	}
	s.Summary.Statements += int(float64(s.Summary.Statements)*voidShare*1.7 + 0.5)
	return s, nil
}

// Each calls fn with every statement as JSON, enrolment by enrolment, and
// returns how many it gave and how many of them void another. It stops at
// fn's first error.
func (s *Stream) Each(fn func(statement []byte) error) (statements, voids int, err error) {
	g := s.g
	send := func(x rec) error {
		js, err := g.statementJSON(x)
		if err != nil {
			return err
		}
		statements++
		return fn(js)
	}
	var recs []rec
	for i, pl := range g.plans {
		evs, _ := g.timeline(pl, g.buf)
		g.buf = evs
		ids := rand.New(rand.NewPCG(pl.seed, 2))
		c := g.courses[pl.c]
		recs = recs[:0]
		emit(evs, len(c.modules), len(c.questions), g.detail, func(e tev) {
			recs = append(recs, rec{ev: e, id: newUUID(ids), send: e.t, plan: int32(i)})
		})
		// The voids of an enrolment are drawn from its own seed, as in
		// buildStatements: mostly a duplicate sent by mistake, sometimes a
		// wrong progress record.
		r := rand.New(rand.NewPCG(pl.seed, 4))
		for _, t := range recs {
			if err := send(t); err != nil {
				return statements, voids, err
			}
			if r.Float64() >= voidShare*1.7/1.3 || t.ev.t.After(g.now.Add(-2*time.Hour)) {
				continue
			}
			dup := r.Float64() < 0.7
			switch {
			case dup && (t.ev.kind == evModule || t.ev.kind == evCompleted || t.ev.kind == evLaunched):
			case !dup && (t.ev.kind == evModule || t.ev.kind == evLaunched):
			default:
				continue
			}
			target := t
			if dup {
				target.id = newUUID(r)
				target.ev.t = t.ev.t.Add(time.Duration(2000+r.IntN(18000)) * time.Millisecond)
				if err := send(target); err != nil {
					return statements, voids, err
				}
			}
			vt := target.ev.t.Add(time.Duration(lognormal(r, 20, 1.2) * float64(time.Hour))).Truncate(time.Millisecond)
			if vt.After(g.now) {
				vt = target.ev.t.Add(g.now.Sub(target.ev.t) / 2).Truncate(time.Millisecond)
			}
			if err := send(rec{ev: tev{t: vt, kind: evVoided}, id: newUUID(r), plan: -1, target: target.id}); err != nil {
				return statements, voids, err
			}
			voids++
		}
	}
	return statements, voids, nil
}

// Authority is the agent the statements are stored under: the LMS's
// connector.
func (s *Stream) Authority() xapi.Agent { return authority(s.Config.EmailDomain) }
