package check

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/docketdb/docket/errkind"
	"github.com/docketdb/docket/expand"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/badger"
	"github.com/docketdb/docket/store/memory"
	"github.com/docketdb/docket/tuples"
)

// The membership index held in memory (store/memindex.go) under the
// checker. Stores are opened with store.MemIndexInline, so that every
// snapshot the index can answer reads a nesting relation from memory: a
// subject's memberships whole, its groups and the groups above a group,
// a group's subjects and those of the groups below it; on the in-memory
// and the Badger backends. Their answers are compared with the reference
// evaluator and, under depth limits, with a second store over the same
// backend that reads the backend alone.
//
// The histories are random nested teams with cycles and self-loops, deep
// chains (past the depth limits too), wildcards, subject sets as subjects,
// exclusions and intersections over two nesting relations, written a
// batch at a time with queries between the writes, so that each new
// snapshot catches the index up from the change log. Some histories
// import a batch, trim the change log or change the schema to add a
// nesting relation (each drops the index for a rebuild), and one subject
// changes groups in every revision, so that its oldest versions are
// pruned and old snapshots read the backend for it alone. After the last
// write, every revision is queried again through the snapshot pinned
// before the later writes and through one opened afterwards at that old
// revision.

// memIndexSchema adds a second nesting relation, org#member, to
// nestedIndexSchema, with exclusions and intersections over both and a
// path of two hops. Orgs take the ids of teams (t0, t1, ...), so that
// the index in memory must keep the two relations, and the subject sets
// team:t0#member and org:t0#member, apart.
const memIndexSchema = `type user

type team {
  relation member: user | user:* | team#member
  relation banned: user | team#member
  relation ok = member - banned
  relation both = member & banned
}

type org {
  relation member: user | org#member
  relation teams: team
  relation staff = member | teams#member
  relation outsider = teams#ok - member
}

type doc {
  relation owner: team
  relation org: org
  relation viewer: user | team#member
  relation deny: user | team#member
  relation view = viewer - deny | owner#ok
  relation strict = viewer & owner#member
  relation edit = org#staff & view
  relation reach = org.teams#both | org#outsider
}
`

// memIndexSteps is how many batches a history writes: more than the
// versions the index in memory keeps of a subject, so that the churned
// subject's oldest are pruned.
const memIndexSteps = 10

// memUsers are the users of the histories: two take the ids of teams
// (and orgs), so that a read keyed by id alone, or not narrowed to the
// subject sets it asks for, meets a group of that id.
var memUsers = []string{"t0", "t1", "u2", "u3", "u9"}

// memIndexTuple draws one tuple of memIndexSchema (of nestedIndexSchema
// alone while withOrg is false).
func memIndexTuple(rng *rand.Rand, teams int, withOrg bool) tuples.Tuple {
	if !withOrg || rng.IntN(4) != 0 {
		t := nestedIndexTuple(rng, teams)
		if t.SubjectType == "user" && t.SubjectID != tuples.Wildcard {
			t.SubjectID = memUsers[t.SubjectID[1]-'0']
		}
		return t
	}
	org := func() string { return fmt.Sprintf("t%d", rng.IntN(4)) }
	t := tuples.Tuple{ObjectType: "org", ObjectID: org(), Relation: "member", SubjectType: "org", SubjectID: org(), SubjectRelation: "member"}
	switch rng.IntN(6) {
	case 0, 1:
	case 2:
		t.SubjectType, t.SubjectID, t.SubjectRelation = "user", memUsers[rng.IntN(4)], ""
	case 3, 4:
		t.Relation, t.SubjectType, t.SubjectID, t.SubjectRelation = "teams", "team", fmt.Sprintf("t%d", rng.IntN(teams)), ""
	default:
		t = tuples.Tuple{ObjectType: "doc", ObjectID: fmt.Sprintf("d%d", rng.IntN(3)), Relation: "org", SubjectType: "org", SubjectID: org()}
	}
	return t
}

// memIndexHistory is a random history written to a store that holds the
// membership index in memory (mem), with a store over the same backend
// that does not (plain). Entry k of each slice is the k-th revision
// queried.
type memIndexHistory struct {
	mem, plain store.Store
	badger     bool
	// noBackendIndex: the backend's own index is dropped by the first
	// write that recomputes more than one row (IndexRecompute 1), so
	// that every group above a group read from an index is read from
	// memory.
	noBackendIndex bool
	teams, chain   int
	rng            *rand.Rand
	cur            map[tuples.Key]tuples.Tuple
	withOrg        bool
	// importAt, trimAt and schemaAt are the steps that import, trim the
	// change log and write memIndexSchema over nestedIndexSchema (-1:
	// none).
	importAt, trimAt, schemaAt int

	revs   []tuples.Revision
	ins    []*instance
	refs   []*reference
	pinned []tuples.Snapshot
	// served[k]: pinned[k] reads the index in memory.
	served []bool
	did    []string
}

