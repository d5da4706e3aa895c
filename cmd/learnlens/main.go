// Command learnlens runs the LearnLens server and its maintenance tasks.
//
//	learnlens serve [--dev]            start the web server (--dev: migrate, seed demo data if empty)
//	learnlens migrate up|down|status   apply or inspect schema migrations
//	learnlens seed --demo              create the demo tenants, users and learning data
//	learnlens seed --bench --tenants T --learners N --statements M   large benchmark tenants
//	learnlens version                  print the version
//	learnlens credentials create --tenant SLUG --name NAME   make an xAPI key and secret
//	learnlens import --tenant SLUG --kind KIND [--all-or-nothing] [--dry-run] FILE
//	learnlens gold rebuild --tenant SLUG   recompute a tenant's gold tables from silver
//	learnlens tenant xapi-limits --tenant SLUG [--rate N] [--burst N] [--concurrency N]   a tenant's own xAPI limits
//	learnlens devdb start|stop --dir D [--replica-dir R] start (printing its URL, and its replica's) or stop a private cluster, for make test and make cluster
//	learnlens keys rotate|list         rotate or list the keys that sign API access tokens (TOKEN_KEY)
//
// With DATABASE_URL, DATABASE_PLATFORM_URL and DATABASE_OWNER_URL unset,
// every command uses a private PostgreSQL cluster under $DATA_DIR/postgres,
// created on first use and stopped on exit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/learnlens/learnlens/cli"
	"github.com/learnlens/learnlens/config"
	"github.com/learnlens/learnlens/database"
	"github.com/learnlens/learnlens/devdb"
	"github.com/learnlens/learnlens/handlers"
	"github.com/learnlens/learnlens/seed"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `usage: learnlens <command>

commands:
  serve [--dev]            start the web server (--dev: apply migrations and load demo data into an empty database)
  migrate up|down|status   apply, roll back or list schema migrations
  seed --demo              create the demo tenants, users and learning data (through the ingest pipeline)
  seed --bench --tenants T --learners N --statements M [--prefix P] [--writers W] [--ingest]
                           create benchmark tenants P001…: imports, then the statements by bulk load
                           (COPY on W connections, straight into the tables when DATABASE_OWNER_URL's
                           login bypasses row level security; then the set-based rebuild), or through
                           the ingest path with --ingest
  version                  print the version
  credentials create --tenant SLUG --name NAME
                           make an xAPI key and secret for a tenant (the secret is shown once)
  import --tenant SLUG --kind roster|courses|enrollments|requirements [--all-or-nothing] [--dry-run] FILE
                           import a CSV or XLSX file
  gold rebuild --tenant SLUG
                           recompute a tenant's gold tables from silver, on two connections
  silver rebuild --tenant SLUG
                           recompute a tenant's daily activity, enrolments and compliance completions
                           from its learning events and imports, then its gold
  tenant xapi-limits --tenant SLUG [--rate N] [--burst N] [--concurrency N]
                           a tenant's own limits per xAPI credential (left out: the deployment's; 0: none)
  devdb start|stop --dir D [--replica-dir R]
                           start (printing a superuser URL) or stop a private PostgreSQL cluster;
                           with --replica-dir, also a streaming replica of it made afresh (its URL on a second line)
  keys rotate|list         rotate or list the keys that sign API access tokens (TOKEN_KEY)
`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "learnlens:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return errors.New("no command given")
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	config.TuneGC() // serve, seed and import all run the ingest path

	switch args[0] {
	case "version":
		fmt.Println("learnlens", version)
		return nil
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		dev := fs.Bool("dev", false, "apply migrations and load demo data into an empty database")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return serve(ctx, cfg, *dev)
	case "migrate":
		if len(args) != 2 {
			return errors.New("usage: learnlens migrate up|down|status")
		}
		return withDatabase(ctx, cfg, false, func(urls databaseURLs) error {
			owner, err := urls.owner()
			if err != nil {
				return err
			}
			return migrate(ctx, owner, args[1], os.Stdout)
		})
	case "seed":
		fs := flag.NewFlagSet("seed", flag.ContinueOnError)
		demo := fs.Bool("demo", false, "create the demo tenants, users and learning data")
		bench := fs.Bool("bench", false, "create benchmark tenants (imports, then a bulk load of the statements)")
		var o seed.BenchOptions
		fs.IntVar(&o.Tenants, "tenants", 1, "with --bench: how many tenants")
		fs.IntVar(&o.Learners, "learners", 1000, "with --bench: people per tenant")
		fs.IntVar(&o.Statements, "statements", 100000, "with --bench: statements per tenant")
		fs.StringVar(&o.Prefix, "prefix", "bench", "with --bench: tenant slug prefix")
		fs.IntVar(&o.Writers, "writers", 0, "with --bench: connections writing each tenant's statements (default 2, 1 when tenants load in parallel)")
		fs.BoolVar(&o.Ingest, "ingest", false, "with --bench: send the statements through the ingest path instead of the bulk load")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		switch {
		case *demo:
			return withDatabaseURL(ctx, cfg, func(urls databaseURLs) error { return seedDemo(ctx, urls) })
		case *bench:
			return withDatabaseURL(ctx, cfg, func(urls databaseURLs) error {
				db, err := urls.open(ctx)
				if err != nil {
					return err
				}
				defer db.Close()
				// The owner's login, when given, lets the bulk load copy
				// straight into bronze and the events (a superuser's does).
				if urls.Owner != "" && !o.Ingest {
					cfg, err := pgxpool.ParseConfig(urls.Owner)
					if err != nil {
						return err
					}
					// Every writer of the two tenants loading at once holds
					// its connection until all of them are done.
					cfg.MaxConns = int32(2 * max(o.Writers, 2))
					if o.Direct, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
						return err
					}
					defer o.Direct.Close()
				}
				return seed.Bench(ctx, db, os.Stdout, o)
			})
		}
		return errors.New("usage: learnlens seed --demo | --bench --tenants T --learners N --statements M")
	case "devdb":
		return devDB(ctx, args[1:])
	case "keys":
		devTokenKey(&cfg)
		key, err := cfg.TokenSealKey()
		if err != nil {
			return err
		}
		return withDatabaseURL(ctx, cfg, func(urls databaseURLs) error {
			db, err := urls.open(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			return cli.Keys(ctx, db, key, os.Stdout, args[1:])
		})
	case "credentials", "import", "gold", "silver", "tenant":
		return withDatabaseURL(ctx, cfg, func(urls databaseURLs) error {
			db, err := urls.open(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			return cli.Run(ctx, db, os.Stdout, args)
		})
	default:
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func serve(ctx context.Context, cfg config.Config, dev bool) error {
	log := newLogger(cfg.LogLevel)
	// The demo data's printed platform login works without a second factor.
	cfg.AdminMFAOptional = dev
	if dev {
		if err := makeDevTokenKey(cfg); err != nil {
			return err
		}
	}
	devTokenKey(&cfg)
	return withDatabaseURL(ctx, cfg, func(urls databaseURLs) error {
		if dev {
			if !cfg.PrivateDatabase() { // the private cluster is migrated already
				owner, err := urls.owner()
				if err != nil {
					return err
				}
				if err := migrate(ctx, owner, "up", os.Stdout); err != nil {
					return err
				}
			}
			if err := seedDemo(ctx, urls); err != nil {
				return err
			}
		}
		db, err := urls.open(ctx)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := checkSchema(ctx, db, log); err != nil {
			return err
		}
		app, metricsHandler, lc := handlers.New(cfg, db, log)
		defer lc.Stop()
		reportCtx, endReport := context.WithCancel(context.Background())
		reported := make(chan struct{})
		go func() { reportInstance(reportCtx, db, log, cfg.Port); close(reported) }()
		defer func() { endReport(); <-reported }()

		ln, err := net.Listen("tcp", ":"+strconv.Itoa(cfg.Port))
		if err != nil {
			return err
		}
		errc := make(chan error, 2)
		if cfg.MetricsAddr != "" {
			mln, err := net.Listen("tcp", cfg.MetricsAddr)
			if err != nil {
				ln.Close()
				return fmt.Errorf("METRICS_ADDR: %w", err)
			}
			ms := &http.Server{Handler: metricsHandler, ReadHeaderTimeout: 10 * time.Second}
			defer ms.Close()
			go func() { errc <- fmt.Errorf("metrics: %w", ms.Serve(mln)) }()
			log.Info("metrics", "addr", mln.Addr().String())
		}
		go func() { errc <- app.Listener(ln) }()
		log.Info("listening", "port", cfg.Port, "base_domain", cfg.BaseDomain, "version", version)
		if dev {
			seed.PrintLogins(os.Stdout, cfg.BaseDomain, cfg.Port)
		}
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
		}
		// Readiness fails first and live connections move, so that a load
		// balancer sends nothing new here; then in-flight requests finish.
		drain := cfg.ShutdownDrain
		if _, set := os.LookupEnv("SHUTDOWN_DRAIN"); dev && !set {
			drain = 0 // no load balancer in front of make run
		}
		log.Info("draining: readiness fails, live connections close", "drain", drain.String())
		lc.Drain()
		time.Sleep(drain)
		log.Info("shutting down: finishing in-flight requests", "timeout", cfg.ShutdownTimeout.String())
		return app.ShutdownWithTimeout(cfg.ShutdownTimeout)
	})
}

// devTokenFile is where `serve --dev` keeps its TOKEN_KEY, under DATA_DIR.
func devTokenFile(cfg config.Config) string { return filepath.Join(cfg.DataDir, "token.key") }

// makeDevTokenKey writes a new TOKEN_KEY to DATA_DIR/token.key unless
// TOKEN_KEY or TOKEN_KEY_FILE is set or the file exists.
func makeDevTokenKey(cfg config.Config) error {
	if cfg.TokenKey != "" || cfg.TokenKeyFile != "" {
		return nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(devTokenFile(cfg), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("make TOKEN_KEY file: %w", err)
	}
	if _, err := fmt.Fprintln(f, config.NewTokenKey()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// devTokenKey points a configuration without TOKEN_KEY and TOKEN_KEY_FILE
// at DATA_DIR/token.key when `serve --dev` made one there.
func devTokenKey(cfg *config.Config) {
	if cfg.TokenKey != "" || cfg.TokenKeyFile != "" {
		return
	}
	if _, err := os.Stat(devTokenFile(*cfg)); err == nil {
		cfg.TokenKeyFile = devTokenFile(*cfg)
	}
}

func seedDemo(ctx context.Context, urls databaseURLs) error {
	owner, err := urls.owner()
	if err != nil {
		return err
	}
	db, err := urls.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	created, err := seed.Demo(ctx, db)
	if err != nil {
		return fmt.Errorf("seed demo data: %w", err)
	}
	if created {
		fmt.Println("created the demo tenants acme and globex with their users")
	}
	if err := seed.DemoData(ctx, db, os.Stdout); err != nil {
		return err
	}
	// Fresh tables have no statistics until autovacuum comes by; the
	// dashboards' plans need them from the first page.
	return database.Analyze(ctx, owner)
}

// databaseURLs are a database's three logins: the app's two and the
// schema owner's, with which migrations and ANALYZE run.
type databaseURLs struct {
	database.Logins
	Owner string
}

// open connects the app's two logins.
func (u databaseURLs) open(ctx context.Context) (*database.DB, error) {
	if u.App == "" {
		return nil, errors.New("DATABASE_URL and DATABASE_PLATFORM_URL are unset: this command runs as the app (docs/SECURITY.md)")
	}
	return database.Open(ctx, u.Logins)
}

// owner returns the owner's URL, which only migrations and seeding need.
func (u databaseURLs) owner() (string, error) {
	if u.Owner == "" {
		return "", errors.New("DATABASE_OWNER_URL is unset: migrations and seeding run as the schema's owner (docs/SECURITY.md)")
	}
	return u.Owner, nil
}

// withDatabaseURL calls fn with the configured logins, or, when none is
// set, with those of a database in the private cluster under DATA_DIR,
// which it stops afterwards. The private database is migrated first (it is
// the development set-up), except for the migrate command itself.
func withDatabaseURL(ctx context.Context, cfg config.Config, fn func(urls databaseURLs) error) error {
	return withDatabase(ctx, cfg, true, fn)
}

func withDatabase(ctx context.Context, cfg config.Config, migrateFirst bool, fn func(urls databaseURLs) error) error {
	if !cfg.PrivateDatabase() {
		return fn(databaseURLs{
			Logins: database.Logins{App: cfg.DatabaseURL, Platform: cfg.DatabasePlatformURL, Read: cfg.DatabaseReadURL},
			Owner:  cfg.DatabaseOwnerURL,
		})
	}
	cluster, err := devdb.Start(ctx, devdb.Options{Dir: cfg.DataDir + "/postgres", Port: cfg.DevDBPort})
	if err != nil {
		return err
	}
	defer cluster.Stop()
	if err := cluster.EnsureDatabase(ctx, "learnlens"); err != nil {
		return err
	}
	// The cluster's superuser owns the schema, as it always has.
	urls := databaseURLs{
		Logins: database.Logins{App: cluster.URLAs(database.AppRole, "learnlens"), Platform: cluster.URLAs(database.PlatformRole, "learnlens")},
		Owner:  cluster.URL("learnlens"),
	}
	if migrateFirst {
		if err := migrate(ctx, urls.Owner, "up", os.Stdout); err != nil {
			return err
		}
	}
	return fn(urls)
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // config.Load refuses a level it does not read
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: l}))
}

// devDB starts or stops a private cluster that outlives this process, so
// make test can share one cluster between all test binaries.
func devDB(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: learnlens devdb start|stop --dir DIR [--replica-dir DIR]")
	}
	fs := flag.NewFlagSet("devdb", flag.ContinueOnError)
	dir := fs.String("dir", "", "data directory of the cluster")
	replicaDir := fs.String("replica-dir", "", "start: also a streaming replica of the cluster in this directory, made afresh (its URL is printed on a second line); stop: stop it too")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("devdb: --dir is required")
	}
	switch args[0] {
	case "start":
		c, err := devdb.Start(ctx, devdb.Options{Dir: *dir})
		if err != nil {
			return err
		}
		fmt.Println(c.URL("postgres"))
		if *replicaDir == "" {
			return nil
		}
		// A replica is a copy of the primary as it is now: the one left
		// from an earlier run is dropped, not caught up.
		_ = devdb.StopDir(*replicaDir)
		if err := os.RemoveAll(*replicaDir); err != nil {
			return err
		}
		r, err := devdb.StartReplica(ctx, c, devdb.Options{Dir: *replicaDir})
		if err != nil {
			return err
		}
		fmt.Println(r.URL("postgres"))
		return nil
	case "stop":
		var replicaErr error
		if *replicaDir != "" {
			replicaErr = devdb.StopDir(*replicaDir)
		}
		return errors.Join(replicaErr, devdb.StopDir(*dir))
	}
	return fmt.Errorf("devdb: unknown action %q: use start or stop", args[0])
}
