// Package query is the transport-free layer of Docket's operations: the
// checks, lookups, expansions, reads and writes that the command line and
// the server both offer, over a store.Store. Requests hold parsed values,
// never flags or protocol messages; each transport parses its own input,
// calls a method here and renders the answer.
//
// Reads go through a Reader, which pins one revision from Service.Reader
// until Close, so that several queries of one request (a batch of checks,
// a page of a lookup and the next) answer at the same revision. Names
// are checked against the schema of that revision: an unknown type or
// relation is a *schema.NameError (errkind.ErrUnknownName), and every
// error wraps an errkind sentinel where one applies, so that
// errkind.Of(err) gives each transport its status.
package query

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/condition"
	"github.com/docketdb/docket/errkind"
	"github.com/docketdb/docket/expand"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// Service answers queries and applies writes on one store.
type Service struct {
	store   store.Store
	opts    Options
	checker *check.Checker
}

// Options tune a Service.
type Options struct {
	// MaxDepth is the depth limit of walks whose request sets none; 0
	// means check.DefaultMaxDepth.
	MaxDepth int
	// CacheSize sizes the checker's cross-query cache as
	// check.Options.CacheSize does (0 = default, negative = off). A
	// long-running server keeps it on; a one-shot command turns it off.
	CacheSize int
	// Checker, when set, is the checker the service answers with (a
	// server shares its own, whose cache and counters it reports); its
	// depth limit must be MaxDepth, and CacheSize is then unused.
	Checker *check.Checker
}

// New returns a Service on st. The caller keeps st and closes it.
func New(st store.Store, opts Options) *Service {
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = check.DefaultMaxDepth
	}
	c := opts.Checker
	if c == nil {
		c = check.New(check.Options{MaxDepth: opts.MaxDepth, CacheSize: opts.CacheSize})
	}
	return &Service{store: st, opts: opts, checker: c}
}

// Store is the store the service works on.
func (s *Service) Store() store.Store { return s.store }

// checkerFor returns the service's checker, or a fresh one without a
// cache when a request asks for another depth limit.
func (s *Service) checkerFor(maxDepth int) *check.Checker {
	if maxDepth <= 0 || maxDepth == s.opts.MaxDepth {
		return s.checker
	}
	return check.New(check.Options{MaxDepth: maxDepth, CacheSize: -1})
}

// Reader answers queries at one revision, pinned until Close.
type Reader struct {
	svc  *Service
	snap tuples.Snapshot
}

// Reader opens a Reader at rev (0 = the latest). A revision no longer
// held fails with ErrRevisionGone, one not yet written with
// ErrFutureRevision, and a revision without a schema with ErrNoSchema.
func (s *Service) Reader(ctx context.Context, rev tuples.Revision) (*Reader, error) {
	snap, err := s.store.Snapshot(ctx, rev)
	if err != nil {
		return nil, err
	}
	if snap.Schema() == nil {
		snap.Close()
		return nil, fmt.Errorf("revision %d: %w", snap.Revision(), errkind.ErrNoSchema)
	}
	return &Reader{svc: s, snap: snap}, nil
}

// ReaderOn returns a Reader over a snapshot the caller opened (holding a
// schema) and keeps: closing the Reader closes the snapshot.
func (s *Service) ReaderOn(snap tuples.Snapshot) *Reader { return &Reader{svc: s, snap: snap} }

// Revision is the revision the reader answers at.
func (r *Reader) Revision() tuples.Revision { return r.snap.Revision() }

// Schema is the schema in force at the reader's revision.
func (r *Reader) Schema() *schema.Schema { return r.snap.Schema() }

// Snapshot is the reader's snapshot, for reads this package does not
// offer; it is closed with the reader.
func (r *Reader) Snapshot() tuples.Snapshot { return r.snap }

// Close unpins the reader's revision.
func (r *Reader) Close() error { return r.snap.Close() }

// ResolveObjectRelation checks that obj's type exists and has relation
// rel, returning the relation or a *schema.NameError.
func ResolveObjectRelation(sch *schema.Schema, objectType, rel string) (*schema.Relation, error) {
	return sch.ResolveRelation(objectType, rel)
}

// ResolveSubject checks a subject's type and, for a subject set, its
// relation, returning a *schema.NameError for an unknown name.
func ResolveSubject(sch *schema.Schema, s tuples.Subject) error {
	t, err := sch.ResolveType(s.Type)
	if err != nil {
		return err
	}
	if s.Relation != "" {
		_, err = t.ResolveRelation(s.Relation)
	}
	return err
}