// openMemIndexStores opens a backend and two stores over it: mem holds
// the membership index in memory, built inline, plain reads the backend.
func openMemIndexStores(t *testing.T, onBadger bool, o store.Options) (mem, plain store.Store) {
	t.Helper()
	var b store.Backend
	var err error
	if onBadger {
		b, err = badger.OpenBackend(t.TempDir(), badger.Options{BlockCacheMB: 8})
	} else {
		b, err = memory.NewBackend(memory.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	po := o
	o.MemIndex, po.MemIndex = store.MemIndexInline, store.MemIndexOff
	mem, plain = store.New(b, o), store.New(b, po)
	// Closing mem closes the backend; plain holds nothing of its own.
	t.Cleanup(func() { mem.Close() })
	return mem, plain
}

// newMemIndexHistory starts history i: its shape (backend, the backend's
// own index, what makes the index in memory rebuild) cycles with i, so
// that eight histories meet every one; the rest is drawn from rng.
func newMemIndexHistory(t *testing.T, rng *rand.Rand, i int) *memIndexHistory {
	ctx := context.Background()
	h := &memIndexHistory{badger: i%3 == 1, rng: rng, teams: 4 + rng.IntN(4), cur: map[tuples.Key]tuples.Tuple{},
		importAt: -1, trimAt: -1, schemaAt: -1}
	var o store.Options
	switch i % 4 {
	case 0:
		o.IndexRecompute, h.noBackendIndex = 1, true
	case 2:
		o.IndexBound = 2 // the rest is walked, from memory or not
	}
	h.mem, h.plain = openMemIndexStores(t, h.badger, o)
	if rng.IntN(3) == 0 {
		h.chain = 3 + rng.IntN(10)
	}
	at := 1 + rng.IntN(memIndexSteps-1)
	text := memIndexSchema
	switch i % 5 {
	case 1:
		h.importAt = at
	case 2:
		h.trimAt = at
	case 3:
		h.schemaAt = at
		text = nestedIndexSchema
	}
	h.withOrg = h.schemaAt < 0
	if _, err := h.mem.WriteSchema(ctx, "nested.rebac", []byte(text)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, sn := range h.pinned {
			sn.Close()
		}
	})
	return h
}

// memStatusOf returns st's status of the index in memory.
func memStatusOf(t *testing.T, st store.Store) store.MemIndexStatus {
	t.Helper()
	m, ok := st.(store.MemIndexer)
	if !ok {
		t.Fatal("the store keeps no membership index in memory")
	}
	return m.MemIndexStatus()
}

// open opens a snapshot of the mem store at rev (0 = latest) and reports
// whether it reads the index in memory: ready at a revision at or below
// the snapshot's, caught up to it, and no fallback counted on the way.
func (h *memIndexHistory) open(t *testing.T, rev tuples.Revision) (tuples.Snapshot, bool) {
	t.Helper()
	before := memStatusOf(t, h.mem)
	sn, err := h.mem.Snapshot(context.Background(), rev)
	if err != nil {
		t.Fatal(err)
	}
	s := memStatusOf(t, h.mem)
	if s.Err != "" {
		t.Fatalf("the index in memory failed: %s", s.Err)
	}
	r := sn.Revision()
	return sn, s.Ready && s.Built <= r && s.Applied >= r && s.Fallbacks == before.Fallbacks
}

// step writes the k-th batch, opens its snapshot and keeps it pinned.
func (h *memIndexHistory) step(t *testing.T, k int) {
	t.Helper()
	ctx := context.Background()
	rng := h.rng
	var did []string
	if k == h.schemaAt {
		if _, err := h.mem.WriteSchema(ctx, "nested.rebac", []byte(memIndexSchema)); err != nil {
			t.Fatal(err)
		}
		h.withOrg = true
		did = append(did, "schema with org#member")
	}
	var ops []tuples.Op
	touch := func(tp tuples.Tuple) {
		ops = append(ops, tuples.Op{Kind: tuples.OpTouch, Tuple: tp})
		h.cur[tp.Key()] = tp
	}
	del := func(tp tuples.Tuple) {
		ops = append(ops, tuples.Op{Kind: tuples.OpDelete, Tuple: tp})
		delete(h.cur, tp.Key())
	}
	if k == 0 && h.chain > 0 {
		for _, tp := range chainTuples(h.chain) {
			touch(tp)
		}
	}
	n := 1 + rng.IntN(5)
	if k == 0 {
		n = 8 + rng.IntN(12)
	}
	writesOnly := k == h.importAt
	for range n {
		switch x := rng.IntN(6); {
		case writesOnly || k == 0 || x >= 2:
			touch(memIndexTuple(rng, h.teams, h.withOrg))
		case x == 0 && len(h.cur) > 0:
			// A stored tuple, chosen in a stable order.
			keys := make([]string, 0, len(h.cur))
			byText := map[string]tuples.Tuple{}
			for _, tp := range h.cur {
				keys = append(keys, tp.String())
				byText[tp.String()] = tp
			}
			slices.Sort(keys)
			del(byText[keys[rng.IntN(len(keys))]])
		default:
			del(memIndexTuple(rng, h.teams, h.withOrg))
		}
	}
	// user:t0 changes teams in every revision: its versions in memory are
	// pruned to the last few, and older snapshots read the backend for it.
	churn := tuples.Tuple{ObjectType: "team", ObjectID: fmt.Sprintf("t%d", rng.IntN(h.teams)), Relation: "member", SubjectType: "user", SubjectID: memUsers[0]}
	if _, ok := h.cur[churn.Key()]; ok && !writesOnly {
		del(churn)
	} else {
		touch(churn)
	}
	switch {
	case writesOnly:
		var text strings.Builder
		for _, op := range ops {
			text.WriteString(op.Tuple.String() + "\n")
		}
		if _, err := h.mem.Import(ctx, strings.NewReader(text.String()), store.ImportOptions{Name: "step.tuples"}); err != nil {
			t.Fatal(err)
		}
		did = append(did, fmt.Sprintf("import of %d tuples", len(ops)))
	case k == h.trimAt:
		// Two writes, then the log trimmed past the first: the index
		// cannot catch up over it and is built again.
		half := len(ops) / 2
		if _, err := h.mem.Write(ctx, tuples.Batch{Ops: ops[:half]}); err != nil {
			t.Fatal(err)
		}
		rev, err := h.mem.Write(ctx, tuples.Batch{Ops: ops[half:]})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.mem.TrimChanges(ctx, rev); err != nil {
			t.Fatal(err)
		}
		did = append(did, fmt.Sprintf("two writes of %d ops, change log trimmed before %d", len(ops), rev))
	default:
		if _, err := h.mem.Write(ctx, tuples.Batch{Ops: ops}); err != nil {
			t.Fatal(err)
		}
		did = append(did, fmt.Sprintf("write of %d ops", len(ops)))
	}
	sn, served := h.open(t, 0)
	h.pinned = append(h.pinned, sn)
	h.served = append(h.served, served)
	h.revs = append(h.revs, sn.Revision())
	ts := make([]tuples.Tuple, 0, len(h.cur))
	for _, tp := range h.cur {
		ts = append(ts, tp)
	}
	slices.SortFunc(ts, func(a, b tuples.Tuple) int { return strings.Compare(a.String(), b.String()) })
	in := h.instance(sn.Schema(), ts)
	h.ins = append(h.ins, in)
	h.refs = append(h.refs, newReferenceOver(in, memIndexSubject))
	h.did = append(h.did, fmt.Sprintf("revision %d: %s", sn.Revision(), strings.Join(did, ", ")))
}

// memIndexSubject keeps, of a history's subjects, those the index in
// memory answers for (users, wildcards, the nesting relations' subject
// sets) and one in three of the other subject sets, chosen by name.
func memIndexSubject(x tuples.Subject) bool {
	if x.Relation == "" || x.Relation == "member" {
		return true
	}
	f := fnv.New32a()
	f.Write([]byte(x.String()))
	return f.Sum32()%3 == 0
}

func (h *memIndexHistory) instance(sch *schema.Schema, ts []tuples.Tuple) *instance {
	text := nestedIndexSchema
	in := &instance{sch: sch, tuples: ts, objects: map[string][]string{
		"user": memUsers,
		"doc":  {"d0", "d1", "d2"},
	}}
	if sch.Type("org") != nil {
		text = memIndexSchema
		in.objects["org"] = []string{"t0", "t1", "t2", "t3", "fresh"}
	}
	in.text = text
	for k := range h.teams {
		in.objects["team"] = append(in.objects["team"], fmt.Sprintf("t%d", k))
	}
	for k := range h.chain {
		in.objects["team"] = append(in.objects["team"], fmt.Sprintf("c%d", k))
	}
	in.objects["team"] = append(in.objects["team"], "fresh")
	return in
}

// describe names the backend, the history's steps and revision k's tuples.
func (h *memIndexHistory) describe(k int) string {
	return fmt.Sprintf("badger=%v, backend index dropped=%v, revision %d queried\n%s\n%s",
		h.badger, h.noBackendIndex, h.revs[k], strings.Join(h.did, "\n"), describe(h.ins[k]))
}

// queries lists one in every `every` (from offset off) of the (object,
// relation, subject) triples of revision k.
func (h *memIndexHistory) queries(k, every, off int) []Query {
	in, ref := h.ins[k], h.refs[k]
	var qs []Query
	n := 0
	for _, r := range in.sch.Relations {
		for _, id := range in.objects[r.Type.Name] {
			for _, x := range ref.universe {
				if n++; n%every == off {
					qs = append(qs, Query{Object: tuples.Object{Type: r.Type.Name, ID: id}, Relation: r.Name, Subject: x})
				}
			}
		}
	}
	return qs
}

// checkRevision answers qs on sn, which is at revision k, batched or one
// by one, and compares every answer with the reference.
func (h *memIndexHistory) checkRevision(t *testing.T, c *Checker, sn tuples.Snapshot, k int, qs []Query, batch bool, where string) int {
	t.Helper()
	if sn.Revision() != h.revs[k] {
		t.Fatalf("%s: snapshot at revision %d, want %d", where, sn.Revision(), h.revs[k])
	}
	got, err := checkAll(context.Background(), c, sn, qs, batch)
	if err != nil {
		t.Fatalf("%s: %v\n%s", where, err, h.describe(k))
	}
	for j, q := range qs {
		if want := h.refs[k].member(q.Object, q.Relation, q.Subject); got[j].Allowed != want {
			t.Fatalf("%s: check %s = %v, reference %v\n%s", where, q, got[j].Allowed, want, h.describe(k))
		}
	}
	return len(qs)
}

// explainRevision explains one query in every `every` of qs on sn, at
// revision k: the answer is the reference's, every tuple named is stored
// at k, the path of a nesting relation is a chain of its stored tuples as
// short as the shortest the tuples make, and every other path is as long
// as the one walking down finds.
func (h *memIndexHistory) explainRevision(t *testing.T, c, down *Checker, sn tuples.Snapshot, k int, qs []Query, every int, where string) int {
	t.Helper()
	ctx := context.Background()
	in, ref := h.ins[k], h.refs[k]
	stored := map[string]bool{}
	for _, tp := range in.tuples {
		stored[tp.String()] = true
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s: "+format+"\n%s", append([]any{where}, append(args, h.describe(k))...)...)
	}
	n := 0
	for j, q := range qs {
		if j%every != 0 || q.Subject == (tuples.Subject{Type: q.Object.Type, ID: q.Object.ID, Relation: q.Relation}) {
			continue
		}
		q.Explain = true
		want := ref.member(q.Object, q.Relation, q.Subject)
		a, err := c.Check(ctx, sn, q)
		if err != nil {
			fail("explain %s: %v", q, err)
		}
		e := a.Explanation
		if a.Allowed != want || e == nil || e.Allowed != want || want && len(e.Path) == 0 || !want && e.Denial == nil {
			fail("explain %s: allowed %v, reference %v, explanation %+v", q, a.Allowed, want, e)
		}
		var named []string
		stepTuples(e.Path, &named)
		denialTuples(e.Denial, &named)
		for _, s := range named {
			if !stored[s] {
				fail("%s: the explanation names %s, which is not stored at this revision:\n%s", q, s, e)
			}
		}
		n++
		if !want {
			continue
		}
		if r := in.sch.Relation(q.Object.Type, q.Relation); nesting(r) {
			got, err := chainOf(e.Path, stored, q.Object, q.Relation, q.Subject)
			if err != nil {
				fail("%s: %v:\n%s", q, err, e)
			}
			if want := shortestChain(in.tuples, q.Object, q.Relation, q.Subject); got != want {
				fail("%s: a chain of %d tuples, the shortest has %d:\n%s", q, got, want, e)
			}
			continue
		}
		b, err := down.Check(ctx, sn, q)
		if err != nil || !b.Allowed {
			fail("%s = %v (%v) walking down, the reference allows it", q, b.Allowed, err)
		}
		if pa, pb := pathLen(e.Path), pathLen(b.Explanation.Path); pa != pb {
			fail("%s: %d steps from the memberships, %d walking down:\n%s\n%s", q, pa, pb, e, b.Explanation)
		}
	}
	return n
}

// agreeRevision compares, on sn at revision k, expansions, lookup
// subjects (every subject and every subject-set filter) and lookup
// resources (whole and a page of one at a time) with the reference.
func (h *memIndexHistory) agreeRevision(t *testing.T, c *Checker, sn tuples.Snapshot, k int, where string) int {
	t.Helper()
	ctx := context.Background()
	in, ref := h.ins[k], h.refs[k]
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s: "+format+"\n%s", append([]any{where}, append(args, h.describe(k))...)...)
	}
	n := 0
	for _, r := range in.sch.Relations {
		for _, id := range in.objects[r.Type.Name] {
			obj := tuples.Object{Type: r.Type.Name, ID: id}
			tree, err := expand.Expand(ctx, sn, obj, r.Name, expand.Options{Recursive: true, Depth: 1000})
			if errors.Is(err, expand.ErrTooLarge) {
				tree = nil
			} else if err != nil {
				fail("expand: %v", err)
			}
			all, err := c.LookupSubjects(ctx, sn, SubjectQuery{Object: obj, Relation: r.Name})
			if err != nil {
				fail("lookup subjects: %v", err)
			}
			for _, x := range ref.universe {
				if x.Relation != "" {
					continue
				}
				want := ref.member(obj, r.Name, x)
				if tree != nil && treeHas(tree, x) != want {
					fail("%s in expanded %s#%s = %v, reference %v", x, obj, r.Name, !want, want)
				}
				if subjectsHave(all, x) != want {
					fail("%s in lookup subjects %s#%s %v, reference %v", x, obj, r.Name, all, want)
				}
				n++
			}
			n += compareSubjectSets(ctx, c, sn, ref, obj, r.Name, fail)
		}
	}
	for _, x := range ref.universe {
		for _, r := range in.sch.Relations {
			var got []string
			next, err := c.LookupResources(ctx, sn, ResourceQuery{Subject: x, Type: r.Type.Name, Relation: r.Name},
				func(o tuples.Object) bool { got = append(got, o.ID); return true })
			if err != nil || next != "" {
				fail("lookup resources %s#%s for %s: next %q, %v", r.Type.Name, r.Name, x, next, err)
			}
			want := ref.resources(r, x)
			if !slices.Equal(got, want) {
				fail("lookup resources %s#%s for %s = %v, reference %v", r.Type.Name, r.Name, x, got, want)
			}
			n++
			if len(want) < 2 || x.Relation != "" {
				continue
			}
			var paged []string
			cursor := ""
			for {
				cursor, err = c.LookupResources(ctx, sn, ResourceQuery{Subject: x, Type: r.Type.Name, Relation: r.Name, Limit: 1, Cursor: cursor},
					func(o tuples.Object) bool { paged = append(paged, o.ID); return true })
				if err != nil {
					fail("paged lookup resources: %v", err)
				}
				if cursor == "" {
					break
				}
			}
			if !slices.Equal(paged, want) {
				fail("paged lookup resources %s#%s for %s = %v, reference %v", r.Type.Name, r.Name, x, paged, want)
			}
		}
	}
	return n
}

