// Package storetest is the conformance suite every store.Backend must
// pass, run through store.New: a backend's tests call Run with a factory
// and the exceptions it states. The suite is black-box: it sees only the
// store.Store the factory returns and the hooks it is given.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// Backend describes a backend to the suite.
type Backend struct {
	Name string
	// Open returns a new, empty store; the suite closes it.
	Open func(t testing.TB, o Options) store.Store
	// Compact makes the backend reclaim every old version it may, as
	// its compaction would in time; nil when it has nothing to reclaim.
	Compact func(t testing.TB, s store.Store)
	// Leftovers, when set, checks after an import that the backend left
	// nothing behind: no temporary files and, when untouched is set
	// (the import succeeded or wrote nothing), nothing above the latest
	// revision.
	Leftovers func(t testing.TB, s store.Store, untouched bool)
	// Skip excuses the backend from tests by name, each with its reason.
	Skip map[string]string
}

// Options are what a test asks of a new store.
type Options struct {
	// KeepRevisions is how many revisions the store holds.
	KeepRevisions int
	// SmallImports makes imports take, on small inputs, every path a
	// large import takes: chunks of 100 tuples (store.Options.ImportChunk)
	// and whatever the backend does beyond what it holds in memory.
	SmallImports bool
	// IndexBound and IndexRecompute, when set, are the store's bounds of
	// the membership index (store.Options).
	IndexBound, IndexRecompute int
	// MemIndex is how the store holds the membership index in memory
	// (store.Options.MemIndex).
	MemIndex store.MemIndexMode
	// MemIndexLimit, when set, is store.Options.MemIndexLimit.
	MemIndexLimit int
}

// tests is the suite; small marks the tests that want SmallImports.
var tests = []struct {
	name  string
	keep  int
	small bool
	run   func(t *testing.T, ctx context.Context, s store.Store, b Backend)
}{
	{"NoSchema", 1000, false, testNoSchema},
	{"WriteHas", 1000, false, testWriteHas},
	{"CreateExistsAtomic", 1000, false, testCreateExists},
	{"TouchDelete", 1000, false, testTouchDelete},
	{"InvalidBatchWritesNothing", 1000, false, testInvalidBatch},
	{"Preconditions", 1000, false, testPreconditions},
	{"Subjects", 1000, false, testSubjects},
	{"Reverse", 1000, false, testReverse},
	{"ReadFilters", 1000, false, testReadFilters},
	{"ReadPaging", 1000, false, testReadPaging},
	{"OlderSnapshots", 1000, false, testOlderSnapshots},
	{"EdgeIDs", 1000, false, testEdgeIDs},
	{"ScanDecoding", 1000, false, testScanDecoding},
	{"DeleteMatching", 1000, false, testDeleteMatching},
	{"SchemaWrite", 1000, false, testSchemaWrite},
	{"ImportExportRoundTrip", 1000, false, testRoundTrip},
	{"ImportErrors", 1000, false, testImportErrors},
	{"ImportJSONLinesTwoObjectsOnALine", 1000, false, testImportJSONLinesTwoObjects},
	{"ImportDuplicates", 1000, false, testImportDuplicates},
	{"StreamedImport", 1000, true, testStreamedImport},
	{"StreamedImportBadLastChunk", 1000, true, testStreamedImportBadLastChunk},
	{"Changes", 1000, false, testChanges},
	{"TrimChanges", 1000, false, testTrimChanges},
	{"FutureRevision", 1000, false, testFutureRevision},
	{"ConcurrentReaders", 1000, false, testConcurrentReaders},
	{"SetReads", 1000, false, testSetReads},
	{"ScanObjects", 1000, false, testScanObjects},
	{"ObjectTuples", 1000, false, testObjectTuples},
	{"RevisionGone", 3, false, testRevisionGone},
	{"SnapshotPinned", 2, false, testSnapshotPinned},
	{"PayloadWriteReplace", 1000, false, testPayloadWriteReplace},
	{"PayloadExpiry", 1000, false, testPayloadExpiry},
	{"PayloadImportExport", 1000, false, testPayloadImportExport},
	{"PayloadStreamedImport", 1000, true, testPayloadImportExport},
	{"PayloadImportConflict", 1000, false, testPayloadImportConflict},
	{"PayloadStreamedImportConflict", 1000, true, testPayloadImportConflict},
	{"PayloadSchemaWrite", 1000, false, testPayloadSchemaWrite},
	{"CollectExpired", 1000, false, testCollectExpired},
}

// Run runs the suite against b, each test on a store of its own, then
// again with the membership index held in memory and built inside the
// snapshots that need it, so that every read it can answer comes from
// it (store.MemIndexInline).
func Run(t *testing.T, b Backend) {
	run := func(t *testing.T, mem store.MemIndexMode) {
		for _, c := range tests {
			t.Run(c.name, func(t *testing.T) {
				if why, ok := b.Skip[c.name]; ok {
					t.Skip(why)
				}
				t.Parallel()
				s := b.Open(t, Options{KeepRevisions: c.keep, SmallImports: c.small, MemIndex: mem})
				defer s.Close()
				c.run(t, context.Background(), s, b)
			})
		}
		runIndexTests(t, b, mem)
		runMemIndexTests(t, b, mem)
	}
	run(t, store.MemIndexOff)
	t.Run("memindex", func(t *testing.T) { run(t, store.MemIndexInline) })
}

func setup(t *testing.T, ctx context.Context, s store.Store, lines ...string) tuples.Revision {
	t.Helper()
	if _, err := s.WriteSchema(ctx, "test.rebac", []byte(testSchema)); err != nil {
		t.Fatal(err)
	}
	return write(t, ctx, s, tuples.OpTouch, lines...)
}