// Contextual validates contextual tuples against the reader's schema.
func (r *Reader) Contextual(with []tuples.Tuple) error {
	for i, t := range with {
		if err := tuples.Validate(t, r.Schema()); err != nil {
			return fmt.Errorf("contextual tuple %d: %w", i+1, err)
		}
	}
	return nil
}

// CheckRequest asks several checks at the reader's revision.
type CheckRequest struct {
	Checks []check.Query
	// Explain asks for the reason of every answer.
	Explain bool
	// With holds contextual tuples for these checks only.
	With []tuples.Tuple
	// MaxDepth overrides the service's depth limit; 0 keeps it.
	MaxDepth int
	// Context holds the conditions' parameters for these checks; a
	// tuple's stored values win. The clock that decides expiry is the
	// Reader's (tuples.WithClock on the context it was opened with).
	Context condition.Context
}

// CheckResult is the answer to one check; see check.Result for the
// conditional answer and the bound of its validity.
type CheckResult struct {
	Query   string `json:"query"`
	Allowed bool   `json:"allowed"`
	// Excluded lists, for an allowed check of a wildcard subject, the
	// subjects of its type that exclusions still remove.
	Excluded    []string           `json:"excluded,omitempty"`
	Conditional bool               `json:"conditional,omitempty"`
	Missing     []string           `json:"missing,omitempty"`
	ValidUntil  time.Time          `json:"valid_until,omitzero"`
	Explanation *check.Explanation `json:"explanation,omitempty"`
}

