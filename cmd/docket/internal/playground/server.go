// Package playground serves `docket playground`: a local web page where a
// validation file is edited as three panes (schema, tuples, assertions),
// checked as it is typed, run, and explained: the explanation of any
// assertion and the userset tree of any object#relation, drawn as graphs.
//
// Everything runs in this process on in-memory stores made per request;
// nothing is written to a database. The page's code, CodeMirror included,
// is embedded in the binary (assets/, built from web/ by `npm run build`).
package playground

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/cmd/docket/internal/validate"
	"github.com/docketdb/docket/expand"
	"github.com/docketdb/docket/lsp"
	"github.com/docketdb/docket/schemas"
	"github.com/docketdb/docket/tuples"
)

//go:embed assets
var assets embed.FS

// DefaultExample is the seed validation file the page opens on when no
// file is given.
const DefaultExample = "casebook/model_team_based.yaml"

// fileName is the name a composed validation file has in positions.
const fileName = "playground.yaml"

// maxExpandDepth bounds the levels of subject sets the page expands: a
// deeper tree is too large to read as a drawing.
const maxExpandDepth = 10

// maxBody bounds a request: a validation file far larger than any seed.
const maxBody = 8 << 20

// Server is the playground's HTTP handler.
type Server struct {
	initial *Panes
	mux     *http.ServeMux
	checker *check.Checker
}

// New returns the handler. With file set, the page opens on that
// validation file (its schema_file and tuples_file read beside it); else on
// DefaultExample.
func New(file string) (*Server, error) {
	var (
		p   *Panes
		err error
	)
	if file != "" {
		src, rerr := os.ReadFile(file)
		if rerr != nil {
			return nil, fmt.Errorf("open %s: %w", file, rerr)
		}
		dir := filepath.Dir(file)
		p, err = split(file, src, func(rel string) ([]byte, error) {
			if !filepath.IsAbs(rel) {
				rel = filepath.Join(dir, rel)
			}
			return os.ReadFile(rel)
		})
	} else {
		p, err = example(DefaultExample)
	}
	if err != nil {
		return nil, err
	}
	s := &Server{initial: p, mux: http.NewServeMux(), checker: check.New(check.Options{})}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, err
	}
	s.mux.Handle("GET /", http.FileServerFS(static))
	s.mux.HandleFunc("GET /api/initial", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.initial) })
	s.mux.HandleFunc("GET /api/examples", s.examples)
	s.mux.HandleFunc("GET /api/example", s.example)
	s.mux.HandleFunc("POST /api/check", s.check)
	s.mux.HandleFunc("POST /api/validate", s.validate)
	s.mux.HandleFunc("POST /api/explain", s.explain)
	s.mux.HandleFunc("POST /api/expand", s.expand)
	s.mux.HandleFunc("POST /api/compose", s.compose)
	s.mux.HandleFunc("POST /api/split", s.split)
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		// A bug answers as an error on the page, not as a stack trace on
		// the terminal that runs the playground.
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			writeError(w, http.StatusInternalServerError, fmt.Errorf("internal error: %v; please report it with the validation file", v))
		}
	}()
	// The page is served only to this machine's browser: refuse requests
	// that a page from elsewhere makes (DNS rebinding, cross-site POSTs).
	if !localHost(r.Host) {
		http.Error(w, "the playground answers only requests for localhost or 127.0.0.1", http.StatusForbidden)
		return
	}
	if o := r.Header.Get("Origin"); o != "" && r.Method != http.MethodGet && !strings.HasSuffix(o, "//"+r.Host) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

func localHost(host string) bool {
	h := host
	if i := strings.LastIndex(host, ":"); i >= 0 && !strings.HasSuffix(host, "]") {
		h = host[:i]
	}
	return h == "localhost" || h == "[::1]" || strings.HasPrefix(h, "127.")
}

// example reads a seed validation file from the binary.
func example(name string) (*Panes, error) {
	src, err := fs.ReadFile(schemas.Files, name)
	if err != nil {
		return nil, fmt.Errorf("no example %s", name)
	}
	p, err := split(name, src, func(rel string) ([]byte, error) {
		return fs.ReadFile(schemas.Files, path.Join(path.Dir(name), rel))
	})
	if err != nil {
		return nil, err
	}
	p.Name = name
	return p, nil
}

func (s *Server) examples(w http.ResponseWriter, r *http.Request) {
	names, _ := fs.Glob(schemas.Files, "*/*.yaml")
	sort.Strings(names)
	writeJSON(w, map[string]any{"examples": names, "default": DefaultExample})
}

func (s *Server) example(w http.ResponseWriter, r *http.Request) {
	p, err := example(r.URL.Query().Get("name"))
	if err != nil {
		writeError(w, http.StatusNotFound, err)
		return
	}
	writeJSON(w, p)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("bad request: %w", err))
		return false
	}
	return true
}

