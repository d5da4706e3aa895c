package generator

import (
	"math"
	"math/rand/v2"
	"time"
)

// outcome is how an enrolment ends (before any cut at "now").
type outcome uint8

const (
	outComplete   outcome = iota // works through and completes (retaking a failed assessment, maybe giving up)
	outAbandon                   // stops part way through
	outNotStarted                // registered only
)

// reason is why the learner is enrolled.
type reason uint8

const (
	reasonElective   reason = iota // chose it
	reasonAssigned                 // a manager assigned it
	reasonOnboarding               // new hire
	reasonCampaign                 // annual compliance campaign
	reasonRecert                   // recertification reminder
	reasonNamed                    // the named learner's curated history
)

// plan is one enrolment: who, what, when and how it goes. Its statements
// follow from it and its seed alone.
type plan struct {
	p, c       int
	at         time.Time // registered
	reason     reason
	self       bool // registered and launched in one sitting
	outcome    outcome
	progress   float64       // share of modules done when abandoning
	startDelay time.Duration // registration to first launch, when not self
	delay      time.Duration // first launch to last session
	failFirst  bool          // the first assessment attempt fails, the second passes
	keep       bool          // never thinned out
	persist    bool          // retakes a failed assessment until passed (required training in a team that keeps up)
	seed       uint64
	count      int // statements at the chosen detail
}

// evKind is what a statement says.
type evKind uint8

const (
	evRegistered evKind = iota
	evLaunched
	evModule
	evQuestion
	evPassed
	evFailed
	evCompleted
	evVoided
)

// tev is one step of an enrolment's timeline.
type tev struct {
	t        time.Time
	kind     evKind
	idx      int16 // module or question index
	session  int16
	progress int8 // percent of the modules done, for modules
	ok       bool // question answered right, assessment passed
	dur      time.Duration
	score    float64
	resp     string
}

