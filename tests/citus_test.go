package tests

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/learnlens/learnlens/database/testdb"
)

// Sharding by tenant with Citus (docs/SCALING.md) needs a schema and
// queries that Citus can route to one tenant's shard. Citus is not
// packaged for these machines, so these tests prove it statically, over
// the migrated schema and over the SQL in the code.

// globalLookups are tenant tables read by a key that is unique across
// tenants before the tenant is known (a request's host, an xAPI key, an
// API client's id). Citus cannot enforce such a key on a table
// distributed by tenant, so they become reference tables (copied to every
// node): each is small, a few rows per tenant.
var globalLookups = map[string]string{
	"tenant_domains":   "a request's host resolves to its tenant: (kind, domain) is unique across tenants",
	"xapi_credentials": "an xAPI request's key resolves to its tenant: key is unique across tenants",
	"api_clients":      "an API token request's client_id resolves to its tenant: client_id is unique across tenants",
}

// localTables stay on the Citus coordinator only: the migration tool's
// own bookkeeping.
var localTables = map[string]bool{"goose_db_version": true}

// citusSchema is the migrated schema as the checks need it.
type citusSchema struct {
	tables    []string            // every table of the public schema, sorted
	hasTenant map[string]bool     // tables with a tenant_id column
	keys      []citusKey          // primary keys, unique constraints and unique indexes
	fks       []citusFK           // foreign keys
	rls       map[string]bool     // tables with row level security enabled
	columns   map[string][]string // columns by table
}

type citusKey struct {
	table, name string
	columns     []string // key columns; "" for an expression
}

type citusFK struct {
	table, name, ref string
	columns, refCols []string
}

