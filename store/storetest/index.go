package storetest

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// The membership index (store/index.go) through every kind of write: a
// random history of writes, deletes, deletes matching a filter and
// imports over teams that nest, with cycles and self-loops, checked at
// every revision, when it is written and again at the end through
// snapshots of old revisions, against a search over the tuples at that
// revision. A backend that keeps no index must say so consistently:
// every group unindexed.

const indexSchema = `type user

type team {
  relation member: user | user:* | team#member
  relation lead: user
}

type doc {
  relation viewer: user | team#member
}
`

// indexSchemaExpiring lets team memberships expire: the relation is no
// longer indexed.
var indexSchemaExpiring = strings.Replace(indexSchema, "team#member\n", "team#member with expiration\n", 1)

const indexTeams = 10

// optionsTest is a test of the suite that asks for a store of its own
// options.
type optionsTest struct {
	name string
	o    Options
	run  func(t *testing.T, ctx context.Context, s store.Store, b Backend, o Options)
}

var indexTests = []optionsTest{
	{"IndexRandomHistory", Options{KeepRevisions: 1000}, testIndexHistory},
	{"IndexRandomHistorySmallImports", Options{KeepRevisions: 1000, SmallImports: true}, testIndexHistory},
	{"IndexBounds", Options{KeepRevisions: 1000, IndexBound: 3, IndexRecompute: 5}, testIndexHistory},
	{"IndexSchemaChanges", Options{KeepRevisions: 1000}, testIndexSchemaChanges},
}

func runIndexTests(t *testing.T, b Backend, mem store.MemIndexMode) {
	runOptionsTests(t, b, mem, indexTests)
}

// runOptionsTests runs tests, each on a store of its own opened with its
// options and the given way of holding the index in memory.
func runOptionsTests(t *testing.T, b Backend, mem store.MemIndexMode, tests []optionsTest) {
	for _, c := range tests {
		t.Run(c.name, func(t *testing.T) {
			if why, ok := b.Skip[c.name]; ok {
				t.Skip(why)
			}
			t.Parallel()
			o := c.o
			o.MemIndex = mem
			s := b.Open(t, o)
			defer s.Close()
			c.run(t, context.Background(), s, b, o)
		})
	}
}

func indexTuple(rng *rand.Rand) string {
	team := func() string { return fmt.Sprintf("team:t%d", rng.IntN(indexTeams)) }
	switch rng.IntN(10) {
	case 0, 1, 2, 3, 4:
		return team() + "#member@" + team() + "#member"
	case 5, 6:
		return fmt.Sprintf("%s#member@user:u%d", team(), rng.IntN(4))
	case 7:
		return team() + "#member@user:*"
	case 8:
		return fmt.Sprintf("%s#lead@user:u%d", team(), rng.IntN(4))
	}
	return fmt.Sprintf("doc:d%d#viewer@%s#member", rng.IntN(3), team())
}

// indexStep makes one random change and returns its revision.
// randomBatch is a batch of 1 to most operations on the tuples line
// draws, about a third of them deletes.
func randomBatch(rng *rand.Rand, most int, line func(*rand.Rand) string) (tuples.Batch, error) {
	var b tuples.Batch
	for range 1 + rng.IntN(most) {
		kind := tuples.OpTouch
		if rng.IntN(3) == 0 {
			kind = tuples.OpDelete
		}
		tp, err := tuples.Parse(line(rng))
		if err != nil {
			return b, err
		}
		b.Ops = append(b.Ops, tuples.Op{Kind: kind, Tuple: tp})
	}
	return b, nil
}

func indexStep(t *testing.T, ctx context.Context, s store.Store, rng *rand.Rand, o Options) {
	t.Helper()
	switch x := rng.IntN(20); {
	case x < 12:
		b, err := randomBatch(rng, 4, indexTuple)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	case x < 15:
		f := tuples.Filter{ObjectType: "team", ObjectID: fmt.Sprintf("t%d", rng.IntN(indexTeams))}
		if rng.IntN(2) == 0 {
			f = tuples.Filter{SubjectType: "team", SubjectID: f.ObjectID, SubjectRelation: "member"}
		}
		if _, _, err := s.DeleteMatching(ctx, f); err != nil {
			t.Fatal(err)
		}
	default:
		var lines []string
		n := 1 + rng.IntN(12)
		if o.SmallImports {
			// Past what a backend holds in memory: the bulk path.
			n = 300
		}
		for range n {
			lines = append(lines, indexTuple(rng))
		}
		if _, err := s.Import(ctx, strings.NewReader(strings.Join(lines, "\n")+"\n"), store.ImportOptions{Name: "index.tuples"}); err != nil {
			t.Fatal(err)
		}
	}
}