func write(t *testing.T, ctx context.Context, s store.Store, kind tuples.OpKind, lines ...string) tuples.Revision {
	t.Helper()
	var b tuples.Batch
	for _, x := range lines {
		b.Ops = append(b.Ops, tuples.Op{Kind: kind, Tuple: mustParse(t, x)})
	}
	rev, err := s.Write(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func snap(t *testing.T, ctx context.Context, s store.Store, rev tuples.Revision) tuples.Snapshot {
	t.Helper()
	sn, err := s.Snapshot(ctx, rev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sn.Close() })
	return sn
}

func has(t *testing.T, ctx context.Context, sn tuples.Snapshot, tuple string) bool {
	t.Helper()
	tp := mustParse(t, tuple)
	ok, err := sn.Has(ctx, tp.Object(), tp.Relation, tp.Subject())
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// all reads every tuple matching f as sorted strings.
func all(t *testing.T, ctx context.Context, sn tuples.Snapshot, f tuples.Filter) []string {
	t.Helper()
	ts, next, err := sn.Read(ctx, f, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if next != "" {
		t.Fatalf("unlimited read returned a cursor")
	}
	out := make([]string, len(ts))
	for i, x := range ts {
		out[i] = x.Text()
	}
	sort.Strings(out)
	return out
}

func testNoSchema(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	_, err := s.Write(ctx, tuples.Batch{Ops: []tuples.Op{{Kind: tuples.OpTouch, Tuple: mustParse(t, "doc:1#viewer@user:ana")}}})
	if !errors.Is(err, tuples.ErrNoSchema) {
		t.Fatalf("write before schema = %v, want tuples.ErrNoSchema", err)
	}
	if _, err := s.Import(ctx, strings.NewReader("doc:1#viewer@user:ana\n"), store.ImportOptions{}); !errors.Is(err, tuples.ErrNoSchema) {
		t.Fatalf("import before schema = %v, want tuples.ErrNoSchema", err)
	}
	sn := snap(t, ctx, s, 0)
	if sn.Schema() != nil || sn.Revision() != 0 {
		t.Fatalf("empty store snapshot: schema %v revision %d", sn.Schema(), sn.Revision())
	}
}

func testWriteHas(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	r1 := setup(t, ctx, s, "doc:1#viewer@user:ana")
	r2 := write(t, ctx, s, tuples.OpCreate, "doc:2#viewer@user:*")
	if r2 != r1+1 {
		t.Fatalf("revisions %d then %d, want consecutive", r1, r2)
	}
	sn := snap(t, ctx, s, 0)
	if sn.Revision() != r2 || sn.Schema() == nil || sn.Schema().Relation("doc", "viewer") == nil {
		t.Fatalf("snapshot at %d with schema %v", sn.Revision(), sn.Schema())
	}
	for tuple, want := range map[string]bool{
		"doc:1#viewer@user:ana":  true,
		"doc:1#viewer@user:anna": false,
		"doc:1#owner@user:ana":   false,
		"doc:2#viewer@user:*":    true,
		"doc:2#viewer@user:ana":  false, // Has is exact; wildcards are the checker's business
		"doc:10#viewer@user:ana": false,
	} {
		if got := has(t, ctx, sn, tuple); got != want {
			t.Errorf("Has(%s) = %v, want %v", tuple, got, want)
		}
	}
}

func testCreateExists(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	rev := setup(t, ctx, s, "doc:1#viewer@user:ana")
	_, err := s.Write(ctx, tuples.Batch{Ops: []tuples.Op{
		{Kind: tuples.OpCreate, Tuple: mustParse(t, "doc:1#viewer@user:bob")},
		{Kind: tuples.OpCreate, Tuple: mustParse(t, "doc:1#viewer@user:ana")},
	}})
	if !errors.Is(err, tuples.ErrExists) || !strings.Contains(err.Error(), "doc:1#viewer@user:ana") {
		t.Fatalf("create of existing = %v, want tuples.ErrExists naming the tuple", err)
	}
	sn := snap(t, ctx, s, 0)
	if sn.Revision() != rev || has(t, ctx, sn, "doc:1#viewer@user:bob") {
		t.Fatal("a failed batch wrote something")
	}
	// Creating twice within one batch fails too.
	_, err = s.Write(ctx, tuples.Batch{Ops: []tuples.Op{
		{Kind: tuples.OpCreate, Tuple: mustParse(t, "doc:1#viewer@user:cy")},
		{Kind: tuples.OpCreate, Tuple: mustParse(t, "doc:1#viewer@user:cy")},
	}})
	if !errors.Is(err, tuples.ErrExists) {
		t.Fatalf("double create = %v, want tuples.ErrExists", err)
	}
}

func testTouchDelete(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	setup(t, ctx, s, "doc:1#viewer@user:ana")
	write(t, ctx, s, tuples.OpTouch, "doc:1#viewer@user:ana", "doc:1#viewer@user:bob")
	write(t, ctx, s, tuples.OpDelete, "doc:1#viewer@user:ana", "doc:1#viewer@user:nobody")
	got := all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{})
	if !slices.Equal(got, []string{"doc:1#viewer@user:bob"}) {
		t.Fatalf("after touch and delete: %v", got)
	}
	// Create then delete in one batch nets to nothing.
	_, err := s.Write(ctx, tuples.Batch{Ops: []tuples.Op{
		{Kind: tuples.OpCreate, Tuple: mustParse(t, "doc:2#owner@user:x")},
		{Kind: tuples.OpDelete, Tuple: mustParse(t, "doc:2#owner@user:x")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if has(t, ctx, snap(t, ctx, s, 0), "doc:2#owner@user:x") {
		t.Fatal("create+delete left the tuple")
	}
}

func testInvalidBatch(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	rev := setup(t, ctx, s)
	_, err := s.Write(ctx, tuples.Batch{Ops: []tuples.Op{
		{Kind: tuples.OpTouch, Tuple: mustParse(t, "doc:1#viewer@user:ana")},
		{Kind: tuples.OpTouch, Tuple: mustParse(t, "doc:1#can_view@user:ana")},
		{Kind: tuples.OpTouch, Tuple: mustParse(t, "doc:1#owner@user:*")},
	}})
	if err == nil || !strings.Contains(err.Error(), "operation 2: doc:1#can_view@user:ana") || !strings.Contains(err.Error(), "operation 3") {
		t.Fatalf("invalid batch error = %v, want both bad operations named", err)
	}
	sn := snap(t, ctx, s, 0)
	if sn.Revision() != rev || len(all(t, ctx, sn, tuples.Filter{})) != 0 {
		t.Fatal("an invalid batch wrote something")
	}
}

func testPreconditions(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	setup(t, ctx, s, "doc:1#owner@user:ana")
	op := []tuples.Op{{Kind: tuples.OpTouch, Tuple: mustParse(t, "doc:1#viewer@user:bob")}}
	cases := []struct {
		p  tuples.Precondition
		ok bool
	}{
		{tuples.Precondition{Filter: tuples.Filter{ObjectType: "doc", ObjectID: "1", Relation: "owner"}, MustMatch: true}, true},
		{tuples.Precondition{Filter: tuples.Filter{ObjectType: "doc", ObjectID: "2"}, MustMatch: true}, false},
		{tuples.Precondition{Filter: tuples.Filter{SubjectType: "user", SubjectID: "ana"}, MustMatch: false}, false},
		{tuples.Precondition{Filter: tuples.Filter{SubjectType: "user", SubjectID: "zed"}, MustMatch: false}, true},
	}
	for i, c := range cases {
		before := snap(t, ctx, s, 0).Revision()
		_, err := s.Write(ctx, tuples.Batch{Ops: op, Preconditions: []tuples.Precondition{c.p}})
		if c.ok && err != nil {
			t.Errorf("case %d: %v", i, err)
		}
		if !c.ok {
			if !errors.Is(err, tuples.ErrPrecondition) {
				t.Errorf("case %d: %v, want tuples.ErrPrecondition", i, err)
			}
			if snap(t, ctx, s, 0).Revision() != before {
				t.Errorf("case %d: failed precondition wrote a revision", i)
			}
		}
	}
}

var fixture = []string{
	"doc:1#viewer@user:ana",
	"doc:1#viewer@user:bob",
	"doc:1#viewer@user:*",
	"doc:1#viewer@team:east#member",
	"doc:1#owner@user:ana",
	"doc:2#viewer@user:ana",
	"doc:2#viewer@team:west#member",
	"doc:2#parent@doc:1",
	"doc:10#viewer@user:ana",
	"team:east#member@user:bob",
	"team:east#member@team:west#member",
	"team:west#member@user:cy",
}

func testSubjects(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	setup(t, ctx, s, fixture...)
	sn := snap(t, ctx, s, 0)
	cases := []struct {
		f    tuples.SubjectFilter
		want []string
	}{
		{tuples.SubjectFilter{}, []string{"team:east#member", "user:*", "user:ana", "user:bob"}},
		{tuples.SubjectFilter{Type: "user"}, []string{"user:*", "user:ana", "user:bob"}},
		{tuples.SubjectFilter{Type: "team"}, []string{"team:east#member"}},
		{tuples.SubjectFilter{Sets: true}, []string{"team:east#member"}},
		{tuples.SubjectFilter{Sets: true, Relation: "owner"}, nil},
		{tuples.SubjectFilter{Sets: true, Relation: "member", Type: "team"}, []string{"team:east#member"}},
		{tuples.SubjectFilter{Plain: true}, []string{"user:*", "user:ana", "user:bob"}},
		{tuples.SubjectFilter{Plain: true, Type: "team"}, nil},
	}
	for _, c := range cases {
		var got []string
		for sub, err := range sn.Subjects(ctx, tuples.Object{Type: "doc", ID: "1"}, "viewer", c.f) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, sub.String())
		}
		sort.Strings(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("Subjects(%+v) = %v, want %v", c.f, got, c.want)
		}
	}
	// Stopping early is allowed.
	for range sn.Subjects(ctx, tuples.Object{Type: "doc", ID: "1"}, "viewer", tuples.SubjectFilter{}) {
		break
	}
}

func testReverse(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	setup(t, ctx, s, fixture...)
	sn := snap(t, ctx, s, 0)
	cases := []struct {
		subj     string
		typ, rel string
		want     []string
	}{
		{"user:ana", "doc", "viewer", []string{"doc:1", "doc:10", "doc:2"}},
		{"user:ana", "doc", "owner", []string{"doc:1"}},
		{"user:*", "doc", "viewer", []string{"doc:1"}},
		{"team:west#member", "doc", "viewer", []string{"doc:2"}},
		{"team:west#member", "team", "member", []string{"team:east"}},
		{"team:west", "team", "member", nil},
		{"doc:1", "doc", "parent", []string{"doc:2"}},
		{"user:an", "doc", "viewer", nil},
	}
	for _, c := range cases {
		sub, err := tuples.ParseSubject(c.subj)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for o, err := range sn.Reverse(ctx, sub, c.typ, c.rel) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, o.String())
		}
		// In order of object id (byte order: doc:10 before doc:2), which
		// lookups rely on to merge reverse reads.
		if !slices.Equal(got, c.want) {
			t.Errorf("Reverse(%s, %s#%s) = %v, want %v in this order", c.subj, c.typ, c.rel, got, c.want)
		}
	}
}

func testReadFilters(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	setup(t, ctx, s, fixture...)
	sn := snap(t, ctx, s, 0)
	// Every combination of the six fields, checked against a plain
	// filter over the fixture.
	sample := mustParse(t, "doc:1#viewer@team:east#member")
	for mask := 0; mask < 64; mask++ {
		var f tuples.Filter
		fields := []*string{&f.ObjectType, &f.ObjectID, &f.Relation, &f.SubjectType, &f.SubjectID, &f.SubjectRelation}
		values := []string{sample.ObjectType, sample.ObjectID, sample.Relation, sample.SubjectType, sample.SubjectID, sample.SubjectRelation}
		for i := range fields {
			if mask&(1<<i) != 0 {
				*fields[i] = values[i]
			}
		}
		var want []string
		for _, x := range fixture {
			if f.Matches(mustParse(t, x)) {
				want = append(want, x)
			}
		}
		sort.Strings(want)
		if got := all(t, ctx, sn, f); !slices.Equal(got, want) {
			t.Errorf("Read(%s) = %v, want %v", f, got, want)
		}
	}
	extra := []struct {
		f    tuples.Filter
		want int
	}{
		{tuples.Filter{SubjectType: "user", SubjectID: "ana"}, 4},
		{tuples.Filter{ObjectType: "doc", ObjectID: "1"}, 5},
		{tuples.Filter{ObjectType: "doc", SubjectID: "ana"}, 4},
		{tuples.Filter{Relation: "member"}, 3},
		{tuples.Filter{SubjectID: "*"}, 1},
		{tuples.Filter{ObjectID: "east"}, 2},
	}
	for _, c := range extra {
		if got := all(t, ctx, sn, c.f); len(got) != c.want {
			t.Errorf("Read(%s) = %v, want %d tuples", c.f, got, c.want)
		}
	}
}

func testReadPaging(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	setup(t, ctx, s, fixture...)
	sn := snap(t, ctx, s, 0)
	for _, f := range []tuples.Filter{{}, {ObjectType: "doc"}, {SubjectType: "user"}, {Relation: "viewer"}} {
		want := all(t, ctx, sn, f)
		for _, limit := range []int{1, 2, 5} {
			var got []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > len(want)+1 {
					t.Fatalf("paging %s by %d does not end", f, limit)
				}
				ts, next, err := sn.Read(ctx, f, cursor, limit)
				if err != nil {
					t.Fatal(err)
				}
				if len(ts) > limit {
					t.Fatalf("page of %d, limit %d", len(ts), limit)
				}
				for _, x := range ts {
					got = append(got, x.String())
				}
				if next == "" {
					break
				}
				cursor = next
			}
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("paging %s by %d = %v, want %v", f, limit, got, want)
			}
		}
	}
	if _, _, err := sn.Read(ctx, tuples.Filter{}, "not-a-cursor!", 1); err == nil {
		t.Error("a bad cursor was accepted")
	}
}