// depthRevision answers qs under a depth limit on pinned[k] and on a
// snapshot of the plain store at the same revision: the answers, and the
// failures on the limit, are the same; it returns how many failed so.
func (h *memIndexHistory) depthRevision(t *testing.T, k, depth int, qs []Query) int {
	t.Helper()
	ctx := context.Background()
	plain, err := h.plain.Snapshot(ctx, h.revs[k])
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	on := New(Options{MaxDepth: depth, CacheSize: -1})
	off := New(Options{MaxDepth: depth, CacheSize: -1})
	limited := 0
	for _, q := range qs {
		a, errA := on.Check(ctx, h.pinned[k], q)
		b, errB := off.Check(ctx, plain, q)
		if (errA != nil) != (errB != nil) || a.Allowed != b.Allowed {
			t.Fatalf("depth %d: %s = %v (%v) from memory, %v (%v) from the backend\n%s", depth, q, a.Allowed, errA, b.Allowed, errB, h.describe(k))
		}
		if errA != nil {
			if !errors.Is(errA, errkind.ErrDepth) {
				t.Fatalf("depth %d: %s: %v\n%s", depth, q, errA, h.describe(k))
			}
			limited++
		} else if want := h.refs[k].member(q.Object, q.Relation, q.Subject); a.Allowed != want {
			t.Fatalf("depth %d: %s = %v, reference %v\n%s", depth, q, a.Allowed, want, h.describe(k))
		}
	}
	return limited
}