func testIndexHistory(t *testing.T, ctx context.Context, s store.Store, be Backend, o Options) {
	for seed := range uint64(3) {
		if seed > 0 {
			// A store of its own for each history.
			s = be.Open(t, o)
			defer s.Close()
		}
		rng := rand.New(rand.NewPCG(20261201, seed))
		if _, err := s.WriteSchema(ctx, "index.rebac", []byte(indexSchema)); err != nil {
			t.Fatal(err)
		}
		var revs []tuples.Revision
		dropped, over := 0, 0
		for range 60 {
			indexStep(t, ctx, s, rng, o)
			if o.IndexRecompute > 0 && rng.IntN(4) == 0 {
				buildIndex(t, ctx, s)
			}
			rev := latest(t, ctx, s)
			on, n := checkIndexAt(t, ctx, s, rev, o)
			if !on {
				dropped++
			}
			over += n
			revs = append(revs, rev)
		}
		t.Logf("history %d: %d revisions, %d without the index, %d groups over the bound", seed, len(revs), dropped, over)
		for _, rev := range revs {
			checkIndexAt(t, ctx, s, rev, o)
		}
	}
}

func testIndexSchemaChanges(t *testing.T, ctx context.Context, s store.Store, be Backend, o Options) {
	rng := rand.New(rand.NewPCG(20261201, 99))
	if _, err := s.WriteSchema(ctx, "index.rebac", []byte(indexSchema)); err != nil {
		t.Fatal(err)
	}
	for range 30 {
		indexStep(t, ctx, s, rng, o)
	}
	built := latest(t, ctx, s)
	checkIndexAt(t, ctx, s, built, o)
	// Memberships may now expire: no index, whatever was stored.
	if _, err := s.WriteSchema(ctx, "expiring.rebac", []byte(indexSchemaExpiring)); err != nil {
		t.Fatal(err)
	}
	dropped := latest(t, ctx, s)
	checkIndexAt(t, ctx, s, dropped, o)
	for range 10 {
		indexStep(t, ctx, s, rng, o)
	}
	// Back to plain memberships: the index is built from the tuples.
	if _, err := s.WriteSchema(ctx, "index.rebac", []byte(indexSchema)); err != nil {
		t.Fatal(err)
	}
	rebuilt := latest(t, ctx, s)
	checkIndexAt(t, ctx, s, rebuilt, o)
	for range 10 {
		indexStep(t, ctx, s, rng, o)
		checkIndexAt(t, ctx, s, latest(t, ctx, s), o)
	}
	for _, rev := range []tuples.Revision{built, dropped, rebuilt} {
		checkIndexAt(t, ctx, s, rev, o)
	}
}

func latest(t *testing.T, ctx context.Context, s store.Store) tuples.Revision {
	t.Helper()
	sn := snap(t, ctx, s, 0)
	defer sn.Close()
	return sn.Revision()
}

func buildIndex(t *testing.T, ctx context.Context, s store.Store) {
	t.Helper()
	ix, ok := s.(store.Indexer)
	if !ok {
		return
	}
	if _, err := ix.BuildIndex(ctx, nil); err != nil && !strings.Contains(err.Error(), "keeps no membership index") {
		t.Fatal(err)
	}
}

