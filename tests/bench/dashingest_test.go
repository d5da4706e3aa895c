package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/generator"
	"github.com/learnlens/learnlens/models"
	"github.com/learnlens/learnlens/tests/testserver"
	"github.com/learnlens/learnlens/xapi"
)

// ingestWarmUp is how long the sender runs before the mix is measured.
const ingestWarmUp = 2 * time.Second

// runIngestMix runs scenario 3 on tg's server, the run-th target: the mix
// while a paced sender posts statements to the tenant, with the freshness
// check.
func runIngestMix(b *testing.B, env dashEnv, tg target, run int, db *database.DB, dbURL string, s *benchTenant,
	clients []*benchClient, m *mixData, base stats, sum *summary) mixRun {
	b.Helper()
	srv := tg.srv
	ctx := context.Background()
	need := env.ingestRate * int(env.mix/time.Second+ingestWarmUp/time.Second+10)
	t0 := time.Now()
	// Each run its own statements: their ids depend on the generator's
	// Now, which makeFeed shifts by up to 20 minutes.
	cfg := s.cfg
	cfg.Now = cfg.Now.Add(time.Duration(run) * 30 * time.Minute)
	feed, err := makeFeed(cfg, need)
	if err != nil {
		b.Fatal(err)
	}
	key, secret := s.t.Slug+"-bench-key"+tg.name, s.t.Slug+"-bench-secret"
	if _, err := models.NewCredentialStore(db).CreateWithSecret(ctx, s.t.ID, "Bench ingest", key, secret); err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dbURL) // a superuser: gold_freshness without the tenant's RLS context
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	learnersBefore := countLearners(b, conn, s.t.ID)
	fmt.Printf("\n--- %s, scenario 3, the mix under ingest%s, %s: %d statements/s in batches of %d through POST /xapi/statements "+
		"(%d generated statements for the tenant's people and courses, stamped with the sending time; made in %.1f s); goal p95 < %s, freshness < %s\n",
		s.t.Slug, tg.label(), env.mix, env.ingestRate, env.ingestBatch, len(feed), time.Since(t0).Seconds(), ingestMixGoal, freshnessGoal)

	poll, err := startFreshnessPoller(ctx, dbURL, s.t.ID)
	if err != nil {
		b.Fatal(err)
	}
	send := startSender(srv, key, secret, feed, env.ingestRate, env.ingestBatch, env.ingestSenders)
	time.Sleep(ingestWarmUp)
	cost := startMixCost(b, dbURL).watch(b, tg).profiled(b, s.t.Slug+"-ingest"+tg.name)
	samples, elapsed := load(srv, s.host, clients, env.mix, 3, m.pick)
	ing := send.stop()
	fr := poll.stop()

	all := printMix(samples, elapsed, base, ingestMixGoal)
	figures := cost.print(elapsed, len(samples))
	figures.all = all
	sum.add(s.t.Slug, fmt.Sprintf("mix under ingest%s: p95 < %s", tg.label(), ingestMixGoal), verdict(all, all.p95 < ingestMixGoal),
		fmt.Sprintf("p95 %s ms, %.0f req/s, %.0f statements/s sent", ms(all.p95), all.rate, ing.rate()))
	sum.noteFailures(s.t.Slug, "mix under ingest"+tg.label(), all)

	ing.print(env.ingestRate)
	if ing.failed > 0 {
		sum.failed = append(sum.failed, fmt.Sprintf("%s ingest: %d of %d batches failed, first: %s", s.t.Slug, ing.failed, ing.batches, ing.firstErr))
	}
	if rate := ing.rate(); rate < 0.9*float64(env.ingestRate) {
		sum.add(s.t.Slug, fmt.Sprintf("ingest rate reached%s (%d statements/s)", tg.label(), env.ingestRate), "MISS",
			fmt.Sprintf("%.0f statements/s: the machine could not take the rate, so the ingest load was lighter than asked", rate))
	}
	if added := countLearners(b, conn, s.t.ID) - learnersBefore; added != 0 {
		fmt.Printf("  note: the ingest created %d learners (the generated statements should name existing people only)\n", added)
	}

	loc, err := time.LoadLocation(s.t.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	f := checkFreshness(samples, fr, loc)
	f.print()
	sum.add(s.t.Slug, fmt.Sprintf("mix under ingest%s: freshness (shown version ≤ %s behind)", tg.label(), freshnessGoal), f.verdict, f.detail)
	return figures
}