// contextualRevision lays two nesting tuples not stored at revision k
// over sn as contextual tuples and compares the checks of qs with the
// reference over the stored and contextual tuples.
func (h *memIndexHistory) contextualRevision(t *testing.T, c *Checker, sn tuples.Snapshot, k int, qs []Query) int {
	t.Helper()
	ctx := context.Background()
	in := h.ins[k]
	var extra []tuples.Tuple
	for len(extra) < 2 {
		tp := memIndexTuple(h.rng, h.teams, false)
		if !slices.Contains(in.tuples, tp) && tp.ObjectType == "team" && tp.Relation == "member" {
			extra = append(extra, tp)
		}
	}
	ref := newReferenceOver(&instance{text: in.text, sch: in.sch, tuples: slices.Concat(in.tuples, extra), objects: in.objects}, memIndexSubject)
	for _, q := range qs {
		q.Context = extra
		res, err := c.Check(ctx, sn, q)
		if err != nil {
			t.Fatalf("check %s with %v: %v\n%s", q, extra, err, h.describe(k))
		}
		if want := ref.member(q.Object, q.Relation, q.Subject); res.Allowed != want {
			t.Fatalf("check %s with contextual %v = %v, reference %v\n%s", q, extra, res.Allowed, want, h.describe(k))
		}
	}
	return len(qs)
}