// checkIndexAt compares the index at rev with a breadth-first search up
// the tuples at rev, for every team.
func checkIndexAt(t *testing.T, ctx context.Context, s store.Store, rev tuples.Revision, o Options) (maintained bool, overflowed int) {
	t.Helper()
	sn := snap(t, ctx, s, rev)
	defer sn.Close()
	gi, ok := sn.(tuples.GroupIndex)
	if !ok {
		// A backend without an index: its snapshots offer none, and it
		// reports none.
		if ix, ok := s.(store.Indexer); ok {
			if _, supported, err := ix.IndexStatus(ctx, rev); err != nil || supported {
				t.Fatalf("revision %d: no GroupsAbove on the snapshot, yet the index is supported (%v)", rev, err)
			}
		}
		return false, 0
	}
	nesting := sn.Schema().Relation("team", "member").GroupIndexed()
	var st store.IndexStatus
	if ix, ok := s.(store.Indexer); ok {
		sts, supported, err := ix.IndexStatus(ctx, rev)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range sts {
			if x.Type == "team" && x.Relation == "member" {
				st, maintained = x, x.Maintained
			}
		}
		if supported && nesting && o.IndexRecompute == 0 && !maintained {
			t.Fatalf("revision %d: the index of team#member is not maintained", rev)
		}
		if !nesting && len(sts) > 0 {
			t.Fatalf("revision %d: status %+v of a relation that is not indexed", rev, sts)
		}
	}
	parents := map[string][]string{}
	edges := all(t, ctx, sn, tuples.Filter{ObjectType: "team", Relation: "member", SubjectType: "team", SubjectRelation: "member"})
	for _, e := range edges {
		tp := mustParse(t, e)
		parents[tp.SubjectID] = append(parents[tp.SubjectID], tp.ObjectID)
	}
	bound := o.IndexBound
	if bound == 0 {
		bound = store.DefaultIndexBound
	}
	entries := 0
	for i := range indexTeams {
		g := fmt.Sprintf("t%d", i)
		want := groupsAbove(g, parents)
		got, indexed, err := gi.GroupsAbove(ctx, tuples.Object{Type: "team", ID: g}, "member")
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case !nesting || (!maintained && (o.MemIndex == store.MemIndexOff || !indexed)):
			if indexed {
				t.Fatalf("revision %d: team:%s answered from an index that is not maintained: %v", rev, g, got)
			}
		case len(want) > bound:
			overflowed++
			if indexed {
				t.Fatalf("revision %d: team:%s has %d groups above it, over the bound %d, yet is indexed: %v", rev, g, len(want), bound, got)
			}
		default:
			// Where the backend keeps no index (it was dropped), the one
			// in memory may still answer, from the tuples themselves.
			if maintained {
				entries += len(want)
			}
			if !indexed {
				t.Fatalf("revision %d: team:%s not indexed; want %v\nedges: %v", rev, g, want, edges)
			}
			slices.SortFunc(got, func(a, b tuples.GroupAbove) int { return cmp.Compare(a.ID, b.ID) })
			if !slices.Equal(got, want) {
				t.Fatalf("revision %d: groups above team:%s = %v, want %v\nedges: %v", rev, g, got, want, edges)
			}
		}
	}
	if maintained && (st.Entries != entries || st.Overflowed != overflowed) {
		t.Fatalf("revision %d: status %+v; want %d entries, %d overflowed (stale entries left?)", rev, st, entries, overflowed)
	}
	checkIndexBatch(t, ctx, gi, rev)
	checkSubjectsBelow(t, ctx, sn, rev, parents, bound, maintained && nesting)
	checkCountsAt(t, ctx, sn, rev, edges)
	return maintained, overflowed
}

// checkCountsAt compares the counts of team#member at rev with those of
// its subject sets stored there (edges), where the snapshot offers
// counts: kept exactly while the schema counts the relation.
func checkCountsAt(t *testing.T, ctx context.Context, sn tuples.Snapshot, rev tuples.Revision, edges []string) {
	t.Helper()
	nc, ok := sn.(tuples.NestingCounter)
	if !ok {
		return
	}
	got, kept, err := nc.NestingCounts(ctx, "team", "member")
	if err != nil {
		t.Fatal(err)
	}
	if counted := sn.Schema().Relation("team", "member").NestingCounted(); !counted {
		if kept {
			t.Fatalf("revision %d: counts %+v kept of a relation the schema does not count", rev, got)
		}
		return
	}
	if !kept {
		t.Fatalf("revision %d: no counts kept of team#member", rev)
	}
	parents, children := map[string]bool{}, map[string]bool{}
	for _, e := range edges {
		tp := mustParse(t, e)
		parents[tp.ObjectID], children[tp.SubjectID] = true, true
	}
	want := tuples.NestingCounts{Sets: int64(len(edges)), Parents: int64(len(parents)), Children: int64(len(children))}
	if got != want {
		t.Fatalf("revision %d: counts of team#member %+v, the tuples make %+v\nedges: %v", rev, got, want, edges)
	}
}

