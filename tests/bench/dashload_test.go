package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/learnlens/learnlens/auth"
	"github.com/learnlens/learnlens/seed"
	"github.com/learnlens/learnlens/tests/testserver"
)

// The headers a dashboard response will carry (being added elsewhere):
// the tenant's gold version its numbers reflect, and the tenant-local date.
const (
	headerVersion = "X-LearnLens-Version"
	headerDate    = "X-LearnLens-Date"
)

// route is one GET: a path, as which user, and whether htmx asks for it
// (fragment requests carry HX-Request, as htmx sends them). class groups
// routes in a mix's figures.
type route struct {
	class    string
	as       string // the user's email; "" for routes without a session (/healthz)
	path     string
	fragment bool
}

func (r route) String() string {
	if r.fragment {
		return "GET " + r.path + " (htmx)"
	}
	return "GET " + r.path
}

// benchClient is one browser: its own connection to the server and its
// own signed-in session for each user it acts as (a session cookie per
// email). managers are the scope managers whose sessions it holds.
type benchClient struct {
	http     *http.Client
	sessions map[string]string
	managers []string
	// body holds the last reply's body, read into the same buffer every
	// time: a new one per reply, grown and zeroed, took a fifth of this
	// process's CPU during the mix (about 0.2 of the machine's 2 cores),
	// taken from the server and the database being measured.
	body bytes.Buffer
}