func countLearners(b *testing.B, conn *pgx.Conn, tenant int64) int {
	b.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM learners WHERE tenant_id = $1`, tenant).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// feedStatement is one statement to send, split around its timestamp's
// value so the sender can stamp it with the time it sends it.
type feedStatement struct{ before, after []byte }

var timestampKey = []byte(`"timestamp":"`)

// makeFeed generates at least n statements for the people and courses of
// the tenant loaded with cfg: the generator's organisation and catalog
// depend on the seed (and the day), and its statement ids on Now, so the
// same config a minute later gives new statements about the same people.
// Voiding statements are left out (what they void may not be sent).
func makeFeed(cfg generator.Config, n int) ([]feedStatement, error) {
	var out []feedStatement
	cfg.Progress = nil
	for shift := 1; len(out) < n; shift++ {
		if shift > 20 {
			return nil, fmt.Errorf("ingest feed: the generator gave %d statements after %d tries, need %d", len(out), shift-1, n)
		}
		c := cfg
		c.Now = cfg.Now.Add(time.Duration(shift) * time.Minute)
		c.Statements = n - len(out)
		ds, err := generator.Generate(c)
		if err != nil {
			return nil, err
		}
		for i := range ds.Batches() {
			batch, err := ds.Batch(i)
			if err != nil {
				return nil, err
			}
			var stmts []json.RawMessage
			if err := json.Unmarshal(batch, &stmts); err != nil {
				return nil, err
			}
			for _, st := range stmts {
				if bytes.Contains(st, []byte(xapi.VerbVoided)) {
					continue
				}
				k := bytes.Index(st, timestampKey)
				if k < 0 {
					return nil, fmt.Errorf("ingest feed: a statement without a timestamp: %.200s", st)
				}
				k += len(timestampKey)
				end := bytes.IndexByte(st[k:], '"')
				out = append(out, feedStatement{before: st[:k], after: st[k+end:]})
			}
		}
	}
	return out, nil
}

// sender posts batches of the feed at a steady rate.
type sender struct {
	done  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	res   ingestResult
	start time.Time
}

// ingestResult is what the sender did.
type ingestResult struct {
	batches, failed, statements int
	firstErr                    string
	elapsed                     time.Duration
	lat                         []time.Duration
	maxLate                     time.Duration // how far behind its schedule a batch was sent at worst
	exhausted                   bool
}

func (r ingestResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.statements) / r.elapsed.Seconds()
}

func (r ingestResult) print(target int) {
	slices.Sort(r.lat)
	fmt.Printf("  ingest: %d batches (%d failed), %d statements stored in %.1f s = %.0f statements/s (target %d); POST p50 %s, p95 %s, p99 %s ms; worst batch %s ms behind schedule\n",
		r.batches, r.failed, r.statements, r.elapsed.Seconds(), r.rate(), target,
		ms(percentile(r.lat, 0.5)), ms(percentile(r.lat, 0.95)), ms(percentile(r.lat, 0.99)), ms(r.maxLate))
	if r.exhausted {
		fmt.Printf("  note: the sender ran out of generated statements before the mix ended\n")
	}
}

// startSender posts the feed in batches of size, one batch every
// size/rate seconds, with at most inflight POSTs at once; when all are
// busy the next batch waits and is then sent at once, so a slow server
// lowers the rate (the result says by how much) rather than piling up.
func startSender(srv *testserver.Server, key, secret string, feed []feedStatement, rate, size, inflight int) *sender {
	s := &sender{done: make(chan struct{}), start: time.Now()}
	interval := time.Duration(float64(size) / float64(rate) * float64(time.Second))
	tr := &http.Transport{MaxIdleConnsPerHost: inflight, DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+strconv.Itoa(srv.Port))
	}}
	client := &http.Client{Transport: tr, Timeout: 120 * time.Second}
	work := make(chan int)
	s.wg.Add(1)
	go func() { // the schedule
		defer s.wg.Done()
		defer close(work)
		for i := 0; ; i++ {
			if (i+1)*size > len(feed) {
				s.mu.Lock()
				s.res.exhausted = true
				s.mu.Unlock()
				return
			}
			due := s.start.Add(time.Duration(i) * interval)
			select {
			case <-s.done:
				return
			case <-time.After(time.Until(due)):
			}
			select {
			case <-s.done:
				return
			case work <- i:
			}
			if late := time.Since(due); late > s.res.maxLate {
				s.mu.Lock()
				s.res.maxLate = late
				s.mu.Unlock()
			}
		}
	}()
	for range inflight {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			var body bytes.Buffer
			for i := range work {
				body.Reset()
				body.WriteByte('[')
				now := time.Now()
				for k, st := range feed[i*size : (i+1)*size] {
					if k > 0 {
						body.WriteByte(',')
					}
					body.Write(st.before)
					// In sending order, a millisecond apart, ending now.
					body.WriteString(xapi.FormatTimestamp(now.Add(time.Duration(k-size) * time.Millisecond)))
					body.Write(st.after)
				}
				body.WriteByte(']')
				req, _ := http.NewRequest(http.MethodPost, "http://localhost/xapi/statements", bytes.NewReader(body.Bytes()))
				req.SetBasicAuth(key, secret)
				req.Header.Set("X-Experience-API-Version", "1.0.3")
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				var msg []byte
				status := 0
				if err == nil {
					msg, _ = io.ReadAll(resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				lat := time.Since(t0)
				s.mu.Lock()
				s.res.batches++
				switch {
				case err != nil:
					s.res.failed++
					if s.res.firstErr == "" {
						s.res.firstErr = err.Error()
					}
				case status != http.StatusOK:
					s.res.failed++
					if s.res.firstErr == "" {
						s.res.firstErr = fmt.Sprintf("status %d: %.300s", status, msg)
					}
				default:
					s.res.statements += size
					s.res.lat = append(s.res.lat, lat)
				}
				s.mu.Unlock()
			}
		}()
	}
	return s
}