// loadCitusSchema reads the schema of a freshly migrated database.
func loadCitusSchema(t *testing.T) citusSchema {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testdb.NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	s := citusSchema{hasTenant: map[string]bool{}, rls: map[string]bool{}, columns: map[string][]string{}}
	rows, err := conn.Query(ctx, `SELECT c.relname, c.relrowsecurity,
			array(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		var rls bool
		var cols []string
		if err := rows.Scan(&name, &rls, &cols); err != nil {
			t.Fatal(err)
		}
		s.tables = append(s.tables, name)
		s.rls[name], s.columns[name] = rls, cols
		s.hasTenant[name] = slices.Contains(cols, "tenant_id")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Unique indexes cover primary keys and unique constraints too.
	rows, err = conn.Query(ctx, `SELECT c.relname, i.relname,
			array(SELECT coalesce(a.attname::text, '') FROM unnest(x.indkey[0:x.indnkeyatts-1]) WITH ORDINALITY k(attnum, n)
				LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum AND k.attnum > 0 ORDER BY k.n)
		FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
			JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND x.indisunique ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k citusKey
		if err := rows.Scan(&k.table, &k.name, &k.columns); err != nil {
			t.Fatal(err)
		}
		s.keys = append(s.keys, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows, err = conn.Query(ctx, `SELECT c.relname, con.conname, r.relname,
			array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, n) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.n),
			array(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, n) JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.n)
		FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_class r ON r.oid = con.confrelid
			JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND con.contype = 'f' ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var f citusFK
		if err := rows.Scan(&f.table, &f.name, &f.ref, &f.columns, &f.refCols); err != nil {
			t.Fatal(err)
		}
		s.fks = append(s.fks, f)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return s
}

// distributed says whether table is distributed by tenant_id.
func (s citusSchema) distributed(table string) bool {
	_, global := globalLookups[table]
	return s.hasTenant[table] && !global
}

// reference says whether table is a reference table.
func (s citusSchema) reference(table string) bool {
	return !s.distributed(table) && !localTables[table]
}

// citusAnchor is the distributed table the others are colocated with:
// the roster, which nearly every query joins.
const citusAnchor = "learners"

// plan is the Citus plan the schema implies: the statements that
// docs/SCALING.md must give.
func (s citusSchema) plan() (reference, distributed []string) {
	for _, t := range s.tables {
		switch {
		case localTables[t]:
		case s.distributed(t):
			distributed = append(distributed, t)
		default:
			reference = append(reference, t)
		}
	}
	return reference, distributed
}

// TestCitusReadySchema: every table is placed (distributed by tenant_id,
// reference, or local); every distributed table has tenant_id in its
// primary key and every unique key; foreign keys between distributed
// tables include tenant_id on both sides; no reference table points at a
// distributed one; and docs/SCALING.md gives the plan for every table.
func TestCitusReadySchema(t *testing.T) {
	t.Parallel()
	s := loadCitusSchema(t)
	for name := range globalLookups {
		if !s.hasTenant[name] {
			t.Errorf("global lookup %s has no tenant_id column (or no longer exists): update globalLookups", name)
		}
	}
	hasPK := map[string]bool{}
	for _, k := range s.keys {
		if strings.HasSuffix(k.name, "_pkey") {
			hasPK[k.table] = true
		}
		if !s.distributed(k.table) {
			continue
		}
		if !slices.Contains(k.columns, "tenant_id") {
			t.Errorf("%s: unique index %s on (%s) lacks tenant_id: Citus cannot enforce it across shards "+
				"(widen it to (tenant_id, …), or list the table in globalLookups if the key must be unique across tenants)",
				k.table, k.name, strings.Join(k.columns, ", "))
		}
	}
	for _, table := range s.tables {
		if s.distributed(table) && !hasPK[table] {
			t.Errorf("%s: distributed table without a primary key", table)
		}
		if s.hasTenant[table] && !s.rls[table] {
			t.Errorf("%s: tenant table without row level security", table)
		}
	}
	for _, f := range s.fks {
		switch {
		case s.distributed(f.table) && s.distributed(f.ref):
			i := slices.Index(f.columns, "tenant_id")
			if i < 0 || f.refCols[i] != "tenant_id" {
				t.Errorf("%s: foreign key %s (%s) → %s (%s) does not equate tenant_id: Citus needs it colocated",
					f.table, f.name, strings.Join(f.columns, ", "), f.ref, strings.Join(f.refCols, ", "))
			}
		case s.reference(f.table) && s.distributed(f.ref):
			t.Errorf("%s: reference table with foreign key %s to distributed table %s, which Citus refuses", f.table, f.name, f.ref)
		}
	}
	doc, err := os.ReadFile("../docs/SCALING.md")
	if err != nil {
		t.Fatal(err)
	}
	reference, distributed := s.plan()
	if !slices.Contains(distributed, citusAnchor) {
		t.Fatalf("the colocation anchor %s is not a distributed table", citusAnchor)
	}
	for _, table := range reference {
		if want := fmt.Sprintf("SELECT create_reference_table('%s');", table); !strings.Contains(string(doc), want) {
			t.Errorf("docs/SCALING.md lacks %s", want)
		}
	}
	for _, table := range distributed {
		want := fmt.Sprintf("SELECT create_distributed_table('%s', 'tenant_id', colocate_with => '%s');", table, citusAnchor)
		if table == citusAnchor {
			want = fmt.Sprintf("SELECT create_distributed_table('%s', 'tenant_id');", table)
		}
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/SCALING.md lacks %s", want)
		}
	}
	// Nothing in the plan that the schema no longer has.
	for _, m := range regexp.MustCompile(`create_(?:reference|distributed)_table\('(\w+)'`).FindAllStringSubmatch(string(doc), -1) {
		if !slices.Contains(s.tables, m[1]) {
			t.Errorf("docs/SCALING.md places %s, which the schema does not have", m[1])
		}
	}
}

// sqlLiteral is an SQL string found in the code.
type sqlLiteral struct {
	pos string
	sql string
}

// codeSQL returns the SQL strings of the application's Go code (not its
// tests): string literals, and concatenations of them with the
// non-constant parts replaced by "?".
func codeSQL(t *testing.T) []sqlLiteral {
	t.Helper()
	var out []sqlLiteral
	statement := regexp.MustCompile(`(?is)^\s*(SELECT|WITH|INSERT|UPDATE|DELETE)\b.*\b(FROM|INTO|UPDATE|SET)\b|\bJOIN\b`)
	fset := token.NewFileSet()
	files := map[string][]*ast.File{} // by directory, for its constants
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", "tests", ".git", "static", "migrations":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.HasSuffix(path, "_templ.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files[filepath.Dir(path)] = append(files[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range files {
		// A package's string constants stand for themselves in the
		// concatenations that use them.
		consts := map[string]string{}
		for _, f := range pkg {
			for _, decl := range f.Decls {
				if g, ok := decl.(*ast.GenDecl); ok && g.Tok == token.CONST {
					for _, spec := range g.Specs {
						v := spec.(*ast.ValueSpec)
						for i, name := range v.Names {
							if i < len(v.Values) {
								if s, ok := concat(v.Values[i], nil); ok {
									consts[name.Name] = s
								}
							}
						}
					}
				}
			}
		}
		for _, f := range pkg {
			out = append(out, fileSQL(fset, f, consts, statement)...)
		}
	}
	return out
}

// fileSQL returns the SQL strings of f.
func fileSQL(fset *token.FileSet, f *ast.File, consts map[string]string, statement *regexp.Regexp) []sqlLiteral {
	var out []sqlLiteral
	ast.Inspect(f, func(n ast.Node) bool {
		var s string
		switch e := n.(type) {
		case *ast.BinaryExpr:
			if e.Op != token.ADD {
				return true
			}
			var ok bool
			if s, ok = concat(e, consts); !ok {
				return true
			}
		case *ast.BasicLit:
			if e.Kind != token.STRING {
				return true
			}
			s, _ = strconv.Unquote(e.Value)
		default:
			return true
		}
		if statement.MatchString(s) {
			out = append(out, sqlLiteral{pos: fset.Position(n.Pos()).String(), sql: s})
		}
		// A concatenation is checked whole: its parts are not
		// checked again on their own.
		_, isConcat := n.(*ast.BinaryExpr)
		return !isConcat
	})
	return out
}

// concat joins a + b + … where at least one operand is a string literal
// or one of consts; other operands become "?". ok is false when no
// operand is known.
func concat(e ast.Expr, consts map[string]string) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			s, err := strconv.Unquote(e.Value)
			return s, err == nil
		}
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			l, lok := concat(e.X, consts)
			r, rok := concat(e.Y, consts)
			if !lok {
				l = " ? "
			}
			if !rok {
				r = " ? "
			}
			return l + r, lok || rok
		}
	case *ast.ParenExpr:
		return concat(e.X, consts)
	case *ast.Ident:
		if s, ok := consts[e.Name]; ok {
			return s, true
		}
	}
	return " ? ", false
}

// tableRef is a table named in a statement, with the name its columns are
// qualified by.
type tableRef struct {
	table, alias, via string // via: FROM, JOIN, UPDATE, INTO, or "," (a comma join)
}

var (
	sqlComment = regexp.MustCompile(`--[^\n]*`)
	// refPattern finds tables after FROM, JOIN, UPDATE, INTO and commas
	// of a FROM list, with an optional alias.
	refPattern = regexp.MustCompile(`(?i)\b(FROM|JOIN|UPDATE|INTO|DELETE\s+FROM)\s+(?:ONLY\s+)?([a-z_][a-z0-9_]*)(?:\s+(?:AS\s+)?([a-z_][a-z0-9_]*))?`)
	notAlias   = map[string]bool{"where": true, "join": true, "on": true, "set": true, "using": true, "group": true, "order": true,
		"limit": true, "left": true, "right": true, "inner": true, "full": true, "cross": true, "natural": true, "values": true,
		"select": true, "returning": true, "union": true, "except": true, "intersect": true, "window": true, "having": true,
		"offset": true, "for": true, "with": true, "as": true, "default": true, "lateral": true, "tablesample": true, "do": true, "on_conflict": true}
)

// tableRefs lists the tables statement sql names.
func tableRefs(sql string) []tableRef {
	var refs []tableRef
	for _, m := range refPattern.FindAllStringSubmatch(sql, -1) {
		ref := tableRef{table: strings.ToLower(m[2]), alias: strings.ToLower(m[3]), via: strings.ToUpper(strings.Fields(m[1])[0])}
		if ref.alias == "" || notAlias[ref.alias] {
			ref.alias = ref.table
		}
		refs = append(refs, ref)
	}
	return refs
}

// tenantCondition says whether sql restricts alias's rows to one tenant:
// alias.tenant_id (or an unqualified tenant_id when alias is the table's
// own name) compared with a parameter, another tenant_id or a tenant
// expression, set in an INSERT's column list, or joined with USING
// (tenant_id, …).
func tenantCondition(sql string, ref tableRef, refs int) bool {
	q := `(?:` + regexp.QuoteMeta(ref.alias) + `\.)`
	if ref.alias == ref.table || refs == 1 {
		q += `?`
	}
	col := `(?:\b` + q + `tenant_id\b)`
	other := `(?:\$\d+|@\w+|\?|\w+\.tenant_id|\(\s*SELECT\b|[a-z_]+\.id\b|current_setting\b|[a-z_]+\s*\()`
	patterns := []string{
		col + `\s*(?:=|IN\b|=\s*ANY\b)\s*` + other,
		other + `\s*=\s*` + col,
		`(?i)USING\s*\(\s*tenant_id\b`,
	}
	if ref.via == "INTO" {
		patterns = append(patterns, `(?is)INTO\s+`+regexp.QuoteMeta(ref.table)+`\s*(?:AS\s+\w+\s*)?\([^)]*\btenant_id\b`)
	}
	for _, p := range patterns {
		if !strings.HasPrefix(p, "(?") {
			p = "(?is)" + p
		}
		if regexp.MustCompile(p).MatchString(sql) {
			return true
		}
	}
	return false
}

// crossTenantSQL are the code's statements that read several tenants on
// purpose, by a distinctive part of their text: platform-wide work on the
// platform login. On Citus they run on every shard.
var crossTenantSQL = map[string]string{}

// TestCitusReadyQueries: every SQL statement in the code that names a
// distributed table restricts it to one tenant (tenant_id compared with
// the tenant, or equated with another table's tenant_id), so that Citus
// routes it to one shard and no join pairs rows of two tenants.
//
// Its limits: it reads SQL written as string literals (and concatenations
// of them) in the Go code; SQL that GORM builds from models, and fragments
// assembled at run time by functions, are checked only as far as their
// literal parts show (GORM's queries run under row level security and
// each store method names its tenant, see STYLE.md). It matches text, not
// a parse tree: a tenant_id comparison anywhere in a statement satisfies
// the table it qualifies, even in another subquery.
func TestCitusReadyQueries(t *testing.T) {
	t.Parallel()
	s := loadCitusSchema(t)
	var problems []string
	seen := map[string]bool{}
	for _, lit := range codeSQL(t) {
		sql := sqlComment.ReplaceAllString(lit.sql, "")
		skip := false
		for part := range crossTenantSQL {
			if strings.Contains(sql, part) {
				skip = true
			}
		}
		if skip {
			continue
		}
		refs := tableRefs(sql)
		var tenantRefs []tableRef
		for _, r := range refs {
			if s.distributed(r.table) {
				tenantRefs = append(tenantRefs, r)
			}
		}
		for _, r := range tenantRefs {
			if tenantCondition(sql, r, len(tenantRefs)) {
				continue
			}
			msg := fmt.Sprintf("%s: %s %s (as %s) is not restricted to one tenant:\n\t%s", relative(lit.pos), r.via, r.table, r.alias,
				strings.Join(strings.Fields(sql), " "))
			if !seen[msg] {
				seen[msg] = true
				problems = append(problems, msg)
			}
		}
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
}

// relative shortens a position to the repository's path.
func relative(pos string) string { return strings.TrimPrefix(pos, "../") }