// rowsOnlySnap hides a snapshot's whole search of a subject's groups
// (tuples.MembershipReader), so that the walker reads the subject's
// groups (Reverse) and then the groups above them (GroupsAboveEach), as
// it does over a backend's own index: from memory, where it holds them.
type rowsOnlySnap struct{ tuples.Snapshot }

func (s rowsOnlySnap) GroupsAbove(ctx context.Context, g tuples.Object, rel string) ([]tuples.GroupAbove, bool, error) {
	return s.Snapshot.(tuples.GroupIndex).GroupsAbove(ctx, g, rel)
}

func (s rowsOnlySnap) GroupsAboveEach(ctx context.Context, gs []tuples.Object, rel string) ([][]tuples.GroupAbove, bool, error) {
	return tuples.GroupsAboveEach(ctx, s.Snapshot.(tuples.GroupIndex), gs, rel)
}

// backendIndexed reports whether the backend's own index of team#member
// is maintained at rev.
func (h *memIndexHistory) backendIndexed(t *testing.T, rev tuples.Revision) bool {
	t.Helper()
	ix, ok := h.plain.(store.Indexer)
	if !ok {
		t.Fatal("the store reports no index status")
	}
	st, _, err := ix.IndexStatus(context.Background(), rev)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Type == "team" && s.Relation == "member" {
			return s.Maintained
		}
	}
	return false
}

