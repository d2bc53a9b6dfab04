package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// The membership index in memory (store/memindex.go): a snapshot's
// reverse reads of a nesting relation, and the groups above a group,
// answered from memory must be those of the tuples at the snapshot's
// revision, through writes, deletes, imports, a trimmed change log,
// schema changes, old and pinned snapshots, the size limit and writers
// racing readers. The answers are compared with the backend's own reads
// (Read is never answered from memory).

var memIndexTests = []optionsTest{
	{"MemIndexHistory", Options{KeepRevisions: 1000}, testMemIndexHistory},
	{"MemIndexRebuilds", Options{KeepRevisions: 1000}, testMemIndexRebuilds},
	{"MemIndexOverLimit", Options{KeepRevisions: 1000, MemIndexLimit: 5}, testMemIndexOverLimit},
	{"MemIndexConcurrent", Options{KeepRevisions: 1000}, testMemIndexConcurrent},
	{"MemIndexHopRelation", Options{KeepRevisions: 1000}, testMemIndexHop},
}

// hopSchema's user#team is hopped through into a nesting relation
// (`assignee.team#member`): the index in memory holds it too. Its
// `manager` is hopped through into a relation that does not nest
// (`team#lead`): not held.
const hopSchema = `type user {
  relation team: team
  relation manager: team
}

type team {
  relation member: user | team#member
  relation lead: user
}

type case {
  relation assignee: user
  relation viewer = assignee.team#member | assignee.manager#lead
}
`

func runMemIndexTests(t *testing.T, b Backend, mem store.MemIndexMode) {
	if mem != store.MemIndexOff {
		runOptionsTests(t, b, mem, memIndexTests)
		runOptionsTests(t, b, mem, memDenyTests)
	}
}

// memSubjects are every subject indexTuple stores in team#member, and
// one it never stores.
func memSubjects() []tuples.Subject {
	out := []tuples.Subject{{Type: "user", ID: tuples.Wildcard}, {Type: "user", ID: "nobody"}}
	for i := range 4 {
		out = append(out, tuples.Subject{Type: "user", ID: fmt.Sprintf("u%d", i)})
	}
	for i := range indexTeams {
		out = append(out, tuples.Subject{Type: "team", ID: fmt.Sprintf("t%d", i), Relation: "member"})
	}
	return out
}

// checkReverse compares sn's reverse reads of team#member, and its groups
// above every team, with the tuples sn reads back; it returns how many
// groups the tuples hold in all.
func checkReverse(t *testing.T, ctx context.Context, sn tuples.Snapshot) int {
	t.Helper()
	n := 0
	subjects := memSubjects()
	for _, s := range subjects {
		var want []string
		for _, x := range all(t, ctx, sn, tuples.Filter{ObjectType: "team", Relation: "member", SubjectType: s.Type, SubjectID: s.ID, SubjectRelation: s.Relation}) {
			want = append(want, mustParse(t, x).ObjectID)
		}
		slices.Sort(want)
		var got []string
		for o, err := range sn.Reverse(ctx, s, "team", "member") {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, o.ID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("revision %d: the teams storing %s are %v, the tuples say %v", sn.Revision(), s, got, want)
		}
		n += len(want)
	}
	checkStored(t, ctx, sn)
	var want []tuples.Tuple
	for _, s := range subjects {
		for _, x := range all(t, ctx, sn, tuples.Filter{ObjectType: "team", Relation: "member", SubjectType: s.Type, SubjectID: s.ID, SubjectRelation: s.Relation}) {
			want = append(want, mustParse(t, x))
		}
	}
	var got []tuples.Tuple
	for x, err := range sn.ObjectsOf(ctx, subjects, "team", "member") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, x)
	}
	if !slices.EqualFunc(got, want, func(a, b tuples.Tuple) bool { return a.Key() == b.Key() && a.Payload.IsZero() && b.Payload.IsZero() }) {
		t.Fatalf("revision %d: ObjectsOf every subject: %v, the tuples say %v", sn.Revision(), got, want)
	}
	parents := map[string][]string{}
	for _, e := range all(t, ctx, sn, tuples.Filter{ObjectType: "team", Relation: "member", SubjectType: "team", SubjectRelation: "member"}) {
		tp := mustParse(t, e)
		parents[tp.SubjectID] = append(parents[tp.SubjectID], tp.ObjectID)
	}
	gi, ok := sn.(tuples.GroupIndex)
	if !ok {
		t.Fatalf("revision %d: a store holding the index in memory offers no GroupsAbove", sn.Revision())
	}
	mr, ok := sn.(tuples.MembershipReader)
	if !ok {
		t.Fatalf("revision %d: a store holding the index in memory offers no Memberships", sn.Revision())
	}
	subjects = memSubjects()
	for i, s := range subjects {
		// One subject, and two at once (a subject and its type's
		// wildcard, as the checker asks).
		ask := []tuples.Subject{s}
		if i > 0 {
			ask = append(ask, subjects[i-1])
		}
		got, ok, err := mr.Memberships(ctx, ask, "team", "member", store.DefaultIndexBound)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			continue // read level by level: nothing to compare
		}
		want := memberGroups(t, ctx, sn, ask, parents)
		slices.SortFunc(got, func(a, b tuples.GroupAbove) int { return strings.Compare(a.ID, b.ID) })
		if !slices.Equal(got, want) {
			t.Fatalf("revision %d: memberships of %v = %v, the tuples say %v", sn.Revision(), ask, got, want)
		}
	}
	for i := range indexTeams {
		g := fmt.Sprintf("t%d", i)
		got, indexed, err := gi.GroupsAbove(ctx, tuples.Object{Type: "team", ID: g}, "member")
		if err != nil {
			t.Fatal(err)
		}
		if want := groupsAbove(g, parents); indexed && !slices.Equal(got, want) {
			t.Fatalf("revision %d: groups above team:%s = %v, want %v", sn.Revision(), g, got, want)
		}
	}
	return n
}