// stop ends the schedule, waits for the POSTs in flight and returns the
// result.
func (s *sender) stop() ingestResult {
	close(s.done)
	s.wg.Wait()
	s.res.elapsed = time.Since(s.start)
	return s.res
}

// versionAt is a gold version and when it was committed.
type versionAt struct {
	v  int64
	at time.Time
}

// freshnessPoller reads the tenant's gold version every 20 ms.
type freshnessPoller struct {
	done chan struct{}
	wg   sync.WaitGroup
	res  freshnessLog
}

// freshnessLog is the versions the poller saw, in order, or why there are
// none.
type freshnessLog struct {
	missing   string // why versions are not available ("" when they are)
	committed bool   // commit times come from gold_freshness.committed, else from when the poller first saw a version
	hist      []versionAt
	polls     int
	err       error
}

// startFreshnessPoller polls SELECT version, committed FROM gold_freshness
// for tenant over its own superuser connection. The columns are being
// added (migration 00007): without version there is nothing to poll;
// without committed a version's commit time is taken as the poll that
// first saw it (up to 20 ms late, so lags read up to 20 ms short).
func startFreshnessPoller(ctx context.Context, dbURL string, tenant int64) (*freshnessPoller, error) {
	p := &freshnessPoller{done: make(chan struct{})}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	var cols []string
	rows, err := conn.Query(ctx, `SELECT column_name::text FROM information_schema.columns WHERE table_name = 'gold_freshness'`)
	if err == nil {
		cols, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		conn.Close(ctx)
		return nil, err
	}
	if !slices.Contains(cols, "version") {
		conn.Close(ctx)
		p.res.missing = "gold_freshness has no version column yet (migration 00007)"
		return p, nil
	}
	p.res.committed = slices.Contains(cols, "committed")
	sql := `SELECT version::bigint, committed FROM gold_freshness WHERE tenant_id = $1`
	if !p.res.committed {
		sql = `SELECT version::bigint, now() FROM gold_freshness WHERE tenant_id = $1`
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer conn.Close(context.Background())
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			var v int64
			var committed *time.Time
			seen := time.Now()
			err := conn.QueryRow(ctx, sql, tenant).Scan(&v, &committed)
			if err != nil && err != pgx.ErrNoRows {
				p.res.err = err
				return
			}
			p.res.polls++
			if err == nil && (len(p.res.hist) == 0 || v > p.res.hist[len(p.res.hist)-1].v) {
				at := seen
				if p.res.committed && committed != nil {
					at = *committed
				}
				if n := len(p.res.hist); n > 0 && at.Before(p.res.hist[n-1].at) {
					at = p.res.hist[n-1].at // keep commit times in version order
				}
				p.res.hist = append(p.res.hist, versionAt{v, at})
			}
			select {
			case <-p.done:
				return
			case <-tick.C:
			}
		}
	}()
	return p, nil
}

func (p *freshnessPoller) stop() freshnessLog {
	close(p.done)
	p.wg.Wait()
	return p.res
}

// freshness is the verdict of the freshness rule over a scenario's
// responses.
type freshness struct {
	verdict, detail string
	lines           []string
}