func testOlderSnapshots(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	r1 := setup(t, ctx, s, "doc:1#viewer@user:ana")
	r2 := write(t, ctx, s, tuples.OpTouch, "doc:1#viewer@user:bob")
	r3 := write(t, ctx, s, tuples.OpDelete, "doc:1#viewer@user:ana")
	want := map[tuples.Revision][]string{
		r1: {"doc:1#viewer@user:ana"},
		r2: {"doc:1#viewer@user:ana", "doc:1#viewer@user:bob"},
		r3: {"doc:1#viewer@user:bob"},
	}
	for rev, w := range want {
		sn := snap(t, ctx, s, rev)
		if got := all(t, ctx, sn, tuples.Filter{}); !slices.Equal(got, w) {
			t.Errorf("at revision %d: %v, want %v", rev, got, w)
		}
		if got := has(t, ctx, sn, "doc:1#viewer@user:ana"); got != (rev != r3) {
			t.Errorf("Has at %d = %v", rev, got)
		}
	}
	if _, err := s.Snapshot(ctx, r3+5); err == nil {
		t.Error("a snapshot in the future was granted")
	}
	// The schema is versioned too.
	before := snap(t, ctx, s, r3)
	if _, err := s.WriteSchema(ctx, "v2.rebac", []byte(testSchema+"\ntype folder\n")); err != nil {
		t.Fatal(err)
	}
	if before.Schema().Type("folder") != nil || snap(t, ctx, s, 0).Schema().Type("folder") == nil {
		t.Error("schema not versioned by revision")
	}
	if snap(t, ctx, s, r3).Schema().Type("folder") != nil {
		t.Error("older snapshot sees the newer schema")
	}
}

func testRevisionGone(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	setup(t, ctx, s, "doc:1#viewer@user:ana")
	for i := range 5 {
		write(t, ctx, s, tuples.OpTouch, fmt.Sprintf("doc:%d#viewer@user:bob", i))
	}
	latest := snap(t, ctx, s, 0).Revision()
	_, err := s.Snapshot(ctx, 1)
	if !errors.Is(err, tuples.ErrRevisionGone) || !strings.Contains(err.Error(), fmt.Sprintf("revision 1 no longer held; oldest is %d", latest-2)) {
		t.Fatalf("old snapshot = %v, want tuples.ErrRevisionGone", err)
	}
	sn := snap(t, ctx, s, latest-2)
	if got := len(all(t, ctx, sn, tuples.Filter{})); got != 4 {
		t.Fatalf("oldest held revision has %d tuples, want 4", got)
	}
}