// checkStored compares sn's reads down a nesting relation (Subjects
// under several filters, SubjectsOf, SubjectsWithBelow) with the tuples
// sn reads back, in the backends' order.
func checkStored(t *testing.T, ctx context.Context, sn tuples.Snapshot) {
	t.Helper()
	stored := map[string][]tuples.Subject{}
	children := map[string][]string{}
	teams := indexTeamObjects()
	var every []tuples.Tuple
	for _, g := range teams {
		for _, x := range all(t, ctx, sn, tuples.Filter{ObjectType: "team", ObjectID: g.ID, Relation: "member"}) {
			tp := mustParse(t, x)
			every = append(every, tp)
			stored[g.ID] = append(stored[g.ID], tp.Subject())
			if tp.SubjectType == "team" && tp.SubjectRelation == "member" {
				children[g.ID] = append(children[g.ID], tp.SubjectID)
			}
		}
	}
	filters := []tuples.SubjectFilter{{}, {Plain: true}, {Sets: true}, {Sets: true, Relation: "member"}, {Sets: true, Relation: "lead"}, {Type: "user"}, {Type: "team", Sets: true}}
	for _, g := range teams {
		for _, f := range filters {
			var want, got []tuples.Subject
			for _, x := range stored[g.ID] {
				if f.Matches(x) {
					want = append(want, x)
				}
			}
			for x, err := range sn.Subjects(ctx, g, "member", f) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, x)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("revision %d: %s#member under %+v: %v, the tuples say %v", sn.Revision(), g, f, got, want)
			}
		}
	}
	var got []tuples.Tuple
	for x, err := range sn.SubjectsOf(ctx, teams, "member", tuples.SubjectFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, x)
	}
	if !slices.EqualFunc(got, every, func(a, b tuples.Tuple) bool { return a.Key() == b.Key() && a.Payload.IsZero() && b.Payload.IsZero() }) {
		t.Fatalf("revision %d: SubjectsOf every team: %v, the tuples say %v", sn.Revision(), got, every)
	}
	b, ok := sn.(tuples.GroupsBelowReader)
	if !ok {
		t.Fatalf("revision %d: a store holding the index in memory offers no SubjectsWithBelow", sn.Revision())
	}
	for _, asked := range [][]tuples.Object{teams[:1], {teams[2], teams[5]}, teams[indexTeams/2:], teams} {
		got, ok, err := b.SubjectsWithBelow(ctx, asked, "member")
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			continue
		}
		want := map[string]bool{}
		frontier := []string{}
		for _, g := range asked {
			want[g.ID] = true
			frontier = append(frontier, g.ID)
		}
		for len(frontier) > 0 {
			var next []string
			for _, g := range frontier {
				for _, c := range children[g] {
					if !want[c] {
						want[c] = true
						next = append(next, c)
					}
				}
			}
			frontier = next
		}
		if len(got) != len(want) {
			t.Fatalf("revision %d: SubjectsWithBelow(%v) answers %d groups, want %v", sn.Revision(), asked, len(got), want)
		}
		for g, subjs := range got {
			if !want[g.ID] || !slices.Equal(subjs, stored[g.ID]) {
				t.Fatalf("revision %d: SubjectsWithBelow(%v) gives %s %v, the tuples say %v (in the answer: %v)", sn.Revision(), asked, g, subjs, stored[g.ID], want[g.ID])
			}
		}
	}
}