func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	var p Panes
	if !readJSON(w, r, &p) {
		return
	}
	diags := lsp.Check("schema.rebac", p.Schema)
	out := map[string]any{"diagnostics": diags}
	for _, d := range diags {
		if d.Severity == "error" {
			writeJSON(w, out)
			return
		}
	}
	// A valid schema: the tuples are checked against it as validate
	// writes them.
	ctx, cancel := timeout(r)
	defer cancel()
	c := compose(&Panes{Schema: p.Schema, Tuples: p.Tuples})
	l, err := validate.Load(ctx, fileName, []byte(c.yaml))
	if err != nil {
		out["problems"] = problems(c, err)
	} else {
		_ = l.Close()
	}
	writeJSON(w, out)
}

// Problem is an error in the panes, where it is.
type Problem struct {
	Where
	Message string `json:"message"`
}

var posPrefix = regexp.MustCompile(`^` + regexp.QuoteMeta(fileName) + `:(\d+)(?::(\d+))?: (.*)$`)

// problems places the errors of a composed file in the panes.
func problems(c *composed, err error) []Problem {
	var out []Problem
	for _, l := range strings.Split(err.Error(), "\n") {
		if m := posPrefix.FindStringSubmatch(l); m != nil {
			line, _ := strconv.Atoi(m[1])
			col, _ := strconv.Atoi(m[2])
			out = append(out, Problem{Where: c.locate(line, col), Message: m[3]})
			continue
		}
		out = append(out, Problem{Where: Where{Pane: "assertions", Line: 1}, Message: strings.TrimPrefix(l, fileName+": ")})
	}
	return out
}

func timeout(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 30*time.Second)
}

// Failure is a failed expectation, placed in the assertions pane.
type Failure struct {
	validate.Failure
	Line int `json:"line"`
}

func (s *Server) validate(w http.ResponseWriter, r *http.Request) {
	var p Panes
	if !readJSON(w, r, &p) {
		return
	}
	ctx, cancel := timeout(r)
	defer cancel()
	c := compose(&p)
	rep, err := validate.RunSource(ctx, fileName, []byte(c.yaml), nil)
	if err != nil {
		writeJSON(w, map[string]any{"problems": problems(c, err)})
		return
	}
	failures := make([]Failure, 0, len(rep.Failures))
	for _, f := range rep.Failures {
		line := 0
		if m := posPrefix.FindStringSubmatch(f.Pos + ": x"); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		failures = append(failures, Failure{Failure: f, Line: c.locate(line, 0).Line})
	}
	writeJSON(w, map[string]any{"passed": rep.Passed, "failed": len(rep.Failures), "failures": failures,
		"assertions": assertionItems(c)})
}

// load writes the panes' schema and tuples to a fresh in-memory store.
func (s *Server) load(w http.ResponseWriter, ctx context.Context, p *Panes) (*validate.Loaded, bool) {
	c := compose(&Panes{Schema: p.Schema, Tuples: p.Tuples})
	l, err := validate.Load(ctx, fileName, []byte(c.yaml))
	if err != nil {
		writeJSON(w, map[string]any{"problems": problems(c, err)})
		return nil, false
	}
	return l, true
}

func (s *Server) explain(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Panes
		Query string `json:"query"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	t, err := tuples.Parse(strings.TrimSpace(req.Query))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%s: write OBJECT#RELATION@SUBJECT: %w", req.Query, err))
		return
	}
	ctx, cancel := timeout(r)
	defer cancel()
	l, ok := s.load(w, ctx, &req.Panes)
	if !ok {
		return
	}
	defer l.Close()
	res, err := s.checker.Check(ctx, l.Snapshot, check.Query{Object: t.Object(), Relation: t.Relation, Subject: t.Subject(), Explain: true})
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, map[string]any{"allowed": res.Allowed, "text": res.Explanation.String(), "explanation": res.Explanation})
}

func (s *Server) expand(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Panes
		Target string `json:"target"` // OBJECT#RELATION
		// Depth is how many levels of subject sets are expanded into
		// their own trees (0: none, leaves are subject sets).
		Depth int `json:"depth"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	objText, rel, found := strings.Cut(strings.TrimSpace(req.Target), "#")
	obj, err := tuples.ParseObject(objText)
	if !found || err != nil || rel == "" {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%q: write OBJECT#RELATION, e.g. case:1#viewer", req.Target))
		return
	}
	ctx, cancel := timeout(r)
	defer cancel()
	l, ok := s.load(w, ctx, &req.Panes)
	if !ok {
		return
	}
	defer l.Close()
	opts := expand.Options{}
	if req.Depth > 0 {
		opts = expand.Options{Recursive: true, Depth: min(req.Depth, maxExpandDepth)}
	}
	tree, err := expand.Expand(ctx, l.Snapshot, obj, rel, opts)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, map[string]any{"tree": tree, "text": tree.String()})
}

func (s *Server) compose(w http.ResponseWriter, r *http.Request) {
	var p Panes
	if !readJSON(w, r, &p) {
		return
	}
	writeJSON(w, map[string]string{"yaml": compose(&p).yaml})
}

func (s *Server) split(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
		YAML string `json:"yaml"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	p, err := split(req.Name, []byte(req.YAML), nil)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, p)
}