// testSnapshotPinned holds a snapshot open while its revision leaves the
// window and the backend compacts: it must answer as of its revision to
// the end, and fail with tuples.ErrSnapshotClosed once closed.
func testSnapshotPinned(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	compact := func() {
		if be.Compact != nil {
			be.Compact(t, s)
		}
	}
	r2 := setup(t, ctx, s, "doc:1#viewer@user:ana")
	if r2 != 2 {
		t.Fatalf("setup wrote revision %d, want 2", r2)
	}
	sn, err := s.Snapshot(ctx, r2)
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	write(t, ctx, s, tuples.OpDelete, "doc:1#viewer@user:ana")
	for i := range 20 {
		write(t, ctx, s, tuples.OpTouch, fmt.Sprintf("doc:%d#viewer@user:bob", i))
	}
	if _, err := s.Snapshot(ctx, r2); !errors.Is(err, tuples.ErrRevisionGone) {
		t.Fatalf("a new snapshot at revision %d, outside the window of 2: %v, want tuples.ErrRevisionGone", r2, err)
	}
	compact()
	if !has(t, ctx, sn, "doc:1#viewer@user:ana") {
		t.Error("the pinned snapshot lost a tuple of its revision after compaction")
	}
	if got := all(t, ctx, sn, tuples.Filter{}); !slices.Equal(got, []string{"doc:1#viewer@user:ana"}) {
		t.Errorf("the pinned snapshot reads %v after compaction", got)
	}
	if err := sn.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sn.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	tp := mustParse(t, "doc:1#viewer@user:ana")
	if _, err := sn.Has(ctx, tp.Object(), tp.Relation, tp.Subject()); !errors.Is(err, tuples.ErrSnapshotClosed) {
		t.Errorf("Has after Close = %v, want tuples.ErrSnapshotClosed", err)
	}
	if _, _, err := sn.Read(ctx, tuples.Filter{}, "", 0); !errors.Is(err, tuples.ErrSnapshotClosed) {
		t.Errorf("Read after Close = %v, want tuples.ErrSnapshotClosed", err)
	}
	for _, err := range sn.Subjects(ctx, tp.Object(), tp.Relation, tuples.SubjectFilter{}) {
		if !errors.Is(err, tuples.ErrSnapshotClosed) {
			t.Errorf("Subjects after Close = %v, want tuples.ErrSnapshotClosed", err)
		}
	}
}

func testEdgeIDs(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	long := strings.Repeat("é", tuples.MaxIDLen/2) // 1024 bytes
	ids := []string{long, "ana@example.org", "名前", "urn:isbn:0451450523", "a:b@c", "~!$%^&*()", "x"}
	setup(t, ctx, s)
	var lines []string
	for _, id := range ids {
		lines = append(lines, "doc:"+id+"#viewer@user:"+id, "doc:"+id+"#viewer@team:"+id+"#member")
	}
	write(t, ctx, s, tuples.OpCreate, lines...)
	sn := snap(t, ctx, s, 0)
	for _, id := range ids {
		if !has(t, ctx, sn, "doc:"+id+"#viewer@user:"+id) || !has(t, ctx, sn, "doc:"+id+"#viewer@team:"+id+"#member") {
			t.Errorf("id %.20q not found", id)
		}
		var got []string
		for o, err := range sn.Reverse(ctx, tuples.Subject{Type: "user", ID: id}, "doc", "viewer") {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, o.ID)
		}
		if !slices.Equal(got, []string{id}) {
			t.Errorf("Reverse(user:%.20q) = %q", id, got)
		}
		n := 0
		for sub, err := range sn.Subjects(ctx, tuples.Object{Type: "doc", ID: id}, "viewer", tuples.SubjectFilter{}) {
			if err != nil {
				t.Fatal(err)
			}
			if sub.ID != id {
				t.Errorf("subject %q of doc:%.20q", sub, id)
			}
			n++
		}
		if n != 2 {
			t.Errorf("doc:%.20q has %d subjects, want 2", id, n)
		}
	}
	// A prefix of an id is another id.
	if has(t, ctx, sn, "doc:a:b#viewer@user:a:b@c") {
		t.Error("prefix id matched")
	}
	tooLong := tuples.Tuple{ObjectType: "doc", ObjectID: long + "x", Relation: "viewer", SubjectType: "user", SubjectID: "ana"}
	if _, err := s.Write(ctx, tuples.Batch{Ops: []tuples.Op{{Kind: tuples.OpTouch, Tuple: tooLong}}}); err == nil {
		t.Error("an id of 1025 bytes was written")
	}
	var buf bytes.Buffer
	if _, err := s.Export(ctx, &buf, 0, tuples.FormatText); err != nil {
		t.Fatal(err)
	}
	other := fresh(t, be)
	setup(t, ctx, other)
	if _, err := other.Import(ctx, &buf, store.ImportOptions{Format: tuples.FormatText, Name: "edge.tuples"}); err != nil {
		t.Fatal(err)
	}
	if got, want := all(t, ctx, snap(t, ctx, other, 0), tuples.Filter{}), all(t, ctx, sn, tuples.Filter{}); !slices.Equal(got, want) {
		t.Error("edge ids do not round-trip through export and import")
	}
}

func testDeleteMatching(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	setup(t, ctx, s, fixture...)
	before := snap(t, ctx, s, 0)
	rev, n, err := s.DeleteMatching(ctx, tuples.Filter{SubjectType: "user", SubjectID: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 || rev != before.Revision()+1 {
		t.Fatalf("deleted %d at %d, want 4 at %d", n, rev, before.Revision()+1)
	}
	sn := snap(t, ctx, s, 0)
	if got := all(t, ctx, sn, tuples.Filter{SubjectID: "ana"}); len(got) != 0 {
		t.Fatalf("left %v", got)
	}
	if got := len(all(t, ctx, sn, tuples.Filter{})); got != len(fixture)-4 {
		t.Fatalf("%d tuples left, want %d", got, len(fixture)-4)
	}
	if got := len(all(t, ctx, before, tuples.Filter{SubjectID: "ana"})); got != 4 {
		t.Fatalf("older snapshot lost deleted tuples: %d", got)
	}
}

func testSchemaWrite(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	if _, err := s.WriteSchema(ctx, "bad.rebac", []byte("type doc {\n  relation viewer: usr\n}\n")); err == nil || !strings.Contains(err.Error(), "bad.rebac:2:") {
		t.Fatalf("bad schema = %v, want a positioned error", err)
	}
	setup(t, ctx, s, fixture...)
	rev := snap(t, ctx, s, 0).Revision()
	removed := strings.Replace(testSchema, "  relation owner: user\n", "", 1)
	removed = strings.Replace(removed, "owner | viewer", "viewer", 1)
	_, err := s.WriteSchema(ctx, "v2.rebac", []byte(removed))
	if err == nil || !strings.Contains(err.Error(), "relation doc#owner would be removed, but 1 tuples use it") {
		t.Fatalf("removing a used relation = %v", err)
	}
	narrowed := strings.Replace(testSchema, "user | user:* | team#member", "user | team#member", 1)
	_, err = s.WriteSchema(ctx, "v3.rebac", []byte(narrowed))
	if err == nil || !strings.Contains(err.Error(), "relation doc#viewer would no longer allow user:*, but 1 tuples use it") {
		t.Fatalf("narrowing a used relation = %v", err)
	}
	plain := strings.Replace(testSchema, "user | user:* | team#member", "user:* | team#member", 1)
	_, err = s.WriteSchema(ctx, "v4.rebac", []byte(plain))
	if err == nil || !strings.Contains(err.Error(), "no longer allow user, but 4 tuples") {
		t.Fatalf("dropping plain users = %v", err)
	}
	if snap(t, ctx, s, 0).Revision() != rev {
		t.Fatal("a refused schema wrote a revision")
	}
	if _, _, err := s.DeleteMatching(ctx, tuples.Filter{}); err == nil {
		t.Fatal("an empty filter deleted everything")
	}
	// Unused forms may go; new ones may come.
	ok := strings.Replace(testSchema, "relation owner: user", "relation owner: user | team#member", 1)
	ok = strings.Replace(ok, "relation parent: doc", "relation parent: doc\n  relation editor: user", 1)
	if _, err := s.WriteSchema(ctx, "v5.rebac", []byte(ok)); err != nil {
		t.Fatal(err)
	}
	write(t, ctx, s, tuples.OpTouch, "doc:1#editor@user:ana")
	if _, _, err := s.DeleteMatching(ctx, tuples.Filter{ObjectType: "doc", Relation: "owner"}); err != nil {
		t.Fatal(err)
	}
	removed = strings.Replace(ok, "  relation owner: user | team#member\n", "", 1)
	removed = strings.Replace(removed, "owner | viewer", "viewer", 1)
	if _, err := s.WriteSchema(ctx, "v6.rebac", []byte(removed)); err != nil {
		t.Fatalf("removing an unused relation: %v", err)
	}
}

func fixtureInput(n int) string {
	var b strings.Builder
	b.WriteString("// generated\n\n")
	for i := range n {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "doc:%d#viewer@user:u%d\n", i, i%97)
		case 1:
			fmt.Fprintf(&b, "doc:%d#viewer@team:t%d#member\n", i, i%13)
		case 2:
			fmt.Fprintf(&b, "team:t%d#member@user:user%d@example.org\n", i%13, i)
		case 3:
			fmt.Fprintf(&b, "  doc:%d#parent@doc:%d  // indented, with a trailing comment\n", i, i/2)
		}
	}
	return b.String()
}