// Check answers the checks of req, in order, sharing one walk.
func (r *Reader) Check(ctx context.Context, req CheckRequest) ([]CheckResult, error) {
	if len(req.Checks) == 0 {
		return nil, fmt.Errorf("no checks given: %w", errkind.ErrInvalid)
	}
	sch := r.Schema()
	qs := make([]check.Query, len(req.Checks))
	for i, q := range req.Checks {
		if _, err := sch.ResolveRelation(q.Object.Type, q.Relation); err != nil {
			return nil, fmt.Errorf("check %d (%s): %w", i+1, q, err)
		}
		if err := ResolveSubject(sch, q.Subject); err != nil {
			return nil, fmt.Errorf("check %d (%s): subject: %w", i+1, q, err)
		}
		q.Explain = q.Explain || req.Explain
		if q.RequestContext == nil {
			q.RequestContext = req.Context
		}
		if len(req.With) > 0 {
			q.Context = req.With
		}
		qs[i] = q
	}
	if err := r.Contextual(req.With); err != nil {
		return nil, err
	}
	var (
		results []check.Result
		err     error
	)
	if len(qs) == 1 {
		// One check is not a batch: its errors name the check alone.
		res, err := r.svc.checkerFor(req.MaxDepth).Check(ctx, r.snap, qs[0])
		if err != nil {
			return nil, err
		}
		results = []check.Result{res}
	} else if results, err = r.svc.checkerFor(req.MaxDepth).CheckBatch(ctx, r.snap, qs); err != nil {
		return nil, err
	}
	out := make([]CheckResult, len(results))
	for i, res := range results {
		out[i] = CheckResult{Query: qs[i].String(), Allowed: res.Allowed, Conditional: res.Conditional,
			Missing: res.Missing, ValidUntil: res.ValidUntil, Explanation: res.Explanation}
		// A wildcard check asks whether the wildcard itself is granted;
		// exclusions may still remove some subjects of its type, and the
		// answer says which.
		if res.Allowed && qs[i].Subject.ID == tuples.Wildcard {
			if out[i].Excluded, err = r.wildcardExclusions(ctx, req.MaxDepth, qs[i]); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// wildcardExclusions lists the subjects that exclusions remove from the
// wildcard q.Subject in q's userset: lookup subjects reports them under
// the wildcard (user:* - {user:bob}).
func (r *Reader) wildcardExclusions(ctx context.Context, maxDepth int, q check.Query) ([]string, error) {
	subs, err := r.svc.checkerFor(maxDepth).LookupSubjects(ctx, r.snap,
		check.SubjectQuery{Object: q.Object, Relation: q.Relation, Type: q.Subject.Type, Context: q.Context, RequestContext: q.RequestContext})
	if err != nil {
		return nil, err
	}
	for _, s := range subs {
		if s.Subject == q.Subject {
			out := make([]string, len(s.Excluded))
			for i, x := range s.Excluded {
				out[i] = x.String()
			}
			return out, nil
		}
	}
	return nil, nil
}

// ResourcesRequest asks for the objects of Type on which Subject holds
// Relation, a page at a time.
type ResourcesRequest struct {
	Subject  tuples.Subject
	Type     string
	Relation string
	// Limit bounds the page (0 = every object); Cursor continues after
	// the page that returned it.
	Limit    int
	Cursor   string
	With     []tuples.Tuple
	MaxDepth int
	// Context holds the conditions' parameters, as for CheckRequest.
	Context condition.Context
}

// LookupResources yields the objects of req's page on which the subject
// holds the relation for certain, in order of id, and returns the cursor
// of the next page, "" when there is none. Conditional members are left
// out; LookupResourceResults reports them.
func (r *Reader) LookupResources(ctx context.Context, req ResourcesRequest, yield func(tuples.Object) bool) (string, error) {
	if err := r.resourcesRequest(req); err != nil {
		return "", err
	}
	return r.svc.checkerFor(req.MaxDepth).LookupResources(ctx, r.snap, req.query(), yield)
}

// LookupResourceResults is LookupResources reporting conditional members
// too: each object of the page is a member for certain or, marked
// Conditional, depends on the parameters its Missing names (see
// check.LookupResourceResults). The page's limit counts both.
func (r *Reader) LookupResourceResults(ctx context.Context, req ResourcesRequest, yield func(check.ResourceResult) bool) (string, error) {
	if err := r.resourcesRequest(req); err != nil {
		return "", err
	}
	return r.svc.checkerFor(req.MaxDepth).LookupResourceResults(ctx, r.snap, req.query(), yield)
}

func (req ResourcesRequest) query() check.ResourceQuery {
	return check.ResourceQuery{
		Subject: req.Subject, Type: req.Type, Relation: req.Relation, Limit: req.Limit, Cursor: req.Cursor,
		Context: req.With, RequestContext: req.Context,
	}
}

// resourcesRequest checks req's limit and names.
func (r *Reader) resourcesRequest(req ResourcesRequest) error {
	if req.Limit < 0 {
		return fmt.Errorf("limit %d: must not be negative: %w", req.Limit, errkind.ErrInvalid)
	}
	sch := r.Schema()
	if _, err := sch.ResolveRelation(req.Type, req.Relation); err != nil {
		return err
	}
	if err := ResolveSubject(sch, req.Subject); err != nil {
		return fmt.Errorf("subject: %w", err)
	}
	return r.Contextual(req.With)
}

// SubjectsRequest asks who holds Relation on Object, narrowed to subjects
// of Type or, with SubjectRelation, to subject sets Type#SubjectRelation.
type SubjectsRequest struct {
	Object          tuples.Object
	Relation        string
	Type            string
	SubjectRelation string
	With            []tuples.Tuple
	MaxDepth        int
	// Context holds the conditions' parameters, as for CheckRequest.
	Context condition.Context
}

// LookupSubjects lists the subjects of req that hold the relation for
// certain; LookupSubjectResults reports conditional ones too.
func (r *Reader) LookupSubjects(ctx context.Context, req SubjectsRequest) ([]check.SubjectResult, error) {
	if err := r.subjectsRequest(req); err != nil {
		return nil, err
	}
	return r.svc.checkerFor(req.MaxDepth).LookupSubjects(ctx, r.snap, req.query())
}

// LookupSubjectResults lists the subjects of req, certain ones and, each
// marked Conditional with its Missing parameters, conditional ones (see
// check.LookupSubjectResults).
func (r *Reader) LookupSubjectResults(ctx context.Context, req SubjectsRequest) ([]check.SubjectResult, error) {
	if err := r.subjectsRequest(req); err != nil {
		return nil, err
	}
	return r.svc.checkerFor(req.MaxDepth).LookupSubjectResults(ctx, r.snap, req.query())
}

func (req SubjectsRequest) query() check.SubjectQuery {
	return check.SubjectQuery{
		Object: req.Object, Relation: req.Relation, Type: req.Type, SubjectRelation: req.SubjectRelation,
		Context: req.With, RequestContext: req.Context,
	}
}

// subjectsRequest checks req's names.
func (r *Reader) subjectsRequest(req SubjectsRequest) error {
	sch := r.Schema()
	if _, err := sch.ResolveRelation(req.Object.Type, req.Relation); err != nil {
		return err
	}
	if req.Type != "" {
		if err := ResolveSubject(sch, tuples.Subject{Type: req.Type, Relation: req.SubjectRelation}); err != nil {
			return fmt.Errorf("subject type: %w", err)
		}
	}
	return r.Contextual(req.With)
}

// ExpandRequest asks for the tree of Relation on Object.
type ExpandRequest struct {
	Object   tuples.Object
	Relation string
	With     []tuples.Tuple
	Options  expand.Options
}

// Expand expands req.
func (r *Reader) Expand(ctx context.Context, req ExpandRequest) (*expand.Node, error) {
	if _, err := r.Schema().ResolveRelation(req.Object.Type, req.Relation); err != nil {
		return nil, err
	}
	if err := r.Contextual(req.With); err != nil {
		return nil, err
	}
	return expand.Expand(ctx, tuples.Overlay(r.snap, req.With), req.Object, req.Relation, req.Options)
}

// Read returns a page of the tuples matching f: at most limit (0 = all)
// after cursor, and the cursor of the next page ("" at the end).
func (r *Reader) Read(ctx context.Context, f tuples.Filter, cursor string, limit int) ([]tuples.Tuple, string, error) {
	if limit < 0 {
		return nil, "", fmt.Errorf("limit %d: must not be negative: %w", limit, errkind.ErrInvalid)
	}
	return r.snap.Read(ctx, f, cursor, limit)
}

// Write applies a batch atomically and returns its revision.
func (s *Service) Write(ctx context.Context, b tuples.Batch) (tuples.Revision, error) {
	return s.store.Write(ctx, b)
}

// DeleteMatching deletes every tuple matching f in one revision.
func (s *Service) DeleteMatching(ctx context.Context, f tuples.Filter) (tuples.Revision, int, error) {
	if f == (tuples.Filter{}) {
		return 0, 0, fmt.Errorf("delete matching: the filter is empty and would delete every tuple; set at least one field: %w", errkind.ErrInvalid)
	}
	return s.store.DeleteMatching(ctx, f)
}

// Import writes every tuple of r as one revision.
func (s *Service) Import(ctx context.Context, r io.Reader, opts store.ImportOptions) (store.ImportResult, error) {
	return s.store.Import(ctx, r, opts)
}

// Export writes every tuple at rev in format.
func (s *Service) Export(ctx context.Context, w io.Writer, rev tuples.Revision, format tuples.Format) (int, error) {
	return s.store.Export(ctx, w, rev, format)
}

// Changes returns the changes after rev, whole revisions at a time.
func (s *Service) Changes(ctx context.Context, after tuples.Revision, limit int) ([]tuples.Change, error) {
	if limit < 0 {
		return nil, fmt.Errorf("limit %d: must not be negative: %w", limit, errkind.ErrInvalid)
	}
	return s.store.Changes(ctx, after, limit)
}

// TrimChanges drops the change log below before.
func (s *Service) TrimChanges(ctx context.Context, before tuples.Revision) (int, error) {
	return s.store.TrimChanges(ctx, before)
}

// SchemaRead returns the schema in force at rev (0 = latest) and the
// revision read; ErrNoSchema when there is none.
func (s *Service) SchemaRead(ctx context.Context, rev tuples.Revision) (*schema.Schema, tuples.Revision, error) {
	r, err := s.Reader(ctx, rev)
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	return r.Schema(), r.Revision(), nil
}

// SchemaWriteResult reports a schema write or a dry run of one.
type SchemaWriteResult struct {
	// Revision is the revision written, or for a dry run or an unchanged
	// schema the revision the answer was read at (0: no store yet).
	Revision tuples.Revision
	// Written is false for a dry run and for a schema already stored.
	Written bool
	// Unchanged: the schema stored is the one given; nothing written.
	Unchanged bool
	// Changes are the differences from the schema stored before; First
	// says no schema was stored before.
	Changes []schema.Difference
	First   bool
	// Orphans, when the write is refused (or a dry run would be), are up
	// to five stored tuples the new schema would not accept.
	Orphans []string
}

// schemaChanges is what writing next over old, stored at rev, changes.
func schemaChanges(old *schema.Schema, rev tuples.Revision, next *schema.Schema) SchemaWriteResult {
	res := SchemaWriteResult{Revision: rev, First: old == nil}
	if old != nil && old.Text() == next.Text() {
		res.Unchanged = true
		return res
	}
	res.Changes = schema.Diff(old, next)
	return res
}

// SchemaChanges reports what writing next would change at the latest
// revision (Unchanged, or the Changes), without reading the stored tuples
// or writing anything: the cheap preview a server's dry run gives, where
// SchemaWrite's dry run also says whether the stored tuples would let it.
func (s *Service) SchemaChanges(ctx context.Context, next *schema.Schema) (SchemaWriteResult, error) {
	snap, err := s.store.Snapshot(ctx, 0)
	if err != nil {
		return SchemaWriteResult{}, err
	}
	defer snap.Close()
	return schemaChanges(snap.Schema(), snap.Revision(), next), nil
}

// SchemaWrite writes next, compiled from text, unless it is the schema
// already stored; with dryRun it only reports what a write would do.
// A dry run the stored tuples refuse fails with ErrPrecondition, and a
// write with the store's refusal; either result names example tuples in
// the way. The stored tuples are read for those examples only when a
// write is refused (the store checks them itself, reading only the
// relations the change narrows), so an accepted write costs no scan.
func (s *Service) SchemaWrite(ctx context.Context, name string, text []byte, next *schema.Schema, dryRun bool) (SchemaWriteResult, error) {
	snap, err := s.store.Snapshot(ctx, 0)
	if err != nil {
		return SchemaWriteResult{}, err
	}
	old := snap.Schema()
	res := schemaChanges(old, snap.Revision(), next)
	if res.Unchanged || !dryRun {
		snap.Close()
	}
	if res.Unchanged {
		return res, nil
	}
	if dryRun {
		if old != nil {
			res.Orphans, err = Orphans(ctx, snap, next, 5)
		}
		snap.Close()
		if err != nil {
			return res, err
		}
		if len(res.Orphans) > 0 {
			return res, fmt.Errorf("would be refused: stored tuples the new schema does not accept: %w", errkind.ErrPrecondition)
		}
		return res, nil
	}
	rev, err := s.store.WriteSchema(ctx, name, text)
	if err != nil {
		if old != nil && ctx.Err() == nil {
			res.Orphans = s.orphansAtLatest(ctx, next)
		}
		return res, err
	}
	res.Revision, res.Written = rev, true
	return res, nil
}

// orphansAtLatest lists up to five tuples of the latest revision that
// next would not accept, for the report of a refused write; nil when
// they cannot be read (the refusal itself is the answer then).
func (s *Service) orphansAtLatest(ctx context.Context, next *schema.Schema) []string {
	snap, err := s.store.Snapshot(ctx, 0)
	if err != nil {
		return nil
	}
	defer snap.Close()
	if snap.Schema() == nil {
		return nil
	}
	found, err := Orphans(ctx, snap, next, 5)
	if err != nil {
		return nil
	}
	return found
}

// Stats is what a store and its checker report of themselves.
type Stats struct {
	// Revision is the latest committed revision.
	Revision tuples.Revision
	// Checker holds the checker's counters: its cache's hits, misses
	// and entries among them.
	Checker check.Stats
}

// Stats reports the latest revision and the checker's counters.
func (s *Service) Stats(ctx context.Context) (Stats, error) {
	snap, err := s.store.Snapshot(ctx, 0)
	if err != nil {
		return Stats{}, err
	}
	defer snap.Close()
	return Stats{Revision: snap.Revision(), Checker: s.checker.Stats()}, nil
}

// Orphans returns up to show tuples of snap that next would not accept.
func Orphans(ctx context.Context, snap tuples.Snapshot, next *schema.Schema, show int) ([]string, error) {
	var found []string
	for _, r := range snap.Schema().Relations {
		if !r.Stored || len(found) == show {
			continue
		}
		cursor := ""
		for len(found) < show {
			ts, nextCursor, err := snap.Read(ctx, tuples.Filter{ObjectType: r.Type.Name, Relation: r.Name}, cursor, 1000)
			if err != nil {
				return nil, fmt.Errorf("read stored tuples of %s: %w", r, err)
			}
			for _, t := range ts {
				if tuples.Validate(t, next) != nil && len(found) < show {
					found = append(found, t.String())
				}
			}
			if nextCursor == "" {
				break
			}
			cursor = nextCursor
		}
	}
	return found, nil
}

// IsDenied reports whether any result is denied.
func IsDenied(rs []CheckResult) bool {
	for _, r := range rs {
		if !r.Allowed && !r.Conditional {
			return true
		}
	}
	return false
}

// IsConditional reports whether any answer is conditional.
func IsConditional(rs []CheckResult) bool {
	for _, r := range rs {
		if r.Conditional {
			return true
		}
	}
	return false
}
