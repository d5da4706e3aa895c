package generator

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/learnlens/learnlens/xapi"
)

// rec is one statement to send.
type rec struct {
	ev     tev
	id     uuid.UUID
	send   time.Time // decides the batch: its timestamp, or later when it arrives late
	plan   int32     // -1 for a voiding statement
	target uuid.UUID // the statement a voiding statement voids
}

// newUUID draws a version 4 UUID from r.
func newUUID(r *rand.Rand) uuid.UUID {
	var u uuid.UUID
	a, b := r.Uint64(), r.Uint64()
	for i := range 8 {
		u[i] = byte(a >> (8 * i))
		u[8+i] = byte(b >> (8 * i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// Shares of statements that arrive late and that get voided.
const (
	lateShare = 0.02
	voidShare = 0.003
)

// buildStatements emits every plan's statements, makes some late, adds
// duplicates that are voided and voided mistakes, and orders them as they
// are sent.
func (g *gen) buildStatements() ([]rec, int) {
	total := 0
	for _, pl := range g.plans {
		total += pl.count
	}
	recs := make([]rec, 0, total+total/100+16)
	for i, pl := range g.plans {
		evs, _ := g.timeline(pl, g.buf)
		g.buf = evs
		ids := rand.New(rand.NewPCG(pl.seed, 2))
		c := g.courses[pl.c]
		emit(evs, len(c.modules), len(c.questions), g.detail, func(e tev) {
			recs = append(recs, rec{ev: e, id: newUUID(ids), send: e.t, plan: int32(i)})
		})
	}
	r := rand.New(rand.NewPCG(g.cfg.Seed^0x5eed, uint64(g.now.UnixNano())))
	slices.SortStableFunc(recs, func(a, b rec) int { return a.ev.t.Compare(b.ev.t) })

	// Late arrivals (an offline app syncing, a retried request): sent after
	// at least one more batch's worth of later statements.
	bs := g.cfg.BatchSize
	n := len(recs)
	for i := range recs {
		if r.Float64() >= lateShare {
			continue
		}
		j := i + bs + r.IntN(2*bs)
		if j < n {
			recs[i].send = recs[j].ev.t.Add(time.Millisecond)
		} else {
			recs[i].send = recs[n-1].ev.t.Add(time.Millisecond)
		}
	}

	// Voids: mostly a duplicate the LMS sent by mistake (voided, so the
	// numbers stay right), sometimes a wrong progress record.
	voids := 0
	if n >= 20 {
		voids = max(3, int(float64(n)*voidShare+0.5))
	}
	chosen := map[int]bool{}
	voided := 0
	for tries := 0; voided < voids && tries < 100*voids; tries++ {
		i := r.IntN(n)
		t := recs[i]
		if chosen[i] || t.ev.t.After(g.now.Add(-2*time.Hour)) {
			continue
		}
		dup := r.Float64() < 0.7
		switch {
		case dup && (t.ev.kind == evModule || t.ev.kind == evCompleted || t.ev.kind == evLaunched):
		case !dup && (t.ev.kind == evModule || t.ev.kind == evLaunched):
		default:
			continue
		}
		chosen[i] = true
		target := t
		if dup {
			target.id = newUUID(r)
			target.ev.t = t.ev.t.Add(time.Duration(2000+r.IntN(18000)) * time.Millisecond)
			target.send = maxTime(t.send, target.ev.t).Add(time.Millisecond)
			recs = append(recs, target)
		}
		vt := target.ev.t.Add(time.Duration(lognormal(r, 20, 1.2) * float64(time.Hour))).Truncate(time.Millisecond)
		if vt.After(g.now) {
			vt = target.ev.t.Add(g.now.Sub(target.ev.t) / 2).Truncate(time.Millisecond)
		}
		recs = append(recs, rec{
			ev:     tev{t: vt, kind: evVoided},
			id:     newUUID(r),
			send:   maxTime(vt, target.send).Add(time.Millisecond),
			plan:   -1,
			target: target.id,
		})
		voided++
	}
	slices.SortStableFunc(recs, func(a, b rec) int { return a.send.Compare(b.send) })
	return recs, voided
}

// JSON shapes of statements, in a fixed key order.
type (
	jStatement struct {
		ID        string    `json:"id"`
		Actor     jAgent    `json:"actor"`
		Verb      jVerb     `json:"verb"`
		Object    jObject   `json:"object"`
		Result    *jResult  `json:"result,omitempty"`
		Context   *jContext `json:"context,omitempty"`
		Timestamp string    `json:"timestamp"`
	}
	jAgent struct {
		ObjectType string    `json:"objectType"`
		Name       string    `json:"name,omitempty"`
		Mbox       string    `json:"mbox,omitempty"`
		Account    *jAccount `json:"account,omitempty"`
	}
	jAccount struct {
		HomePage string `json:"homePage"`
		Name     string `json:"name"`
	}
	jVerb struct {
		ID      string            `json:"id"`
		Display map[string]string `json:"display"`
	}
	jObject struct {
		ObjectType string       `json:"objectType"`
		ID         string       `json:"id"`
		Definition *jDefinition `json:"definition,omitempty"`
	}
	jDefinition struct {
		Name                    map[string]string `json:"name,omitempty"`
		Description             map[string]string `json:"description,omitempty"`
		Type                    string            `json:"type,omitempty"`
		InteractionType         string            `json:"interactionType,omitempty"`
		CorrectResponsesPattern []string          `json:"correctResponsesPattern,omitempty"`
		Choices                 []jComponent      `json:"choices,omitempty"`
	}
	jComponent struct {
		ID          string            `json:"id"`
		Description map[string]string `json:"description"`
	}
	jResult struct {
		Score      *jScore        `json:"score,omitempty"`
		Success    *bool          `json:"success,omitempty"`
		Completion *bool          `json:"completion,omitempty"`
		Response   string         `json:"response,omitempty"`
		Duration   string         `json:"duration,omitempty"`
		Extensions map[string]int `json:"extensions,omitempty"`
	}
	jScore struct {
		Scaled float64 `json:"scaled"`
		Raw    float64 `json:"raw"`
		Min    float64 `json:"min"`
		Max    float64 `json:"max"`
	}
	jContext struct {
		Registration      string `json:"registration,omitempty"`
		ContextActivities *jCA   `json:"contextActivities,omitempty"`
		Platform          string `json:"platform,omitempty"`
		Language          string `json:"language,omitempty"`
	}
	jCA struct {
		Parent   []jObject `json:"parent,omitempty"`
		Category []jObject `json:"category,omitempty"`
	}
)

const (
	typeCourse     = "http://adlnet.gov/expapi/activities/course"
	typeModule     = "http://adlnet.gov/expapi/activities/module"
	extProgress    = "https://w3id.org/xapi/cmi5/result/extensions/progress"
	verbDisplayKey = "en-US"
)

var verbOf = map[evKind][2]string{
	evRegistered: {xapi.VerbRegistered, "registered"},
	evLaunched:   {xapi.VerbLaunched, "launched"},
	evQuestion:   {xapi.VerbAnswered, "answered"},
	evPassed:     {xapi.VerbPassed, "passed"},
	evFailed:     {xapi.VerbFailed, "failed"},
	evCompleted:  {xapi.VerbCompleted, "completed"},
	evVoided:     {xapi.VerbVoided, "voided"},
}

// isoDuration formats d as an ISO 8601 duration such as PT12M30S.
func isoDuration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	h, m, sec := s/3600, s/60%60, s%60
	var b strings.Builder
	b.WriteString("PT")
	if h > 0 {
		fmt.Fprintf(&b, "%dH", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dM", m)
	}
	if sec > 0 || h == 0 && m == 0 {
		fmt.Fprintf(&b, "%dS", sec)
	}
	return b.String()
}

func ptr[T any](v T) *T { return &v }

// statementJSON renders one statement.
func (g *gen) statementJSON(x rec) ([]byte, error) {
	lang := g.lang
	if x.plan < 0 {
		return json.Marshal(jStatement{
			ID:        x.id.String(),
			Actor:     jAgent{ObjectType: "Agent", Name: "LMS Administrator", Mbox: "mailto:lms-admin@" + g.cfg.EmailDomain},
			Verb:      jVerb{ID: xapi.VerbVoided, Display: map[string]string{verbDisplayKey: "voided"}},
			Object:    jObject{ObjectType: "StatementRef", ID: x.target.String()},
			Timestamp: xapi.FormatTimestamp(x.ev.t),
		})
	}
	pl := g.plans[x.plan]
	p, c := g.org.people[pl.p], g.courses[pl.c]
	s := jStatement{ID: x.id.String(), Timestamp: xapi.FormatTimestamp(x.ev.t)}
	s.Actor = jAgent{ObjectType: "Agent", Name: p.name}
	if p.account {
		s.Actor.Account = &jAccount{HomePage: "https://lms." + g.cfg.EmailDomain, Name: p.empID}
	} else {
		s.Actor.Mbox = "mailto:" + p.email
	}
	courseObj := jObject{ObjectType: "Activity", ID: c.iri, Definition: &jDefinition{
		Name: map[string]string{lang: c.spec.title}, Type: typeCourse}}
	reg := newUUID(rand.New(rand.NewPCG(pl.seed, 3))).String()
	s.Context = &jContext{Registration: reg, Platform: g.platform, Language: lang}
	s.Object = courseObj
	e := x.ev
	v, ok := verbOf[e.kind]
	switch e.kind {
	case evModule:
		m := c.modules[e.idx]
		if m.video {
			v = [2]string{xapi.VerbExperienced, "experienced"}
			s.Object = jObject{ObjectType: "Activity", ID: m.iri, Definition: &jDefinition{
				Name: map[string]string{lang: c.spec.title + ": " + m.title}, Type: typeModule}}
			s.Context.ContextActivities = &jCA{Parent: []jObject{{ObjectType: "Activity", ID: c.iri}}}
			s.Result = &jResult{Duration: isoDuration(e.dur)}
		} else {
			v = [2]string{xapi.VerbProgressed, "progressed"}
			s.Result = &jResult{Duration: isoDuration(e.dur), Extensions: map[string]int{extProgress: int(e.progress)}}
		}
	case evQuestion:
		q := c.questions[e.idx]
		def := &jDefinition{
			Name:                    map[string]string{lang: q.text},
			Type:                    xapi.ActivityTypeInteraction,
			CorrectResponsesPattern: []string{q.correct},
		}
		if q.trueFalse {
			def.Description = map[string]string{lang: "True or false: the statement in the scenario is correct."}
			def.InteractionType = "true-false"
		} else {
			def.Description = map[string]string{lang: "What should you do in this situation?"}
			def.InteractionType = "choice"
			for i, id := range q.choices {
				def.Choices = append(def.Choices, jComponent{ID: id, Description: map[string]string{lang: choiceTexts[i%len(choiceTexts)]}})
			}
		}
		s.Object = jObject{ObjectType: "Activity", ID: q.iri, Definition: def}
		s.Context.ContextActivities = &jCA{Parent: []jObject{{ObjectType: "Activity", ID: c.iri}}}
		s.Result = &jResult{Success: ptr(e.ok), Response: e.resp, Duration: isoDuration(e.dur)}
	case evPassed, evFailed:
		raw := float64(int(e.score*100 + 0.5))
		s.Result = &jResult{Score: &jScore{Scaled: raw / 100, Raw: raw, Min: 0, Max: 100}, Success: ptr(e.kind == evPassed)}
	case evCompleted:
		s.Result = &jResult{Completion: ptr(true)}
		if c.spec.passMark > 0 {
			s.Result.Success = ptr(true)
		}
	}
	if !ok && e.kind != evModule {
		return nil, fmt.Errorf("generator: no verb for event kind %d", e.kind)
	}
	s.Verb = jVerb{ID: v[0], Display: map[string]string{verbDisplayKey: v[1]}}
	return json.Marshal(s)
}