func testRoundTrip(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	setup(t, ctx, s)
	input := fixtureInput(10000)
	var calls, last int
	res, err := s.Import(ctx, strings.NewReader(input), store.ImportOptions{Format: tuples.FormatText, Name: "big.tuples", Progress: func(done, total int) {
		calls++
		if done < last || total != 10000 {
			t.Errorf("progress %d of %d after %d", done, total, last)
		}
		last = done
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Tuples != 10000 || calls == 0 || last != 10000 {
		t.Fatalf("imported %d, progress calls %d ending at %d", res.Tuples, calls, last)
	}
	if snap(t, ctx, s, 0).Revision() != res.Revision {
		t.Fatal("import revision is not the latest")
	}
	for _, format := range []tuples.Format{tuples.FormatText, tuples.FormatJSONL} {
		var out bytes.Buffer
		n, err := s.Export(ctx, &out, 0, format)
		if err != nil || n != 10000 {
			t.Fatalf("export: %d, %v", n, err)
		}
		other := fresh(t, be)
		setup(t, ctx, other)
		if _, err := other.Import(ctx, bytes.NewReader(out.Bytes()), store.ImportOptions{Format: format, Name: "export"}); err != nil {
			t.Fatal(err)
		}
		var again bytes.Buffer
		if _, err := other.Export(ctx, &again, 0, format); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), again.Bytes()) {
			t.Fatalf("format %d does not round-trip", format)
		}
		if format == tuples.FormatText {
			var want []string
			for _, line := range strings.Split(input, "\n") {
				if f := strings.Fields(line); len(f) > 0 && f[0] != "//" {
					want = append(want, f[0])
				}
			}
			got := strings.Fields(out.String())
			sort.Strings(want)
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Fatal("export differs from the imported input")
			}
		}
	}
	// Importing again is harmless.
	if _, err := s.Import(ctx, strings.NewReader(input), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := len(all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{})); got != 10000 {
		t.Fatalf("after re-import %d tuples", got)
	}
}

func testImportErrors(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	rev := setup(t, ctx, s)
	var b strings.Builder
	for i := range 30 {
		fmt.Fprintf(&b, "doc:%d#viewer@user:ok\n", i)
		if i < 25 {
			fmt.Fprintf(&b, "doc:%d#viwer@user:bad\n", i)
		}
	}
	text := b.String()
	// Syntax and schema errors are listed together, in line order.
	_, err := s.Import(ctx, strings.NewReader("doc:x#viewer@user:a b\n"+text), store.ImportOptions{Name: "in.tuples"})
	var ie *store.InputError
	if !errors.As(err, &ie) || len(ie.Errors) != 20 || ie.More != 6 {
		t.Fatalf("import error = %v, want 20 listed and 6 more", err)
	}
	if ie.Errors[0] != `in.tuples:1:20: unexpected character U+0020 in id; ids may not contain whitespace` ||
		!strings.HasPrefix(ie.Errors[1], "in.tuples:3: doc:0#viwer@user:bad: ") {
		t.Fatalf("errors = %q", ie.Errors[:2])
	}
	_, err = s.Import(ctx, strings.NewReader(text), store.ImportOptions{Name: "in.tuples"})
	if !errors.As(err, &ie) || len(ie.Errors) != 20 || ie.More != 5 || !strings.HasSuffix(err.Error(), "\nand 5 more") {
		t.Fatalf("import errors = %v", err)
	}
	if !strings.HasPrefix(ie.Errors[0], `in.tuples:2: doc:0#viwer@user:bad: type doc has no relation "viwer"; did you mean "viewer"?`) {
		t.Fatalf("first error = %q", ie.Errors[0])
	}
	jsonl := `{"object":"doc:1","relation":"viewer","subject":"user:ana"}
{"object":"doc:1","relation":"viewer"}
{"object":"doc:1","relation":"viewer","subject":"user:ana","extra":1}
not json
`
	_, err = s.Import(ctx, strings.NewReader(jsonl), store.ImportOptions{Format: tuples.FormatJSONL, Name: "in.jsonl"})
	if !errors.As(err, &ie) || len(ie.Errors) != 3 || !strings.HasPrefix(ie.Errors[0], "in.jsonl:2:38: missing \"subject\"") || !strings.HasPrefix(ie.Errors[2], "in.jsonl:4:2: not valid JSON") {
		t.Fatalf("jsonl errors = %v", err)
	}
	sn := snap(t, ctx, s, 0)
	if sn.Revision() != rev || len(all(t, ctx, sn, tuples.Filter{})) != 0 {
		t.Fatal("a failed import wrote something")
	}
}

// Two objects on a line once imported as one tuple with no error: the
// second was dropped. The whole import is refused at that line.
func testImportJSONLinesTwoObjects(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	rev := setup(t, ctx, s)
	in := `{"object":"doc:1","relation":"viewer","subject":"user:ana"}` + "\n" +
		`{"object":"doc:2","relation":"viewer","subject":"user:ana"}{"object":"doc:3","relation":"viewer","subject":"user:bob"}` + "\n"
	_, err := s.Import(ctx, strings.NewReader(in), store.ImportOptions{Format: tuples.FormatJSONL, Name: "in.jsonl"})
	var ie *store.InputError
	if !errors.As(err, &ie) || len(ie.Errors) != 1 || !strings.HasPrefix(ie.Errors[0], "in.jsonl:2:60: more after the tuple object") {
		t.Fatalf("import error = %v", err)
	}
	sn := snap(t, ctx, s, 0)
	if sn.Revision() != rev || len(all(t, ctx, sn, tuples.Filter{})) != 0 {
		t.Fatal("a refused import wrote something")
	}
}

// A tuple given twice is stored and counted once, and the repeat is
// reported as such.
func testImportDuplicates(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	setup(t, ctx, s)
	in := "doc:1#viewer@user:ana\ndoc:2#viewer@user:bob\ndoc:1#viewer@user:ana\n"
	dry, err := s.Import(ctx, strings.NewReader(in), store.ImportOptions{Name: "dup.tuples", DryRun: true})
	if err != nil || dry.Tuples != 2 || dry.Duplicates != 1 {
		t.Fatalf("dry run: %+v %v, want 2 tuples and 1 repeat", dry, err)
	}
	res, err := s.Import(ctx, strings.NewReader(in), store.ImportOptions{Name: "dup.tuples"})
	if err != nil || res.Tuples != 2 || res.Duplicates != 1 {
		t.Fatalf("import: %+v %v, want 2 tuples and 1 repeat", res, err)
	}
	if got := all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{}); len(got) != 2 {
		t.Fatalf("stored %v, want the two tuples", got)
	}
}