// memberGroups searches up from the groups storing any of subjects
// (chain 0), through parents, for the shortest chain to every group.
func memberGroups(t *testing.T, ctx context.Context, sn tuples.Snapshot, subjects []tuples.Subject, parents map[string][]string) []tuples.GroupAbove {
	t.Helper()
	chain := map[string]int{}
	var frontier []string
	for _, s := range subjects {
		for _, x := range all(t, ctx, sn, tuples.Filter{ObjectType: "team", Relation: "member", SubjectType: s.Type, SubjectID: s.ID, SubjectRelation: s.Relation}) {
			if g := mustParse(t, x).ObjectID; !slices.Contains(frontier, g) {
				chain[g] = 0
				frontier = append(frontier, g)
			}
		}
	}
	for level := 1; len(frontier) > 0; level++ {
		var next []string
		for _, g := range frontier {
			for _, p := range parents[g] {
				if _, ok := chain[p]; !ok {
					chain[p] = level
					next = append(next, p)
				}
			}
		}
		frontier = next
	}
	var out []tuples.GroupAbove
	for g, c := range chain {
		out = append(out, tuples.GroupAbove{ID: g, Chain: c})
	}
	slices.SortFunc(out, func(a, b tuples.GroupAbove) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func memStatus(t *testing.T, s store.Store) store.MemIndexStatus {
	t.Helper()
	m, ok := s.(store.MemIndexer)
	if !ok {
		t.Fatal("the store reports no membership index in memory")
	}
	return m.MemIndexStatus()
}

func testMemIndexHistory(t *testing.T, ctx context.Context, s store.Store, be Backend, o Options) {
	rng := rand.New(rand.NewPCG(20261201, 7))
	if _, err := s.WriteSchema(ctx, "index.rebac", []byte(indexSchema)); err != nil {
		t.Fatal(err)
	}
	var revs []tuples.Revision
	var held []tuples.Snapshot
	defer func() {
		for _, sn := range held {
			sn.Close()
		}
	}()
	for i := range 80 {
		indexStep(t, ctx, s, rng, o)
		sn := snap(t, ctx, s, 0)
		checkReverse(t, ctx, sn)
		revs = append(revs, sn.Revision())
		if i%8 == 0 {
			held = append(held, sn) // read again after later writes
		} else {
			sn.Close()
		}
	}
	st := memStatus(t, s)
	if !st.Ready || st.Applied < revs[len(revs)-1] || st.CatchUps == 0 || st.Builds < 2 {
		t.Fatalf("the index in memory did not follow the writes: %+v", st)
	}
	for _, sn := range held {
		checkReverse(t, ctx, sn)
	}
	for _, rev := range revs {
		sn := snap(t, ctx, s, rev)
		checkReverse(t, ctx, sn)
		sn.Close()
	}
	t.Logf("%d revisions; %+v", len(revs), st)
}

func testMemIndexRebuilds(t *testing.T, ctx context.Context, s store.Store, be Backend, o Options) {
	setupIndex := func() {
		if _, err := s.WriteSchema(ctx, "index.rebac", []byte(indexSchema)); err != nil {
			t.Fatal(err)
		}
	}
	setupIndex()
	write(t, ctx, s, tuples.OpTouch, "team:t0#member@user:u0", "team:t1#member@team:t0#member", "team:t2#member@team:t1#member")
	check := func(want uint64) store.MemIndexStatus {
		t.Helper()
		sn := snap(t, ctx, s, 0)
		defer sn.Close()
		if checkReverse(t, ctx, sn) == 0 {
			t.Fatal("nothing stored")
		}
		st := memStatus(t, s)
		if !st.Ready || st.Builds != want || st.Applied < sn.Revision() {
			t.Fatalf("after revision %d: %+v, want %d builds", sn.Revision(), st, want)
		}
		return st
	}
	check(1)
	write(t, ctx, s, tuples.OpTouch, "team:t3#member@team:t2#member")
	write(t, ctx, s, tuples.OpDelete, "team:t1#member@team:t0#member")
	check(1) // caught up from the change log

	// The log trimmed past what the index holds: built again.
	write(t, ctx, s, tuples.OpTouch, "team:t4#member@user:u1")
	before := write(t, ctx, s, tuples.OpTouch, "team:t5#member@user:u2") // no snapshot in between
	if _, err := s.TrimChanges(ctx, before); err != nil {
		t.Fatal(err)
	}
	check(2)

	// An import is read again from the tuples, not from its change log.
	in := "team:t6#member@team:t5#member\nteam:t7#member@user:u3\n"
	if _, err := s.Import(ctx, strings.NewReader(in), store.ImportOptions{Name: "more.tuples"}); err != nil {
		t.Fatal(err)
	}
	check(3)

	// A schema with a nesting relation the index does not hold.
	more := indexSchema + "\ntype group {\n  relation member: user | group#member\n}\n"
	if _, err := s.WriteSchema(ctx, "more.rebac", []byte(more)); err != nil {
		t.Fatal(err)
	}
	write(t, ctx, s, tuples.OpTouch, "group:g1#member@group:g0#member", "group:g0#member@user:u0")
	st := check(4)
	if !slices.Contains(st.Relations, store.IndexedRelation{Type: "group", Relation: "member"}) {
		t.Fatalf("group#member not held: %+v", st)
	}
	sn := snap(t, ctx, s, 0)
	defer sn.Close()
	var got []string
	for o, err := range sn.Reverse(ctx, tuples.Subject{Type: "group", ID: "g0", Relation: "member"}, "group", "member") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, o.ID)
	}
	if !slices.Equal(got, []string{"g1"}) {
		t.Fatalf("groups storing group:g0#member: %v", got)
	}
}