// checkIndexBatch: where the snapshot reads several groups' rows at once
// (tuples.GroupIndexBatch), it answers as GroupsAbove does one group at a
// time, for every team and for a few subsets with repeats.
func checkIndexBatch(t *testing.T, ctx context.Context, gi tuples.GroupIndex, rev tuples.Revision) {
	t.Helper()
	b, ok := gi.(tuples.GroupIndexBatch)
	if !ok {
		return
	}
	all := indexTeamObjects()
	sets := [][]tuples.Object{all, all[:1], {all[3], all[1], all[3]}, all[indexTeams/2:]}
	for _, groups := range sets {
		rows, indexed, err := b.GroupsAboveEach(ctx, groups, "member")
		if err != nil {
			t.Fatal(err)
		}
		wantIndexed := true
		var want [][]tuples.GroupAbove
		for _, g := range groups {
			row, ok, err := gi.GroupsAbove(ctx, g, "member")
			if err != nil {
				t.Fatal(err)
			}
			wantIndexed = wantIndexed && ok
			want = append(want, row)
		}
		if indexed != wantIndexed {
			t.Fatalf("revision %d: GroupsAboveEach(%v) indexed %v, one group at a time %v", rev, groups, indexed, wantIndexed)
		}
		if !indexed {
			continue
		}
		if len(rows) != len(groups) {
			t.Fatalf("revision %d: GroupsAboveEach(%v) returned %d rows", rev, groups, len(rows))
		}
		for i := range groups {
			got := slices.Clone(rows[i])
			w := slices.Clone(want[i])
			for _, x := range [][]tuples.GroupAbove{got, w} {
				slices.SortFunc(x, func(a, b tuples.GroupAbove) int { return cmp.Compare(a.ID, b.ID) })
			}
			if !slices.Equal(got, w) {
				t.Fatalf("revision %d: GroupsAboveEach row of %s = %v, one at a time %v", rev, groups[i], got, w)
			}
		}
	}
}

// checkSubjectsBelow: where the snapshot reads its index downwards
// (tuples.GroupsBelowReader), the subjects it returns of every group are
// that group's stored subjects, it answers for every group asked, and,
// while the index is maintained, for every group below one of them
// (within the bound), and for no group that is neither.
func checkSubjectsBelow(t *testing.T, ctx context.Context, sn tuples.Snapshot, rev tuples.Revision, parents map[string][]string, bound int, indexed bool) {
	t.Helper()
	b, ok := sn.(tuples.GroupsBelowReader)
	if !ok {
		return
	}
	teams := indexTeamObjects()
	for _, groups := range [][]tuples.Object{teams[:1], {teams[2], teams[5]}, teams[indexTeams/2:], teams} {
		got, ok, err := b.SubjectsWithBelow(ctx, groups, "member")
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			continue
		}
		asked := map[string]bool{}
		for _, g := range groups {
			asked[g.ID] = true
			if _, ok := got[g]; !ok {
				t.Fatalf("revision %d: SubjectsWithBelow(%v) has no entry for %s", rev, groups, g)
			}
		}
		for i := range indexTeams {
			g := fmt.Sprintf("t%d", i)
			above := groupsAbove(g, parents)
			below := slices.ContainsFunc(above, func(a tuples.GroupAbove) bool { return asked[a.ID] })
			subjs, has := got[tuples.Object{Type: "team", ID: g}]
			switch {
			case has && !asked[g] && !below:
				t.Fatalf("revision %d: SubjectsWithBelow(%v) answers for %s, neither asked nor below", rev, groups, g)
			case !has && !asked[g] && below && indexed && len(above) <= bound:
				t.Fatalf("revision %d: SubjectsWithBelow(%v) has no entry for %s, below %v", rev, groups, g, above)
			case !has:
				continue
			}
			var want []tuples.Subject
			for s, err := range sn.Subjects(ctx, tuples.Object{Type: "team", ID: g}, "member", tuples.SubjectFilter{}) {
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, s)
			}
			if !slices.Equal(subjs, want) {
				t.Fatalf("revision %d: SubjectsWithBelow(%v) gives %s the subjects %v, Subjects %v", rev, groups, g, subjs, want)
			}
		}
	}
}

// groupsAbove is the reference: the groups above g with their shortest
// chains, g itself left out.
func groupsAbove(g string, parents map[string][]string) []tuples.GroupAbove {
	dist := map[string]int{g: 0}
	frontier := []string{g}
	var out []tuples.GroupAbove
	for d := 1; len(frontier) > 0; d++ {
		var next []string
		for _, h := range frontier {
			for _, p := range parents[h] {
				if _, ok := dist[p]; !ok {
					dist[p] = d
					out = append(out, tuples.GroupAbove{ID: p, Chain: d})
					next = append(next, p)
				}
			}
		}
		frontier = next
	}
	slices.SortFunc(out, func(a, b tuples.GroupAbove) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// indexTeamObjects are the teams of the index histories, t0 to
// t(indexTeams-1).
func indexTeamObjects() []tuples.Object {
	teams := make([]tuples.Object, indexTeams)
	for i := range teams {
		teams[i] = tuples.Object{Type: "team", ID: fmt.Sprintf("t%d", i)}
	}
	return teams
}
