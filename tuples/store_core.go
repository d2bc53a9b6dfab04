package tuples

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/docketdb/docket/schema"
)

// schemaVersion is a schema text stored at a revision, compiled lazily.
type schemaVersion struct {
	rev      Revision
	text     string
	compiled *schema.Schema
}

// store is the backend-independent half of a Store: it serialises
// writers, validates every tuple against the schema, plans batches and
// keeps the schema history compiled in memory.
type store struct {
	eng engine
	// wmu serialises writers so that each plans against the latest
	// revision and nothing can commit in between.
	wmu sync.Mutex

	smu     sync.RWMutex
	schemas []schemaVersion // ascending by rev

	// importChunk is the most tuples Import hands to the backend at a
	// time (importChunk; lowered in tests).
	importChunk int
}

func newStore(ctx context.Context, eng engine) (*store, error) {
	vs, err := eng.schemas(ctx)
	if err != nil {
		return nil, err
	}
	return &store{eng: eng, schemas: vs, importChunk: importChunk}, nil
}

// schemaAt returns the compiled schema in force at rev, nil if none.
func (s *store) schemaAt(rev Revision) (*schema.Schema, error) {
	s.smu.RLock()
	i := sort.Search(len(s.schemas), func(i int) bool { return s.schemas[i].rev > rev }) - 1
	if i < 0 {
		s.smu.RUnlock()
		return nil, nil
	}
	v := s.schemas[i]
	s.smu.RUnlock()
	if v.compiled != nil {
		return v.compiled, nil
	}
	c, err := schema.Load(fmt.Sprintf("schema@%d", v.rev), []byte(v.text))
	if err != nil {
		return nil, fmt.Errorf("stored schema at revision %d does not compile (corrupt store?): %w", v.rev, err)
	}
	s.smu.Lock()
	s.schemas[i].compiled = c
	s.smu.Unlock()
	return c, nil
}

func (s *store) Snapshot(ctx context.Context, rev Revision) (Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	oldest, latest := s.eng.bounds()
	if rev == 0 {
		rev = latest
	}
	if rev > latest {
		return nil, fmt.Errorf("revision %d is not written yet; the latest is %d: %w", rev, latest, ErrFutureRevision)
	}
	if rev < oldest {
		return nil, goneError(rev, oldest)
	}
	// The engine checks the window again as it pins rev: a write may
	// have moved it since bounds.
	v, err := s.eng.view(ctx, rev)
	if err != nil {
		return nil, err
	}
	sch, err := s.schemaAt(rev)
	if err != nil {
		v.release()
		return nil, err
	}
	return &snapshot{v: v, rev: rev, schema: sch}, nil
}

func goneError(rev, oldest Revision) error {
	return fmt.Errorf("revision %d no longer held; oldest is %d: %w", rev, oldest, ErrRevisionGone)
}

// latest opens the snapshot a writer plans against; it fails with
// ErrNoSchema when no schema was written yet. The caller closes it.
func (s *store) latest(ctx context.Context) (*snapshot, error) {
	snap, err := s.Snapshot(ctx, 0)
	if err != nil {
		return nil, err
	}
	if snap.Schema() == nil {
		snap.Close()
		return nil, fmt.Errorf("write a schema before writing tuples: %w", ErrNoSchema)
	}
	return snap.(*snapshot), nil
}

func (s *store) Write(ctx context.Context, b Batch) (Revision, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	cur, err := s.latest(ctx)
	if err != nil {
		return 0, err
	}
	defer cur.Close()
	changes, err := plan(ctx, cur, b)
	if err != nil {
		return 0, err
	}
	if len(changes) == 0 {
		// Nothing would change: no empty revision to fill the window of
		// readable revisions and the change log.
		return cur.rev, nil
	}
	return s.eng.apply(ctx, &commit{changes: changes})
}