func TestDifferentialMemIndex(t *testing.T) {
	t.Parallel()
	n := diffCases(t, 8)
	var checks, explained, agreed, contextual, limited, depthChecks int
	var servedFresh, servedPinned, servedReopened, reopened int
	var builds, catchUps uint64
	var memOnlyIndexed, badgerHistories int
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(20261202, uint64(i)))
		h := newMemIndexHistory(t, rng, i)
		if h.badger {
			badgerHistories++
		}
		c := New(Options{MaxDepth: 1000, CacheSize: []int{-1, 0}[i%2]})
		c.plans.order = planOrder(i % 3)
		down := New(Options{MaxDepth: 1000, CacheSize: -1, DownwardOnly: true})
		// Between the writes: the snapshot just written, and now and then
		// one opened at an older revision.
		for k := range memIndexSteps {
			h.step(t, k)
			where := fmt.Sprintf("history %d, step %d", i, k)
			if h.served[k] {
				servedFresh++
			}
			qs := h.queries(k, 4, k%4)
			checks += h.checkRevision(t, c, h.pinned[k], k, qs, (i+k)%2 == 0, where)
			explained += h.explainRevision(t, c, down, h.pinned[k], k, qs, 7, where)
			if k > 0 && rng.IntN(2) == 0 {
				old := rng.IntN(k)
				sn, served := h.open(t, h.revs[old])
				if served {
					servedReopened++
				}
				reopened++
				checks += h.checkRevision(t, c, sn, old, h.queries(old, 6, 0), k%2 == 0, where+fmt.Sprintf(", reopened at step %d", old))
				sn.Close()
			}
		}
		// After the last write, with a checker that keeps nothing across
		// queries: every revision through its pinned snapshot and through
		// one opened now.
		after := New(Options{MaxDepth: 1000, CacheSize: -1})
		rows := New(Options{MaxDepth: 1000, CacheSize: -1})
		for k := range h.revs {
			where := fmt.Sprintf("history %d, pinned at step %d of %d", i, k, len(h.revs))
			if h.served[k] && k < len(h.revs)-1 {
				servedPinned++
			}
			qs := h.queries(k, 2, k%2)
			checks += h.checkRevision(t, after, h.pinned[k], k, qs, k%2 == 1, where)
			before := rows.Stats().NestedIndexed
			checks += h.checkRevision(t, rows, rowsOnlySnap{h.pinned[k]}, k, h.queries(k, 4, 3), k%2 == 0, where+", the groups above read group by group")
			if h.served[k] && h.noBackendIndex && !h.backendIndexed(t, h.revs[k]) {
				memOnlyIndexed += int(rows.Stats().NestedIndexed - before)
			}
			explained += h.explainRevision(t, after, down, h.pinned[k], k, qs, 13, where)
			sn, served := h.open(t, h.revs[k])
			if served {
				servedReopened++
			}
			reopened++
			checks += h.checkRevision(t, after, sn, k, h.queries(k, 6, 1), true, fmt.Sprintf("history %d, reopened at step %d", i, k))
			sn.Close()
		}
		last := len(h.revs) - 1
		old := rng.IntN(last)
		agreed += h.agreeRevision(t, after, h.pinned[last], last, fmt.Sprintf("history %d, latest", i))
		if i%2 == 0 {
			agreed += h.agreeRevision(t, after, h.pinned[old], old, fmt.Sprintf("history %d, pinned at step %d", i, old))
		}
		k := rng.IntN(len(h.revs))
		qs := h.queries(k, 4, 0)
		limited += h.depthRevision(t, k, 3+rng.IntN(8), qs)
		depthChecks += len(qs)
		contextual += h.contextualRevision(t, after, h.pinned[last], last, h.queries(last, 8, 2))

		s := memStatusOf(t, h.mem)
		if !s.Ready || s.Builds == 0 || s.CatchUps == 0 || s.Err != "" || s.Mode != store.MemIndexInline {
			t.Fatalf("history %d: the index in memory is %+v: want it built, caught up and ready\n%s", i, s, strings.Join(h.did, "\n"))
		}
		for _, want := range []store.IndexedRelation{{Type: "team", Relation: "member"}, {Type: "team", Relation: "banned"}, {Type: "doc", Relation: "deny"}} {
			if len(s.Tainted) > 0 || len(s.Left) > 0 || !slices.Contains(s.Relations, want) {
				t.Fatalf("history %d: the index in memory holds %v, %v tainted, %v left out: want %v, untainted", i, s.Relations, s.Tainted, s.Left, want)
			}
		}
		if want := h.withOrg; want != slices.Contains(s.Relations, store.IndexedRelation{Type: "org", Relation: "member"}) {
			t.Fatalf("history %d: the index in memory holds %v after the schema change", i, s.Relations)
		}
		if rebuilds := h.importAt >= 0 || h.trimAt >= 0 || h.schemaAt >= 0; rebuilds && s.Builds < 2 {
			t.Fatalf("history %d: %d builds after an import, a trim or a schema change\n%s", i, s.Builds, strings.Join(h.did, "\n"))
		}
		builds += s.Builds
		catchUps += s.CatchUps
	}
	// Every path counted must have been taken, once there are histories
	// of every shape: the test is not vacuous.
	if n >= 8 {
		if servedFresh == 0 || servedPinned == 0 || servedReopened == 0 || servedReopened == reopened {
			t.Fatalf("snapshots served from memory: %d just written, %d pinned before later writes, %d of %d opened at old revisions: want each, and some old ones read from the backend",
				servedFresh, servedPinned, servedReopened, reopened)
		}
		if memOnlyIndexed == 0 {
			t.Fatal("no groups above the subject's groups read from memory where the backend keeps no index")
		}
		if limited == 0 || badgerHistories == 0 {
			t.Fatalf("%d checks failed on the depth limit, %d histories on Badger: the test misses a path", limited, badgerHistories)
		}
	}
	t.Logf("%d histories (%d on Badger): %d checks, %d explanations, %d expansions and lookups, %d checks with contextual tuples agree with the reference, "+
		"%d under depth limits (%d of them failing on the limit) agree with the backend's reads; 0 mismatches. "+
		"%d builds, %d catch-ups; snapshots from memory: %d just written, %d pinned before later writes, %d of %d opened at old revisions; "+
		"%d memberships read from the groups above the subject's groups in memory where the backend keeps no index",
		n, badgerHistories, checks, explained, agreed, contextual, depthChecks, limited, builds, catchUps,
		servedFresh, servedPinned, servedReopened, reopened, memOnlyIndexed)
}