func lognormal(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

func days(d float64) time.Duration { return time.Duration(d * 24 * float64(time.Hour)) }

func clampInt(x, lo, hi int) int { return max(lo, min(hi, x)) }

// holiday reports the quiet days around the new year.
func holiday(t time.Time) bool {
	m, d := t.Month(), t.Day()
	return m == time.December && d >= 24 || m == time.January && d == 1
}

// workTime returns a moment on t's local day (or a later one) at an hour
// drawn from the working rhythm, not before notBefore: weekends and the
// new-year break are mostly skipped.
func (g *gen) workTime(r *rand.Rand, t, notBefore time.Time) time.Time {
	day := dayOf(t, g.loc)
	if nb := dayOf(notBefore, g.loc); day.Before(nb) {
		day = nb
	}
	for tries := 0; ; tries++ {
		wd := day.Weekday()
		weekend := wd == time.Saturday || wd == time.Sunday
		if tries < 12 && (weekend && r.Float64() < 0.85 || holiday(day) && r.Float64() < 0.75) {
			// Done on another day of the next week or so instead.
			day = day.AddDate(0, 0, 1+r.IntN(5))
			continue
		}
		weights := &hourWeights
		if weekend || holiday(day) {
			weights = &weekendHourWeights
		}
		minHour := 0
		if dayOf(notBefore, g.loc).Equal(day) {
			minHour = notBefore.In(g.loc).Hour()
		}
		total := 0.0
		for h := minHour; h < 24; h++ {
			total += weights[h]
		}
		if total < 0.5 && tries < 30 {
			day = day.AddDate(0, 0, 1)
			continue
		}
		x := r.Float64() * total
		h := 23
		for k := minHour; k < 24; k++ {
			x -= weights[k]
			if x < 0 {
				h = k
				break
			}
		}
		y, m, d := day.Date()
		cand := time.Date(y, m, d, h, r.IntN(60), r.IntN(60), r.IntN(1000)*int(time.Millisecond), g.loc)
		if cand.Before(notBefore) {
			cand = notBefore.Add(time.Duration(60+r.IntN(600)) * time.Second)
		}
		return cand.Truncate(time.Millisecond)
	}
}

// timeline works out an enrolment's steps, cut at the moment the learner
// can no longer learn (now, or when they left), and when it completed.
func (g *gen) timeline(pl *plan, evs []tev) ([]tev, time.Time) {
	r := rand.New(rand.NewPCG(pl.seed, 1))
	p, c := g.org.people[pl.p], g.courses[pl.c]
	until := p.until(g.now)
	evs = evs[:0]
	cut := func(done time.Time) ([]tev, time.Time) {
		n := len(evs)
		for n > 0 && evs[n-1].t.After(until) {
			n--
		}
		if done.After(until) {
			done = time.Time{}
		}
		return evs[:n], done
	}
	ms := func(lo, hi int) time.Duration { // lo..hi seconds
		return time.Duration(lo*1000+r.IntN((hi-lo)*1000+1)) * time.Millisecond
	}

	cur := pl.at
	evs = append(evs, tev{t: cur, kind: evRegistered})
	if pl.outcome == outNotStarted {
		return cut(time.Time{})
	}
	if pl.self {
		cur = cur.Add(ms(20, 200))
	} else {
		cur = g.workTime(r, cur.Add(pl.startDelay), cur.Add(10*time.Minute))
	}
	first := cur
	nMod := len(c.modules)
	todo := nMod
	if pl.outcome == outAbandon {
		todo = clampInt(int(math.Ceil(pl.progress*float64(nMod))), 1, max(1, nMod-1))
	}
	sessLen := 25 + 25*r.Float64()
	moduleMin := float64(c.spec.minutes) / float64(nMod)
	if c.spec.passMark > 0 {
		moduleMin *= 0.85 // the rest is the assessment
	}
	nS := clampInt(int(math.Round(moduleMin*float64(todo)/sessLen)), 1, min(6, todo))
	if nS == 1 && todo >= 2 && r.Float64() < 0.3 {
		nS = 2 // interrupted, finished another day
	}
	targets := make([]float64, nS)
	for j := 1; j < nS; j++ {
		targets[j] = r.Float64()
	}
	if nS > 1 && pl.outcome == outComplete {
		targets[nS-1] = 1
	}
	sortFloats(targets)

	for j := range nS {
		if j > 0 {
			target := first.Add(time.Duration(targets[j] * float64(pl.delay)))
			cur = g.workTime(r, target, cur.Add(30*time.Minute))
		}
		evs = append(evs, tev{t: cur, kind: evLaunched, session: int16(j)})
		cur = cur.Add(ms(5, 40))
		for m := j * todo / nS; m < (j+1)*todo/nS; m++ {
			d := time.Duration(moduleMin * (0.6 + 0.9*r.Float64()) * float64(time.Minute)).Truncate(time.Second)
			d = max(d, 45*time.Second)
			cur = cur.Add(d)
			evs = append(evs, tev{t: cur, kind: evModule, idx: int16(m), session: int16(j), dur: d,
				progress: int8((m + 1) * 100 / nMod)})
			cur = cur.Add(ms(3, 60))
		}
	}
	if pl.outcome == outAbandon {
		return cut(time.Time{})
	}

	session := int16(nS - 1)
	if c.spec.passMark > 0 {
		ability := p.ability
		for attempt := 1; ; attempt++ {
			correct := 0
			nQ := len(c.questions)
			answers := make([]bool, nQ)
			for i, q := range c.questions {
				answers[i] = r.Float64() < min(0.99, max(0.05, ability+q.difficulty))
			}
			if pl.failFirst {
				want := attempt > 1
				for i := range answers {
					if r.Float64() < 0.35 {
						answers[i] = want
					}
				}
			}
			for _, a := range answers {
				if a {
					correct++
				}
			}
			var score float64
			if nQ > 0 {
				score = float64(correct) / float64(nQ)
			} else {
				score = min(1, max(0.3, ability-0.04+0.08*r.NormFloat64()))
			}
			if (pl.keep || pl.persist) && !pl.failFirst && attempt >= 3 && score < c.spec.passMark {
				score = c.spec.passMark // a curated story passes in the end
				if nQ > 0 {
					score = 1
					for i := range answers {
						answers[i] = true
					}
					correct = nQ
				}
			}
			if pl.failFirst { // force the story: fail, then pass
				if attempt == 1 && score >= c.spec.passMark {
					score = c.spec.passMark - 0.1 - 0.1*r.Float64()
				} else if attempt > 1 && score < c.spec.passMark {
					score = c.spec.passMark + (1-c.spec.passMark)*r.Float64()
				}
				if nQ > 0 { // make the answers agree with the score
					want := int(math.Round(score * float64(nQ)))
					for i := range answers {
						switch {
						case correct < want && !answers[i]:
							answers[i] = true
							correct++
						case correct > want && answers[i]:
							answers[i] = false
							correct--
						}
					}
					score = float64(correct) / float64(nQ)
					if attempt == 1 && score >= c.spec.passMark {
						score = c.spec.passMark - 0.05
					}
				}
			}
			score = math.Round(score*100) / 100
			for i, q := range c.questions {
				qd := ms(15, 110).Truncate(time.Second)
				cur = cur.Add(qd)
				resp := q.correct
				if !answers[i] {
					if q.trueFalse {
						resp = map[string]string{"true": "false", "false": "true"}[q.correct]
					} else {
						k := r.IntN(len(q.choices) - 1)
						for _, ch := range q.choices {
							if ch == q.correct {
								continue
							}
							if k == 0 {
								resp = ch
								break
							}
							k--
						}
					}
				}
				evs = append(evs, tev{t: cur, kind: evQuestion, idx: int16(i), session: session, ok: answers[i],
					dur: qd, resp: resp})
			}
			cur = cur.Add(ms(4, 20))
			passed := score >= c.spec.passMark
			kind := evFailed
			if passed {
				kind = evPassed
			}
			evs = append(evs, tev{t: cur, kind: kind, session: session, ok: passed, score: score})
			if passed {
				break
			}
			persist := pl.failFirst || pl.keep || pl.persist
			if !persist && (attempt >= 3 || r.Float64() > 0.8) {
				return cut(time.Time{}) // gave up
			}
			ability += 0.05
			cur = g.workTime(r, cur.Add(time.Duration(lognormal(r, 30, 0.9)*float64(time.Hour))), cur.Add(time.Hour))
			session++
			evs = append(evs, tev{t: cur, kind: evLaunched, session: session})
			cur = cur.Add(ms(5, 40))
			for range 1 + r.IntN(2) {
				m := r.IntN(nMod)
				d := time.Duration(moduleMin * (0.3 + 0.5*r.Float64()) * float64(time.Minute)).Truncate(time.Second)
				d = max(d, 30*time.Second)
				cur = cur.Add(d)
				evs = append(evs, tev{t: cur, kind: evModule, idx: int16(m), session: session, dur: d, progress: 100})
				cur = cur.Add(ms(3, 60))
			}
		}
	}
	cur = cur.Add(ms(2, 10))
	evs = append(evs, tev{t: cur, kind: evCompleted, session: session})
	return cut(cur)
}

func sortFloats(xs []float64) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// kept reports whether the i-th of n items is emitted at detail d: an
// evenly spread share d of them.
func kept(i, n int, d float64) bool {
	if d >= 1 {
		return true
	}
	return int(float64(i+1)*d) > int(float64(i)*d)
}

// emit turns a timeline into the statements sent at detail d (1 = every
// step; less leaves out some module and question statements, keeping the
// time spent), calling fn for each unless fn is nil, and returns how many.
func emit(evs []tev, nMod, nQ int, d float64, fn func(tev)) int {
	n := 0
	var carry time.Duration
	for i, e := range evs {
		switch e.kind {
		case evModule:
			lastInSession := i+1 >= len(evs) || evs[i+1].kind != evModule || evs[i+1].session != e.session
			if !kept(int(e.idx), nMod, d) && !lastInSession {
				carry += e.dur
				continue
			}
			e.dur += carry
			carry = 0
		case evQuestion:
			if !kept(int(e.idx), nQ, d) {
				continue
			}
		}
		n++
		if fn != nil {
			fn(e)
		}
	}
	return n
}