func testChanges(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	r1 := setup(t, ctx, s, "doc:1#viewer@user:ana", "doc:1#viewer@user:bob")
	r2 := write(t, ctx, s, tuples.OpDelete, "doc:1#viewer@user:ana", "doc:1#viewer@user:absent")
	r3, _, err := s.DeleteMatching(ctx, tuples.Filter{ObjectType: "doc"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf("%d write doc:1#viewer@user:ana", r1),
		fmt.Sprintf("%d write doc:1#viewer@user:bob", r1),
		fmt.Sprintf("%d delete doc:1#viewer@user:ana", r2),
		fmt.Sprintf("%d delete doc:1#viewer@user:bob", r3),
	}
	format := func(cs []tuples.Change) []string {
		var out []string
		for _, c := range cs {
			kind := "write"
			if c.Kind == tuples.ChangeDelete {
				kind = "delete"
			}
			out = append(out, fmt.Sprintf("%d %s %s", c.Revision, kind, c.Tuple))
		}
		return out
	}
	cs, err := s.Changes(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := format(cs); !slices.Equal(got, want) {
		t.Fatalf("changes = %q, want %q", got, want)
	}
	// Whole revisions: a limit never splits one.
	cs, err = s.Changes(ctx, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := format(cs); !slices.Equal(got, want[:2]) {
		t.Fatalf("changes with limit 1 = %q, want revision %d whole", got, r1)
	}
	cs, err = s.Changes(ctx, r1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := format(cs); !slices.Equal(got, want[2:3]) {
		t.Fatalf("changes after %d = %q", r1, got)
	}
}

func testTrimChanges(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	r1 := setup(t, ctx, s, "doc:1#viewer@user:ana", "doc:1#viewer@user:bob")
	r2 := write(t, ctx, s, tuples.OpTouch, "doc:2#viewer@user:cy")
	r3 := write(t, ctx, s, tuples.OpDelete, "doc:1#viewer@user:ana")

	if _, err := s.TrimChanges(ctx, r3+5); !errors.Is(err, tuples.ErrFutureRevision) {
		t.Fatalf("trim past the latest: %v, want tuples.ErrFutureRevision", err)
	}
	n, err := s.TrimChanges(ctx, r2+1) // drops revisions r1 and r2
	if err != nil || n != 3 {
		t.Fatalf("trim before %d = %d, %v; want 3 changes dropped", r2+1, n, err)
	}
	// Asking for what is gone is an error, never a silent gap.
	for _, after := range []tuples.Revision{0, r1, r2 - 1} {
		if _, err := s.Changes(ctx, after, 0); !errors.Is(err, tuples.ErrChangesTrimmed) {
			t.Errorf("changes after %d: %v, want tuples.ErrChangesTrimmed", after, err)
		}
	}
	cs, err := s.Changes(ctx, r2, 0)
	if err != nil || len(cs) != 1 || cs[0].Revision != r3 || cs[0].Kind != tuples.ChangeDelete {
		t.Fatalf("changes after %d = %v, %v; want the delete at %d alone", r2, cs, err, r3)
	}
	// The trim is a revision of its own with no tuple changes, and
	// tuples and older snapshots are as they were.
	latest := snap(t, ctx, s, 0)
	if latest.Revision() != r3+1 {
		t.Errorf("revision after trim = %d, want %d", latest.Revision(), r3+1)
	}
	if ok, err := latest.Has(ctx, tuples.Object{Type: "doc", ID: "2"}, "viewer", tuples.Subject{Type: "user", ID: "cy"}); err != nil || !ok {
		t.Errorf("a trim changed the tuples: %v %v", ok, err)
	}
	if ok, _ := snap(t, ctx, s, r2).Has(ctx, tuples.Object{Type: "doc", ID: "1"}, "viewer", tuples.Subject{Type: "user", ID: "ana"}); !ok {
		t.Error("a trim changed an older snapshot")
	}
	// Trimming again below the start is a no-op; further up drops more.
	if n, err := s.TrimChanges(ctx, r1); err != nil || n != 0 {
		t.Errorf("trim below the start = %d, %v; want 0", n, err)
	}
	if latest := snap(t, ctx, s, 0); latest.Revision() != r3+1 {
		t.Errorf("a no-op trim made revision %d", latest.Revision())
	}
	if n, err := s.TrimChanges(ctx, r3+1); err != nil || n != 1 {
		t.Errorf("second trim = %d, %v; want 1", n, err)
	}
	if cs, err := s.Changes(ctx, r3, 0); err != nil || len(cs) != 0 {
		t.Errorf("changes after a full trim = %v, %v; want none", cs, err)
	}
	// New writes are logged as before.
	r := write(t, ctx, s, tuples.OpTouch, "doc:3#viewer@user:dee")
	if cs, err := s.Changes(ctx, r3, 0); err != nil || len(cs) != 1 || cs[0].Revision != r {
		t.Errorf("changes after a trim and a write = %v, %v", cs, err)
	}
}

// state is what a failed import must leave as it was: the revision, the
// tuples and the change log.
type state struct {
	rev     tuples.Revision
	tuples  []string
	changes []tuples.Change
}

func stateOf(t *testing.T, ctx context.Context, s store.Store) state {
	t.Helper()
	sn := snap(t, ctx, s, 0)
	cs, err := s.Changes(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return state{rev: sn.Revision(), tuples: all(t, ctx, sn, tuples.Filter{}), changes: cs}
}

func (a state) equal(b state) bool {
	return a.rev == b.rev && slices.Equal(a.tuples, b.tuples) && slices.Equal(a.changes, b.changes)
}

// noLeftovers runs the backend's check that an import left nothing
// behind.
func noLeftovers(t *testing.T, b Backend, s store.Store, untouched bool) {
	t.Helper()
	if b.Leftovers != nil {
		b.Leftovers(t, s, untouched)
	}
}

func testStreamedImport(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	setup(t, ctx, s, "doc:0#viewer@user:u0", "doc:1#owner@user:keep")
	// Repeats within the input, across chunks, and of stored tuples.
	input := fixtureInput(2000) + fixtureInput(300) + "doc:0#viewer@user:u0\n"
	res, err := s.Import(ctx, strings.NewReader(input), store.ImportOptions{Name: "streamed.tuples"})
	if err != nil {
		t.Fatal(err)
	}
	// The second fixture and the last line repeat earlier lines.
	if res.Tuples != 2000 || res.Duplicates != 301 {
		t.Fatalf("imported %d tuples and %d repeats, want 2000 and 301", res.Tuples, res.Duplicates)
	}
	noLeftovers(t, be, s, true)

	// The same input imported whole into a fresh store is the reference.
	ref := be.Open(t, Options{KeepRevisions: 10})
	defer ref.Close()
	setup(t, ctx, ref, "doc:0#viewer@user:u0", "doc:1#owner@user:keep")
	want, err := ref.Import(ctx, strings.NewReader(input), store.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Revision != want.Revision {
		t.Fatalf("streamed import at revision %d, want %d", res.Revision, want.Revision)
	}
	got, exp := stateOf(t, ctx, s), stateOf(t, ctx, ref)
	if !slices.Equal(got.tuples, exp.tuples) {
		t.Fatalf("streamed import holds %d tuples, want %d", len(got.tuples), len(exp.tuples))
	}
	if !slices.Equal(got.changes, exp.changes) {
		t.Fatalf("streamed import logged %d changes, want %d in input order", len(got.changes), len(exp.changes))
	}
	before := snap(t, ctx, s, res.Revision-1)
	if n := len(all(t, ctx, before, tuples.Filter{})); n != 2 {
		t.Fatalf("the revision before the import sees %d tuples, want 2", n)
	}
	for _, x := range []string{"doc:1999#parent@doc:999", "team:t9#member@user:user1998@example.org"} {
		if !has(t, ctx, snap(t, ctx, s, 0), x) {
			t.Errorf("%s missing", x)
		}
	}
	// Importing again is harmless.
	if _, err := s.Import(ctx, strings.NewReader(input), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if again := stateOf(t, ctx, s); !slices.Equal(again.tuples, got.tuples) {
		t.Fatalf("a repeated streamed import changed the tuples")
	}
	// JSON lines stream the same way.
	var jsonl bytes.Buffer
	if _, err := s.Export(ctx, &jsonl, 0, tuples.FormatJSONL); err != nil {
		t.Fatal(err)
	}
	other := sameBackend(t, be)
	setup(t, ctx, other)
	if _, err := other.Import(ctx, &jsonl, store.ImportOptions{Format: tuples.FormatJSONL}); err != nil {
		t.Fatal(err)
	}
	if again := stateOf(t, ctx, other); !slices.Equal(again.tuples, got.tuples) {
		t.Fatalf("a streamed JSON-lines import holds %d tuples, want %d", len(again.tuples), len(got.tuples))
	}
}

// fresh opens a new, empty store of the backend under test.
func fresh(t *testing.T, b Backend) store.Store {
	t.Helper()
	s := b.Open(t, Options{KeepRevisions: 10})
	t.Cleanup(func() { s.Close() })
	return s
}

// sameBackend opens a new, empty store of the backend under test, with
// small imports.
func sameBackend(t *testing.T, b Backend) store.Store {
	t.Helper()
	other := b.Open(t, Options{KeepRevisions: 10, SmallImports: true})
	t.Cleanup(func() { other.Close() })
	return other
}

func testStreamedImportBadLastChunk(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	setup(t, ctx, s, fixture...)
	before := stateOf(t, ctx, s)
	good := fixtureInput(1500)
	lines := strings.Count(good, "\n")
	cases := []struct {
		name, input string
		want        []string
		more        int
	}{
		{"last line", good + "doc:x#viewer@user:a b\n", []string{
			fmt.Sprintf("in.tuples:%d:20: unexpected character U+0020 in id", lines+1)}, 0},
		{"schema, last chunk", good + "doc:y#viwer@user:ana\ndoc:z#viewer@user:ok\n", []string{
			fmt.Sprintf("in.tuples:%d: doc:y#viwer@user:ana: type doc has no relation", lines+1)}, 0},
		{"first line and last", "doc:1#viewer@user:\n" + good + "doc:2#nope@user:ana\n", []string{
			"in.tuples:1:19: empty id", fmt.Sprintf("in.tuples:%d: doc:2#nope@user:ana", lines+2)}, 0},
		{"spread over chunks", func() string {
			var b strings.Builder
			for i := range 1200 {
				fmt.Fprintf(&b, "doc:%d#viewer@user:u%d\n", i, i)
				if i%50 == 49 {
					fmt.Fprintf(&b, "doc:%d#viewer@nobody:u%d\n", i, i)
				}
			}
			return b.String()
		}(), []string{"in.tuples:51: doc:49#viewer@nobody:u49: unknown subject type"}, 4},
	}
	for _, c := range cases {
		_, err := s.Import(ctx, strings.NewReader(c.input), store.ImportOptions{Name: "in.tuples"})
		var ie *store.InputError
		if !errors.As(err, &ie) {
			t.Fatalf("%s: import = %v, want an InputError", c.name, err)
		}
		wantListed := len(c.want)
		if c.more > 0 {
			wantListed = store.MaxListed
		}
		if len(ie.Errors) != wantListed || ie.More != c.more {
			t.Errorf("%s: %d errors listed and %d more, want %d and %d: %v", c.name, len(ie.Errors), ie.More, wantListed, c.more, err)
		}
		for i, w := range c.want {
			if i >= len(ie.Errors) || !strings.HasPrefix(ie.Errors[i], w) {
				t.Errorf("%s: error %d = %q, want %q...", c.name, i, ie.Errors, w)
				break
			}
		}
		if after := stateOf(t, ctx, s); !after.equal(before) {
			t.Fatalf("%s: a failed import changed the store: revision %d -> %d, %d -> %d tuples, %d -> %d changes",
				c.name, before.rev, after.rev, len(before.tuples), len(after.tuples), len(before.changes), len(after.changes))
		}
		noLeftovers(t, be, s, true)
	}
	// The next write takes the revision the failed imports would have
	// had; nothing of them may show through it.
	rev := write(t, ctx, s, tuples.OpTouch, "doc:9#owner@user:after")
	if rev != before.rev+1 {
		t.Fatalf("write after failed imports at %d, want %d", rev, before.rev+1)
	}
	after := stateOf(t, ctx, s)
	if len(after.tuples) != len(before.tuples)+1 || len(after.changes) != len(before.changes)+1 {
		t.Fatalf("after a write: %d tuples and %d changes, want %d and %d",
			len(after.tuples), len(after.changes), len(before.tuples)+1, len(before.changes)+1)
	}
}

func testFutureRevision(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	rev := setup(t, ctx, s, "doc:1#viewer@user:ana")
	_, err := s.Snapshot(ctx, rev+1)
	if !errors.Is(err, tuples.ErrFutureRevision) || errors.Is(err, tuples.ErrRevisionGone) {
		t.Fatalf("snapshot above the latest = %v, want tuples.ErrFutureRevision", err)
	}
	if want := fmt.Sprintf("revision %d is not written yet; the latest is %d", rev+1, rev); !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
	if _, err := s.Snapshot(ctx, rev); err != nil {
		t.Fatalf("snapshot at the latest: %v", err)
	}
	// Once written, the revision is there.
	write(t, ctx, s, tuples.OpTouch, "doc:2#viewer@user:ana")
	if _, err := s.Snapshot(ctx, rev+1); err != nil {
		t.Fatalf("snapshot at the new latest: %v", err)
	}
}

// testScanDecoding checks Subjects and Reverse against Read over enough
// subjects of every form, and ids long enough, that the decoding spans
// many arena blocks; what a caller keeps must stay intact.
func testScanDecoding(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	setup(t, ctx, s)
	ids := []string{"ana", "a:b@c", "*", strings.Repeat("é", tuples.MaxIDLen/2-2), "名前", "x"}
	var ts []string
	for i := range 300 {
		id := fmt.Sprintf("%s%d", ids[i%len(ids)], i)
		if i%len(ids) == 2 {
			id = "*"
		}
		ts = append(ts, "doc:big#viewer@user:"+id)
		if id != "*" {
			ts = append(ts, "doc:big#viewer@team:"+id+"#member", "team:"+id+"#member@user:ana", "doc:"+id+"#viewer@user:ana")
		}
	}
	// tuples.Subject sets of a relation only between two plain runs.
	ts = append(ts, "team:t#member@team:x#member", "team:t#member@user:a", "team:t#member@user:z")
	write(t, ctx, s, tuples.OpTouch, ts...)
	sn := snap(t, ctx, s, 0)
	for _, obj := range []tuples.Object{{Type: "doc", ID: "big"}, {Type: "team", ID: "t"}, {Type: "doc", ID: "ana0"}, {Type: "doc", ID: "none"}} {
		rel := "viewer"
		if obj.Type == "team" {
			rel = "member"
		}
		// Read serves this filter from the forward index, in key order:
		// the order Subjects must keep.
		stored, _, err := sn.Read(ctx, tuples.Filter{ObjectType: obj.Type, ObjectID: obj.ID, Relation: rel}, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range decodeFilters {
			var want []string
			for _, tp := range stored {
				if f.Matches(tp.Subject()) {
					want = append(want, tp.Subject().String())
				}
			}
			var kept []tuples.Subject
			for sub, err := range sn.Subjects(ctx, obj, rel, f) {
				if err != nil {
					t.Fatal(err)
				}
				kept = append(kept, sub)
			}
			got := make([]string, len(kept))
			for i, sub := range kept {
				got[i] = sub.String()
			}
			if !slices.Equal(got, want) {
				t.Errorf("Subjects(%s#%s, %+v) = %d subjects, want %d in key order", obj, rel, f, len(got), len(want))
			}
		}
	}
	var kept []tuples.Object
	for o, err := range sn.Reverse(ctx, tuples.Subject{Type: "user", ID: "ana"}, "team", "member") {
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, o)
	}
	var want []string
	for _, x := range all(t, ctx, sn, tuples.Filter{ObjectType: "team", Relation: "member", SubjectType: "user", SubjectID: "ana"}) {
		want = append(want, mustParse(t, x).Object().String())
	}
	got := make([]string, len(kept))
	for i, o := range kept {
		got[i] = o.String()
	}
	sort.Strings(got)
	sort.Strings(want)
	if len(want) < 200 || !slices.Equal(got, want) {
		t.Errorf("Reverse(user:ana, team#member) = %d objects, want %d", len(got), len(want))
	}
	// A plain subject's key is a prefix of its subject sets' keys.
	if has(t, ctx, sn, "doc:big#viewer@team:ana0") || !has(t, ctx, sn, "doc:big#viewer@team:ana0#member") {
		t.Error("Has confuses a subject set with its plain subject")
	}
}

// testConcurrentReaders reads snapshots while a writer commits: every
// snapshot must show exactly the writes up to its revision, however many
// commits land while it is read.
func testConcurrentReaders(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	{
		{
			base := setup(t, ctx, s) // revision of the schema write
			const writes = 150
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			done := make(chan struct{})
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(done)
				for i := 1; i <= writes; i++ {
					// Each revision adds one tuple and moves a marker
					// tuple, so a half-visible write would show.
					ops := []tuples.Op{
						{Kind: tuples.OpTouch, Tuple: tuples.Tuple{ObjectType: "doc", ObjectID: fmt.Sprint(i), Relation: "viewer", SubjectType: "user", SubjectID: "ana"}},
						{Kind: tuples.OpTouch, Tuple: tuples.Tuple{ObjectType: "doc", ObjectID: "marker", Relation: "viewer", SubjectType: "user", SubjectID: fmt.Sprint(i)}},
					}
					if i > 1 {
						ops = append(ops, tuples.Op{Kind: tuples.OpDelete, Tuple: tuples.Tuple{ObjectType: "doc", ObjectID: "marker", Relation: "viewer", SubjectType: "user", SubjectID: fmt.Sprint(i - 1)}})
					}
					if _, err := s.Write(ctx, tuples.Batch{Ops: ops}); err != nil {
						errs <- err
						return
					}
				}
			}()
			for r := 0; r < 4; r++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-done:
							return
						default:
						}
						sn, err := s.Snapshot(ctx, 0)
						if err != nil {
							errs <- err
							return
						}
						n := int(sn.Revision() - base)
						for pass := 0; pass < 2; pass++ {
							count := 0
							for _, err := range sn.Reverse(ctx, tuples.Subject{Type: "user", ID: "ana"}, "doc", "viewer") {
								if err != nil {
									errs <- err
									return
								}
								count++
							}
							markers := 0
							for sub, err := range sn.Subjects(ctx, tuples.Object{Type: "doc", ID: "marker"}, "viewer", tuples.SubjectFilter{}) {
								if err != nil || sub.ID != fmt.Sprint(n) {
									errs <- fmt.Errorf("revision %d: marker %v (%v)", sn.Revision(), sub, err)
									return
								}
								markers++
							}
							if count != n || (n > 0 && markers != 1) {
								errs <- fmt.Errorf("revision %d: %d tuples and %d markers, want %d and 1", sn.Revision(), count, markers, n)
								return
							}
						}
						sn.Close()
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		}
	}
}

// testSchema is the schema of every test.
const testSchema = `type user

type team {
  relation member: user | team#member
}

type doc {
  relation owner: user
  relation viewer: user | user:* | team#member
  relation parent: doc
  relation can_view = owner | viewer
}
`

func mustParse(t testing.TB, s string) tuples.Tuple {
	t.Helper()
	tp, _, err := tuples.ParseWithPayload(s)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// decodeFilters are subject filters of every form.
var decodeFilters = []tuples.SubjectFilter{
	{},
	{Type: "user"},
	{Type: "team"},
	{Plain: true},
	{Plain: true, Type: "team"},
	{Sets: true},
	{Sets: true, Relation: "member"},
	{Sets: true, Relation: "owner"},
	{Sets: true, Type: "team", Relation: "member"},
	{Relation: "member"}, // Relation without Sets narrows nothing
	{Type: "user", Relation: "member"},
}

// testSetReads holds the set-at-a-time reads to the one-object reads.
func testSetReads(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	setup(t, ctx, s, fixture...)
	sn := snap(t, ctx, s, 0)
	docs := []tuples.Object{{Type: "doc", ID: "2"}, {Type: "doc", ID: "1"}, {Type: "doc", ID: "none"}}
	ana := tuples.Subject{Type: "user", ID: "ana"}
	for _, c := range []struct {
		objs  []tuples.Object
		subjs []tuples.Subject
	}{
		{docs, []tuples.Subject{ana}},
		{docs[2:], []tuples.Subject{ana}},
		{docs, []tuples.Subject{{Type: "user", ID: "nobody"}, {Type: "team", ID: "east", Relation: "member"}}},
		{nil, []tuples.Subject{ana}},
		{docs, nil},
	} {
		want, err := tuples.LoopHasAny(ctx, sn, c.objs, "viewer", c.subjs)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := sn.HasAny(ctx, c.objs, "viewer", c.subjs); err != nil || got != want {
			t.Errorf("HasAny(%v, viewer, %v) = %v, %v; want %v", c.objs, c.subjs, got, err, want)
		}
	}
	collect := func(seq func(func(tuples.Tuple, error) bool)) []string {
		var out []string
		for tp, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, tp.String())
		}
		return out
	}
	for _, f := range decodeFilters {
		got := collect(sn.SubjectsOf(ctx, docs, "viewer", f))
		want := collect(tuples.LoopSubjectsOf(ctx, sn, docs, "viewer", f))
		if !slices.Equal(got, want) {
			t.Errorf("SubjectsOf(%+v) = %v, want %v", f, got, want)
		}
	}
	subjs := []tuples.Subject{{Type: "team", ID: "east", Relation: "member"}, ana, {Type: "user", ID: "*"}}
	got := collect(sn.ObjectsOf(ctx, subjs, "doc", "viewer"))
	want := collect(tuples.LoopObjectsOf(ctx, sn, subjs, "doc", "viewer"))
	if !slices.Equal(got, want) || len(want) == 0 {
		t.Errorf("ObjectsOf = %v, want %v", got, want)
	}
	sn.Close()
	if _, err := sn.HasAny(ctx, docs, "viewer", []tuples.Subject{ana}); !errors.Is(err, tuples.ErrSnapshotClosed) {
		t.Errorf("HasAny after Close = %v, want ErrSnapshotClosed", err)
	}
}