// plan validates a batch, checks its preconditions against cur and turns
// its operations into the changes to store. Several operations on one
// tuple apply in order; only the net effect is stored.
func plan(ctx context.Context, cur *snapshot, b Batch) ([]Change, error) {
	var errs []error
	for i, op := range b.Ops {
		if op.Kind < OpCreate || op.Kind > OpDelete {
			errs = append(errs, fmt.Errorf("operation %d: unknown kind %d", i+1, op.Kind))
			continue
		}
		if err := Validate(op.Tuple, cur.schema); err != nil {
			errs = append(errs, fmt.Errorf("operation %d: %w", i+1, err))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("nothing written: %w", errors.Join(errs...))
	}
	for _, p := range b.Preconditions {
		ts, _, err := cur.Read(ctx, p.Filter, "", 1)
		if err != nil {
			return nil, err
		}
		if p.MustMatch && len(ts) == 0 {
			return nil, fmt.Errorf("nothing written: no tuple matches %s: %w", p.Filter, ErrPrecondition)
		}
		if !p.MustMatch && len(ts) > 0 {
			return nil, fmt.Errorf("nothing written: %s matches %s: %w", ts[0], p.Filter, ErrPrecondition)
		}
	}
	// present tracks each touched tuple's state as the batch goes on;
	// initial is its state before the batch.
	present := make(map[Tuple]bool, len(b.Ops))
	initial := make(map[Tuple]bool, len(b.Ops))
	order := make([]Tuple, 0, len(b.Ops))
	for _, op := range b.Ops {
		t := op.Tuple
		had, seen := present[t]
		if !seen {
			ok, err := cur.Has(ctx, t.Object(), t.Relation, t.Subject())
			if err != nil {
				return nil, err
			}
			had = ok
			initial[t] = ok
			order = append(order, t)
		}
		switch op.Kind {
		case OpCreate:
			if had {
				return nil, fmt.Errorf("nothing written: %s: %w", t, ErrExists)
			}
			present[t] = true
		case OpTouch:
			present[t] = true
		case OpDelete:
			present[t] = false
		}
	}
	changes := make([]Change, 0, len(order))
	for _, t := range order {
		switch {
		case present[t] && initial[t]:
			// Stored before and after: nothing changes, and nothing is
			// logged, so a batch of such touches makes no revision.
		case present[t]:
			changes = append(changes, Change{Kind: ChangeWrite, Tuple: t})
		case initial[t]:
			changes = append(changes, Change{Kind: ChangeDelete, Tuple: t})
		}
	}
	return changes, nil
}

func (s *store) DeleteMatching(ctx context.Context, f Filter) (Revision, int, error) {
	if f == (Filter{}) {
		return 0, 0, errors.New("delete matching: the filter is empty and would delete every tuple; set at least one field")
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	cur, err := s.latest(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer cur.Close()
	var changes []Change
	cursor := ""
	for {
		ts, next, err := cur.Read(ctx, f, cursor, 10000)
		if err != nil {
			return 0, 0, err
		}
		for _, t := range ts {
			changes = append(changes, Change{Kind: ChangeDelete, Tuple: t})
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(changes) == 0 {
		return cur.rev, 0, nil
	}
	rev, err := s.eng.apply(ctx, &commit{changes: changes})
	if err != nil {
		return 0, 0, err
	}
	return rev, len(changes), nil
}

func (s *store) Changes(ctx context.Context, after Revision, limit int) ([]Change, error) {
	return s.eng.changes(ctx, after, limit)
}

// trimmedError refuses a read of the change log after rev that would
// start before from, the first revision the log still holds.
func trimmedError(after, from Revision) error {
	return &TrimmedError{After: after, From: from}
}

// TrimmedError is a read of the change log from before where it starts
// (ErrChangesTrimmed); From is the first revision it holds.
type TrimmedError struct{ After, From Revision }

func (e *TrimmedError) Error() string {
	return fmt.Sprintf("changes after revision %d: the log starts at revision %d: %v", e.After, e.From, ErrChangesTrimmed)
}

func (e *TrimmedError) Unwrap() error { return ErrChangesTrimmed }

func (s *store) TrimChanges(ctx context.Context, before Revision) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, latest := s.eng.bounds()
	if before > latest {
		return 0, fmt.Errorf("trim the change log before revision %d; the latest is %d: %w", before, latest, ErrFutureRevision)
	}
	from, err := s.eng.changesFrom(ctx)
	if err != nil {
		return 0, err
	}
	if before <= from {
		return 0, nil
	}
	c := &commit{trimBefore: before}
	if _, err := s.eng.apply(ctx, c); err != nil {
		return 0, fmt.Errorf("trim the change log before revision %d: %w", before, err)
	}
	return c.trimmed, nil
}

func (s *store) Close() error { return s.eng.close() }

// String describes a filter for messages.
func (f Filter) String() string {
	field := func(v string) string {
		if v == "" {
			return "*"
		}
		return v
	}
	s := field(f.ObjectType) + ":" + field(f.ObjectID) + "#" + field(f.Relation) + "@" + field(f.SubjectType) + ":" + field(f.SubjectID)
	if f.SubjectRelation != "" {
		s += "#" + f.SubjectRelation
	}
	return "filter " + s
}