// checkFreshness applies the rule to every successful response: showing
// version v is fresh if v is the newest version committed before the
// request started, or if the first version after v was committed less
// than freshnessGoal before the request started. A response's lag is the
// request's start minus that successor's commit time (0 when v was the
// newest). It also checks X-LearnLens-Date against the tenant's date.
func checkFreshness(samples []sample, log freshnessLog, loc *time.Location) freshness {
	var ok []sample
	withVersion, withDate, badDate := 0, 0, 0
	var firstBadDate string
	for _, s := range samples {
		if !s.ok {
			continue
		}
		ok = append(ok, s)
		if s.version != "" {
			withVersion++
		}
		if s.date != "" {
			withDate++
			a := s.start.In(loc).Format(time.DateOnly)
			z := s.start.Add(s.lat).In(loc).Format(time.DateOnly)
			if s.date != a && s.date != z {
				badDate++
				if firstBadDate == "" {
					firstBadDate = fmt.Sprintf("%q on a request of %s", s.date, a)
				}
			}
		}
	}
	var f freshness
	dateLine := "  X-LearnLens-Date: not available (no response carries it)"
	if withDate > 0 {
		dateLine = fmt.Sprintf("  X-LearnLens-Date: on %d of %d responses, %d not the tenant's date at the request", withDate, len(ok), badDate)
		if badDate > 0 {
			dateLine += " (first: " + firstBadDate + ")"
		}
	}
	switch {
	case withVersion == 0:
		f.verdict, f.detail = "n/a", "not available: no response carries "+headerVersion
	case log.missing != "":
		f.verdict, f.detail = "n/a", "not available: "+log.missing
	case log.err != nil:
		f.verdict, f.detail = "MISS", "the gold_freshness poller failed: "+log.err.Error()
	case len(log.hist) == 0:
		f.verdict, f.detail = "MISS", "the poller saw no version of the tenant"
	}
	if f.verdict != "" {
		f.lines = []string{"  freshness: " + f.detail, dateLine}
		return f
	}

	hist := log.hist
	var lags []time.Duration
	stale, malformed, unknown := 0, 0, 0
	var worst string
	for _, s := range ok {
		if s.version == "" {
			unknown++
			continue
		}
		v, err := strconv.ParseInt(s.version, 10, 64)
		if err != nil {
			malformed++
			continue
		}
		// The newest version committed before the request started.
		i := sort.Search(len(hist), func(i int) bool { return !hist[i].at.Before(s.start) }) - 1
		if i < 0 || v >= hist[i].v {
			lags = append(lags, 0)
			continue
		}
		j := sort.Search(len(hist), func(j int) bool { return hist[j].v > v }) // v's successor (first seen after v)
		lag := s.start.Sub(hist[j].at)
		lags = append(lags, lag)
		if lag >= freshnessGoal {
			if stale == 0 {
				worst = fmt.Sprintf("e.g. version %d shown to a request of %s when %d was the newest (committed %s)", v,
					s.start.Format("15:04:05.000"), hist[i].v, hist[i].at.Format("15:04:05.000"))
			}
			stale++
		}
	}
	slices.Sort(lags)
	basis := "gold_freshness.committed"
	if !log.committed {
		basis = "the poll that first saw each version (no committed column; lags read up to 20 ms short)"
	}
	f.verdict = "PASS"
	if stale > 0 || malformed > 0 || unknown > 0 || len(lags) == 0 {
		f.verdict = "MISS"
	}
	f.detail = fmt.Sprintf("max lag %s ms, p99 %s ms; %d of %d responses over %s", ms(lagMax(lags)), ms(percentile(lags, 0.99)),
		stale, len(lags), freshnessGoal)
	f.lines = []string{
		fmt.Sprintf("  freshness: %d versions seen in %d polls (v%d … v%d), commit times from %s", len(hist), log.polls,
			hist[0].v, hist[len(hist)-1].v, basis),
		fmt.Sprintf("  freshness: lag = request start − commit of the first version after the one shown (0 if the shown one was the newest): max %s ms, p99 %s ms, p50 %s ms; %d of %d responses %s or more behind — %s",
			ms(lagMax(lags)), ms(percentile(lags, 0.99)), ms(percentile(lags, 0.5)), stale, len(lags), freshnessGoal, f.verdict),
	}
	if stale > 0 {
		f.lines = append(f.lines, "  freshness: "+worst)
	}
	if unknown > 0 || malformed > 0 {
		f.lines = append(f.lines, fmt.Sprintf("  freshness: %d responses without %s, %d with a malformed one", unknown, headerVersion, malformed))
		f.detail += fmt.Sprintf("; %d responses without the header, %d malformed", unknown, malformed)
	}
	f.lines = append(f.lines, dateLine)
	return f
}

func lagMax(sorted []time.Duration) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[len(sorted)-1]
}

func (f freshness) print() {
	for _, l := range f.lines {
		fmt.Println(l)
	}
}