// TestDifferentialMemIndexRandom runs the random schemas of the
// differential test (every operator, paths of several hops, wildcards,
// subject sets of computed relations) that have a nesting relation or
// an exclusion of a stored relation (a deny list) on
// stores holding the index in memory: their tuples written in three
// revisions (the second deleting some of the first's, the third writing
// some of them again), each revision checked against the reference
// between the writes, and after the last through its pinned snapshot and
// through one opened then at its revision.
func TestDifferentialMemIndexRandom(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := diffCases(t, 20)
	var checks, drawn, servedOld, badgerCases, backgroundCases int
	var indexed uint64
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(20261203, uint64(i)))
		var in *instance
		for {
			drawn++
			in = genInstance(rng)
			if len(store.MemIndexRelations(in.sch)) > 0 {
				break
			}
		}
		onBadger := i%5 == 2
		if onBadger {
			badgerCases++
		}
		// One instance in four on a store as badger.Open and memory.New
		// make it, building the index in the background, waited for
		// before each snapshot so that the test stays deterministic.
		background := i%4 == 3
		var mem store.Store
		if background {
			backgroundCases++
			mem = openStore(t, onBadger)
		} else {
			mem, _ = openMemIndexStores(t, onBadger, store.Options{})
		}
		if _, err := mem.WriteSchema(ctx, "random.rebac", []byte(in.text)); err != nil {
			t.Fatalf("instance %d: %v\n%s", i, err, in.text)
		}
		ts := slices.Clone(in.tuples)
		rng.Shuffle(len(ts), func(a, b int) { ts[a], ts[b] = ts[b], ts[a] })
		third := len(ts) / 3
		cur := map[tuples.Key]tuples.Tuple{}
		var batches []tuples.Batch
		var b tuples.Batch
		for _, tp := range ts[:third] {
			b.Ops = append(b.Ops, tuples.Op{Kind: tuples.OpTouch, Tuple: tp})
		}
		batches = append(batches, b)
		b = tuples.Batch{}
		var deleted []tuples.Tuple
		for _, tp := range ts[third : 2*third] {
			b.Ops = append(b.Ops, tuples.Op{Kind: tuples.OpTouch, Tuple: tp})
		}
		for _, tp := range ts[:third] {
			if rng.IntN(3) == 0 {
				b.Ops = append(b.Ops, tuples.Op{Kind: tuples.OpDelete, Tuple: tp})
				deleted = append(deleted, tp)
			}
		}
		batches = append(batches, b)
		b = tuples.Batch{}
		for _, tp := range ts[2*third:] {
			b.Ops = append(b.Ops, tuples.Op{Kind: tuples.OpTouch, Tuple: tp})
		}
		for _, tp := range deleted {
			if rng.IntN(2) == 0 {
				b.Ops = append(b.Ops, tuples.Op{Kind: tuples.OpTouch, Tuple: tp})
			}
		}
		batches = append(batches, b)

		c := New(Options{MaxDepth: 1000, CacheSize: -1})
		c.plans.order = planOrder(i % 3)
		var pinned []tuples.Snapshot
		var refs []*reference
		var states []*instance
		describeAt := func(k int) string {
			return fmt.Sprintf("badger=%v, revision %d of 3\n%s", onBadger, k+1, describe(states[k]))
		}
		checkAt := func(sn tuples.Snapshot, k int, where string) {
			t.Helper()
			ref := refs[k]
			var qs []Query
			for _, r := range in.sch.Relations {
				for _, id := range in.objects[r.Type.Name] {
					for _, x := range ref.universe {
						qs = append(qs, Query{Object: tuples.Object{Type: r.Type.Name, ID: id}, Relation: r.Name, Subject: x})
					}
				}
			}
			got, err := checkAll(ctx, c, sn, qs, (i+k)%2 == 0)
			if err != nil {
				t.Fatalf("instance %d, %s: %v\n%s", i, where, err, describeAt(k))
			}
			for j, q := range qs {
				if want := ref.member(q.Object, q.Relation, q.Subject); got[j].Allowed != want {
					t.Fatalf("instance %d, %s: check %s = %v, reference %v\n%s", i, where, q, got[j].Allowed, want, describeAt(k))
				}
			}
			checks += len(qs)
		}
		for k, b := range batches {
			for _, op := range b.Ops {
				if op.Kind == tuples.OpDelete {
					delete(cur, op.Tuple.Key())
				} else {
					cur[op.Tuple.Key()] = op.Tuple
				}
			}
			if len(b.Ops) > 0 {
				if _, err := mem.Write(ctx, b); err != nil {
					t.Fatalf("instance %d: %v\n%s", i, err, in.text)
				}
			}
			if background {
				if _, err := store.WaitMemIndex(ctx, mem); err != nil {
					t.Fatal(err)
				}
			}
			sn, err := mem.Snapshot(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			pinned = append(pinned, sn)
			t.Cleanup(func() { sn.Close() })
			state := &instance{text: in.text, sch: in.sch, objects: in.objects}
			for _, tp := range cur {
				state.tuples = append(state.tuples, tp)
			}
			states = append(states, state)
			refs = append(refs, newReference(state))
			checkAt(sn, k, fmt.Sprintf("revision %d just written", k+1))
		}
		for k, sn := range pinned {
			checkAt(sn, k, fmt.Sprintf("revision %d pinned", k+1))
			before := memStatusOf(t, mem)
			old, err := mem.Snapshot(ctx, sn.Revision())
			if err != nil {
				t.Fatal(err)
			}
			if s := memStatusOf(t, mem); s.Ready && s.Built <= old.Revision() && s.Fallbacks == before.Fallbacks && k < len(pinned)-1 {
				servedOld++
			}
			checkAt(old, k, fmt.Sprintf("revision %d opened after the last write", k+1))
			old.Close()
		}
		indexed += c.Stats().NestedIndexed
		s := memStatusOf(t, mem)
		mode := store.MemIndexInline
		if background {
			mode = store.MemIndexBackground
		}
		if !s.Ready || s.Mode != mode || s.Builds != 1 || s.CatchUps == 0 || s.Err != "" || len(s.Relations) == 0 {
			t.Fatalf("instance %d: the index in memory is %+v: want it built once, caught up and ready\n%s", i, s, in.text)
		}
	}
	if n >= 10 && (servedOld == 0 || badgerCases == 0 || indexed == 0) {
		t.Fatalf("%d old snapshots read the index in memory, %d instances on Badger, %d memberships read from an index: the test misses a path", servedOld, badgerCases, indexed)
	}
	t.Logf("%d random instances with a nesting relation or a deny list (of %d drawn; %d on Badger, %d built in the background), 3 revisions each: %d checks agree with the reference; 0 mismatches; %d snapshots opened at old revisions read the index in memory; %d memberships read from an index",
		n, drawn, badgerCases, backgroundCases, checks, servedOld, indexed)
}