func testMemIndexOverLimit(t *testing.T, ctx context.Context, s store.Store, be Backend, o Options) {
	if _, err := s.WriteSchema(ctx, "index.rebac", []byte(indexSchema)); err != nil {
		t.Fatal(err)
	}
	write(t, ctx, s, tuples.OpTouch, "team:t0#member@user:u0", "team:t1#member@user:u0", "team:t2#member@team:t1#member")
	sn := snap(t, ctx, s, 0)
	checkReverse(t, ctx, sn)
	sn.Close()
	if st := memStatus(t, s); !st.Ready || st.Tuples != 3 || st.Limit != 5 {
		t.Fatalf("under the limit of 5: %+v", st)
	}
	// Past the limit of 5 in a catch-up: dropped, and not built again.
	write(t, ctx, s, tuples.OpTouch, "team:t3#member@user:u1", "team:t4#member@user:u1", "team:t5#member@user:u2")
	for range 2 {
		sn := snap(t, ctx, s, 0)
		checkReverse(t, ctx, sn)
		sn.Close()
	}
	if st := memStatus(t, s); st.Ready || !st.OverLimit {
		t.Fatalf("over the limit: %+v", st)
	}
}

// testMemIndexConcurrent races a writer against readers that compare
// each snapshot's reverse reads with its tuples (run it with -race).
func testMemIndexConcurrent(t *testing.T, ctx context.Context, s store.Store, be Backend, o Options) {
	if _, err := s.WriteSchema(ctx, "index.rebac", []byte(indexSchema)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cancel()
		rng := rand.New(rand.NewPCG(20261201, 8))
		for range 60 {
			b, err := randomBatch(rng, 3, indexTuple)
			if err != nil {
				errs <- err
				return
			}
			if _, err := s.Write(context.Background(), b); err != nil {
				errs <- err
				return
			}
		}
	}()
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				sn, err := s.Snapshot(context.Background(), 0)
				if err != nil {
					errs <- err
					return
				}
				if err := compareReverse(context.Background(), sn); err != nil {
					sn.Close()
					errs <- err
					return
				}
				sn.Close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// hopTuple draws a tuple of hopSchema: a user's team (most often) or
// manager, or a team's member.
func hopTuple(rng *rand.Rand) string {
	line := fmt.Sprintf("user:u%d#team@team:t%d", rng.IntN(3), rng.IntN(indexTeams))
	switch rng.IntN(6) {
	case 0:
		line = fmt.Sprintf("user:u%d#manager@team:t%d", rng.IntN(3), rng.IntN(indexTeams))
	case 1:
		line = fmt.Sprintf("team:t%d#member@user:u%d", rng.IntN(indexTeams), rng.IntN(3))
	}
	return line
}

// testMemIndexHop: the relation a hop reads on its way into a nesting
// relation (a user's teams) is held and answered from memory, through
// writes, deletes and old revisions, both ways, exactly as the tuples.
func testMemIndexHop(t *testing.T, ctx context.Context, s store.Store, be Backend, o Options) {
	if _, err := s.WriteSchema(ctx, "hop.rebac", []byte(hopSchema)); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(20261201, 11))
	users := []tuples.Subject{{Type: "user", ID: "u0"}, {Type: "user", ID: "u1"}, {Type: "user", ID: "u2"}}
	teams := indexTeamObjects()
	var revs []tuples.Revision
	for range 40 {
		b, err := randomBatch(rng, 3, hopTuple)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		revs = append(revs, latest(t, ctx, s))
	}
	st := memStatus(t, s)
	want := []store.IndexedRelation{{Type: "team", Relation: "member"}, {Type: "user", Relation: "team"}}
	if !st.Ready || !slices.Equal(st.Relations, want) {
		t.Fatalf("held %+v, want %v", st, want)
	}
	for _, rev := range revs {
		sn := snap(t, ctx, s, rev)
		for _, u := range users {
			var want []tuples.Subject
			for _, x := range all(t, ctx, sn, tuples.Filter{ObjectType: "user", ObjectID: u.ID, Relation: "team"}) {
				want = append(want, mustParse(t, x).Subject())
			}
			var got []tuples.Subject
			for x, err := range sn.Subjects(ctx, tuples.Object{Type: "user", ID: u.ID}, "team", tuples.SubjectFilter{Plain: true}) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, x)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("revision %d: teams of %s: %v, the tuples say %v", rev, u, got, want)
			}
		}
		for _, g := range teams {
			var want []string
			for _, x := range all(t, ctx, sn, tuples.Filter{ObjectType: "user", Relation: "team", SubjectType: "team", SubjectID: g.ID}) {
				want = append(want, mustParse(t, x).ObjectID)
			}
			slices.Sort(want)
			var got []string
			for x, err := range sn.Reverse(ctx, tuples.Subject{Type: "team", ID: g.ID}, "user", "team") {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, x.ID)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("revision %d: users filed under %s: %v, the tuples say %v", rev, g, got, want)
			}
		}
		sn.Close()
	}
}

// compareReverse is checkReverse's reverse reads, for goroutines.
func compareReverse(ctx context.Context, sn tuples.Snapshot) error {
	for _, s := range memSubjects() {
		var want []string
		cursor := ""
		for {
			ts, next, err := sn.Read(ctx, tuples.Filter{ObjectType: "team", Relation: "member", SubjectType: s.Type, SubjectID: s.ID, SubjectRelation: s.Relation}, cursor, 100)
			if err != nil {
				return err
			}
			for _, x := range ts {
				want = append(want, x.ObjectID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		slices.Sort(want)
		var got []string
		for o, err := range sn.Reverse(ctx, s, "team", "member") {
			if err != nil {
				return err
			}
			got = append(got, o.ID)
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("revision %d: the teams storing %s are %v, the tuples say %v", sn.Revision(), s, got, want)
		}
	}
	return nil
}