// newBenchClient returns a client of srv with no session yet: its own
// transport (so its own connection), reaching 127.0.0.1 whatever the host
// name, not following redirects.
func newBenchClient(srv *testserver.Server) *benchClient {
	addr := "127.0.0.1:" + strconv.Itoa(srv.Port)
	tr := &http.Transport{MaxIdleConnsPerHost: 4, DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	return &benchClient{sessions: map[string]string{},
		http: &http.Client{Transport: tr, Timeout: 120 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// login signs in on host as email (password seed.DemoPassword) through
// the sign-in form, over c's connection, and keeps the new session.
func (c *benchClient) login(srv *testserver.Server, host, email string) error {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Transport: c.http.Transport, Jar: jar, Timeout: 120 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(srv.URL(host, "/login"))
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		return fmt.Errorf("no CSRF token on %s/login (status %d)", host, resp.StatusCode)
	}
	form := url.Values{"email": {email}, "password": {seed.DemoPassword}, "_csrf": {string(m[1])}}
	resp, err = hc.PostForm(srv.URL(host, "/login"), form)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("login %s on %s: status %d, want 303", email, host, resp.StatusCode)
	}
	u, _ := url.Parse(srv.URL(host, "/"))
	for _, ck := range jar.Cookies(u) {
		if ck.Name == auth.CookieName {
			c.sessions[email] = ck.Value
			return nil
		}
	}
	return fmt.Errorf("login %s on %s: no session cookie", email, host)
}

// newClients returns n clients of srv without sessions.
func newClients(b *testing.B, srv *testserver.Server, n int) []*benchClient {
	b.Helper()
	out := make([]*benchClient, n)
	for i := range out {
		out[i] = newBenchClient(srv)
		b.Cleanup(out[i].http.CloseIdleConnections)
	}
	return out
}

// clientsOn returns clients of srv with the sessions and scope managers
// of clients: sessions live in the database, so every instance knows
// them.
func clientsOn(b *testing.B, srv *testserver.Server, clients []*benchClient) []*benchClient {
	b.Helper()
	out := newClients(b, srv, len(clients))
	for i, c := range out {
		c.sessions, c.managers = clients[i].sessions, clients[i].managers
	}
	return out
}

// signIn gives every client its own session as each of emails (a few
// sign-ins at a time: each hashes a password).
func signIn(b *testing.B, srv *testserver.Server, host string, clients []*benchClient, emails ...string) {
	b.Helper()
	type job struct {
		c     *benchClient
		email string
	}
	var jobs []job
	for _, c := range clients {
		for _, e := range emails {
			if _, ok := c.sessions[e]; !ok {
				jobs = append(jobs, job{c, e})
			}
		}
	}
	signInJobs(b, srv, host, len(jobs), func(i int) (*benchClient, string) { return jobs[i].c, jobs[i].email })
}

// signInJobs runs n sign-ins, job i signing in client and email of at(i).
// A client's sign-ins run one after another (its sessions map is its own).
func signInJobs(b *testing.B, srv *testserver.Server, host string, n int, at func(int) (*benchClient, string)) {
	b.Helper()
	byClient := map[*benchClient][]string{}
	var order []*benchClient
	for i := range n {
		c, e := at(i)
		if _, ok := byClient[c]; !ok {
			order = append(order, c)
		}
		byClient[c] = append(byClient[c], e)
	}
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, c := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, e := range byClient[c] {
				sem <- struct{}{}
				err := c.login(srv, host, e)
				<-sem
				if err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
}

// reply is what the benchmark keeps of a response.
type reply struct {
	status  int
	body    []byte // the client's buffer: valid until its next request
	version string // X-LearnLens-Version, "" when absent
	date    string // X-LearnLens-Date, "" when absent
}

// get fetches r on host with the client's session of r.as and reads the
// whole body. A client makes one request at a time.
func (c *benchClient) get(srv *testserver.Server, host string, r route) (reply, error) {
	req, err := http.NewRequest(http.MethodGet, srv.URL(host, r.path), nil)
	if err != nil {
		return reply{}, err
	}
	if r.as != "" {
		tok, ok := c.sessions[r.as]
		if !ok {
			return reply{}, fmt.Errorf("the client has no session as %s", r.as)
		}
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: tok})
	}
	if r.fragment {
		req.Header.Set("HX-Request", "true")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	c.body.Reset()
	_, err = c.body.ReadFrom(resp.Body)
	return reply{status: resp.StatusCode, body: c.body.Bytes(),
		version: resp.Header.Get(headerVersion), date: resp.Header.Get(headerDate)}, err
}

// sample is one request of a load run.
type sample struct {
	class   string
	start   time.Time
	lat     time.Duration
	ok      bool
	err     string // for failed requests: the error or status and body
	version string
	date    string
}

// picker chooses client c's next request; r is the client's own random
// source.
type picker func(c *benchClient, r *rand.Rand) route

// load runs every client in a closed loop (each sends its next request as
// soon as the last one is answered, no think time) for d, and returns
// every request started before the deadline and the time until the last
// one finished.
func load(srv *testserver.Server, host string, clients []*benchClient, d time.Duration, seed uint64, pick picker) ([]sample, time.Duration) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var all []sample
	start := time.Now()
	deadline := start.Add(d)
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			var mine []sample
			for time.Now().Before(deadline) {
				r := pick(c, rng)
				t0 := time.Now()
				rep, err := c.get(srv, host, r)
				s := sample{class: r.class, start: t0, lat: time.Since(t0), version: rep.version, date: rep.date}
				switch {
				case err != nil:
					s.err = r.String() + ": " + err.Error()
				case rep.status != http.StatusOK:
					s.err = fmt.Sprintf("%s as %s: status %d: %.300s", r, r.as, rep.status, rep.body)
				default:
					s.ok = true
				}
				mine = append(mine, s)
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all, time.Since(start)
}

// stats are the figures of a set of requests.
type stats struct {
	n, failed     int
	firstErr      string
	p50, p95, p99 time.Duration
	rate          float64 // successful requests per second
	solo          time.Duration
}

// summarize computes the figures of the samples of class ("" = all) over
// elapsed.
func summarize(samples []sample, class string, elapsed time.Duration) stats {
	var st stats
	var lat []time.Duration
	for _, s := range samples {
		if class != "" && s.class != class {
			continue
		}
		if !s.ok {
			st.failed++
			if st.firstErr == "" {
				st.firstErr = s.err
			}
			continue
		}
		lat = append(lat, s.lat)
	}
	slices.Sort(lat)
	st.n = len(lat)
	st.p50, st.p95, st.p99 = percentile(lat, 0.50), percentile(lat, 0.95), percentile(lat, 0.99)
	if elapsed > 0 {
		st.rate = float64(st.n) / elapsed.Seconds()
	}
	return st
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// measure requests r once to warm up (and check it answers 200), five
// times from one client (solo), then from every client in a closed loop
// for d.
func measure(srv *testserver.Server, host string, clients []*benchClient, r route, d time.Duration) stats {
	rep, err := clients[0].get(srv, host, r)
	if err != nil || rep.status != http.StatusOK {
		st := stats{failed: 1, firstErr: fmt.Sprintf("status %d: %.300s", rep.status, rep.body)}
		if err != nil {
			st.firstErr = err.Error()
		}
		return st
	}
	var solo []time.Duration
	for range 5 {
		t0 := time.Now()
		clients[0].get(srv, host, r)
		solo = append(solo, time.Since(t0))
	}
	slices.Sort(solo)
	samples, elapsed := load(srv, host, clients, d, 1, func(*benchClient, *rand.Rand) route { return r })
	st := summarize(samples, "", elapsed)
	st.solo = solo[len(solo)/2]
	return st
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
}

// ratio is a's p95 over the baseline's, as printed.
func ratio(a, base stats) string {
	if base.p95 <= 0 || a.n == 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(a.p95)/float64(base.p95), 'f', 1, 64)
}

const rowFormat = "%-72s %7s %7s %7s %7s %7s %8s %7s %5s"

func printHeader() {
	fmt.Printf(rowFormat+"\n", "route or class", "n", "solo", "p50", "p95", "p99", "req/s", "vs hlth", "goal")
}

// printRow prints one row; goal is "PASS", "MISS" or "" (no goal).
func printRow(name string, st stats, base stats, goal string) {
	if st.n == 0 {
		fmt.Printf("%-72s FAILED (%d): %.200s\n", name, st.failed, st.firstErr)
		return
	}
	solo := "-"
	if st.solo > 0 {
		solo = ms(st.solo)
	}
	fmt.Printf(rowFormat, name, strconv.Itoa(st.n), solo, ms(st.p50), ms(st.p95), ms(st.p99),
		strconv.FormatFloat(st.rate, 'f', 1, 64), ratio(st, base), goal)
	if st.failed > 0 {
		fmt.Printf("  (%d failed: %.160s)", st.failed, st.firstErr)
	}
	fmt.Println()
}

// verdict is PASS when ok and there were answers, else MISS.
func verdict(st stats, ok bool) string {
	if st.n > 0 && st.failed == 0 && ok {
		return "PASS"
	}
	return "MISS"
}