// TestMemIndexConcurrentChecks: with the index in memory built in the
// background, as badger.Open and memory.New make it, checks and lookups
// at the revisions a writer has made, old and new, answered while the
// writer goes on (each snapshot catching the index up unless another
// is), agree with the reference at their revision. Run under -race, it
// also looks for data races between the index's catch-ups and the
// walks reading it.
func TestMemIndexConcurrentChecks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, onBadger := range []bool{false, true} {
		st := openStore(t, onBadger)
		if _, err := st.WriteSchema(ctx, "nested.rebac", []byte(memIndexSchema)); err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(20261204, 0))
		shape := &memIndexHistory{teams: 5}
		cur := map[tuples.Key]tuples.Tuple{}
		// states[rev] is the tuples at each revision written, published
		// under mu once the write returns.
		var mu sync.Mutex
		states := map[tuples.Revision]*reference{}
		var revs []tuples.Revision
		write := func(n int, deletes bool) {
			var b tuples.Batch
			for range n {
				tp := memIndexTuple(rng, shape.teams, true)
				if _, ok := cur[tp.Key()]; ok && deletes && rng.IntN(2) == 0 {
					b.Ops = append(b.Ops, tuples.Op{Kind: tuples.OpDelete, Tuple: tp})
					delete(cur, tp.Key())
					continue
				}
				b.Ops = append(b.Ops, tuples.Op{Kind: tuples.OpTouch, Tuple: tp})
				cur[tp.Key()] = tp
			}
			rev, err := st.Write(ctx, b)
			if err != nil {
				t.Error(err)
				return
			}
			ts := make([]tuples.Tuple, 0, len(cur))
			for _, tp := range cur {
				ts = append(ts, tp)
			}
			sn, err := st.Snapshot(ctx, rev)
			if err != nil {
				t.Error(err)
				return
			}
			ref := newReferenceOver(shape.instance(sn.Schema(), ts), memIndexSubject)
			sn.Close()
			mu.Lock()
			states[rev] = ref
			revs = append(revs, rev)
			mu.Unlock()
		}
		write(30, false)
		if s, err := store.WaitMemIndex(ctx, st); err != nil || !s.Ready {
			t.Fatalf("the index in memory is %+v (%v)", s, err)
		}
		c := New(Options{MaxDepth: 1000})
		var wg sync.WaitGroup
		var done atomic.Bool
		var checks, lookups atomic.Int64
		for reader := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rr := rand.New(rand.NewPCG(20261204, uint64(reader+1)))
				for round := 0; !done.Load() || round < 3; round++ {
					mu.Lock()
					rev := revs[len(revs)-1]
					if rr.IntN(2) == 0 {
						rev = revs[rr.IntN(len(revs))]
					}
					ref := states[rev]
					mu.Unlock()
					sn, err := st.Snapshot(ctx, rev)
					if err != nil {
						t.Error(err)
						return
					}
					in := ref.in
					for range 150 {
						r := in.sch.Relations[rr.IntN(len(in.sch.Relations))]
						ids := in.objects[r.Type.Name]
						q := Query{Object: tuples.Object{Type: r.Type.Name, ID: ids[rr.IntN(len(ids))]}, Relation: r.Name, Subject: ref.universe[rr.IntN(len(ref.universe))]}
						res, err := c.Check(ctx, sn, q)
						if err != nil {
							t.Error(err)
							break
						}
						if want := ref.member(q.Object, q.Relation, q.Subject); res.Allowed != want {
							t.Errorf("badger=%v, revision %d: check %s = %v, reference %v\n%s", onBadger, rev, q, res.Allowed, want, describe(in))
							break
						}
						checks.Add(1)
					}
					for range 3 {
						r := in.sch.Relations[rr.IntN(len(in.sch.Relations))]
						x := ref.universe[rr.IntN(len(ref.universe))]
						var got []string
						if _, err := c.LookupResources(ctx, sn, ResourceQuery{Subject: x, Type: r.Type.Name, Relation: r.Name},
							func(o tuples.Object) bool { got = append(got, o.ID); return true }); err != nil {
							t.Error(err)
							break
						}
						if want := ref.resources(r, x); !slices.Equal(got, want) {
							t.Errorf("badger=%v, revision %d: lookup resources %s#%s for %s = %v, reference %v\n%s", onBadger, rev, r.Type.Name, r.Name, x, got, want, describe(in))
							break
						}
						lookups.Add(1)
					}
					sn.Close()
				}
			}()
		}
		for range 20 {
			write(1+rng.IntN(4), true)
		}
		done.Store(true)
		wg.Wait()
		// A last snapshot, alone, catches the index up to the writes.
		sn, err := st.Snapshot(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		sn.Close()
		s := memStatusOf(t, st)
		if !s.Ready || s.Builds == 0 || s.CatchUps == 0 || s.Err != "" || s.Applied != revs[len(revs)-1] {
			t.Fatalf("badger=%v: the index in memory is %+v: want it built and caught up to revision %d", onBadger, s, revs[len(revs)-1])
		}
		t.Logf("badger=%v: %d checks and %d lookups of resources from two readers at %d revisions written meanwhile agree with the reference; the index in memory: %d builds, %d catch-ups, %d snapshots read the backend",
			onBadger, checks.Load(), lookups.Load(), len(revs), s.Builds, s.CatchUps, s.Fallbacks)
	}
}
