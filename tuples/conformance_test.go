package tuples

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
)

// backends lists the stores the conformance suite runs against; keep is
// the number of revisions each holds.
// compact makes the backend reclaim every old version it may.
var backends = []struct {
	name    string
	open    func(t testing.TB, keep int) Store
	compact func(t testing.TB, s Store)
}{
	{"memory", func(t testing.TB, keep int) Store {
		s, err := NewMemoryWith(MemoryOptions{KeepRevisions: keep})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(testing.TB, Store) { runtime.GC() }},
	{"badger", func(t testing.TB, keep int) Store {
		s, err := OpenBadger(t.TempDir(), BadgerOptions{KeepRevisions: keep, BlockCacheMB: 16})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, func(t testing.TB, s Store) {
		db := s.(*store).eng.(*badgerEngine).db
		// Flush the memtable into a table (DropPrefix flushes when
		// anything matches), then compact every level into the last.
		w := db.NewTransactionAt(math.MaxUint64-1, true)
		if err := w.Set(flushPrefix, nil); err != nil {
			t.Fatal(err)
		}
		if err := w.CommitAt(uint64(s.(*store).eng.(*badgerEngine).latest), nil); err != nil {
			t.Fatal(err)
		}
		if err := db.DropPrefix(flushPrefix); err != nil {
			t.Fatal(err)
		}
		if err := db.Flatten(1); err != nil {
			t.Fatal(err)
		}
	}},
}

// conformance is the suite every backend must pass.
var conformance = []struct {
	name string
	run  func(t *testing.T, ctx context.Context, s Store)
}{
	{"NoSchema", testNoSchema},
	{"WriteHas", testWriteHas},
	{"CreateExistsAtomic", testCreateExists},
	{"TouchDelete", testTouchDelete},
	{"InvalidBatchWritesNothing", testInvalidBatch},
	{"Preconditions", testPreconditions},
	{"Subjects", testSubjects},
	{"Reverse", testReverse},
	{"ReadFilters", testReadFilters},
	{"ReadPaging", testReadPaging},
	{"OlderSnapshots", testOlderSnapshots},
	{"EdgeIDs", testEdgeIDs},
	{"ScanDecoding", testScanDecoding},
	{"DeleteMatching", testDeleteMatching},
	{"SchemaWrite", testSchemaWrite},
	{"ImportExportRoundTrip", testRoundTrip},
	{"ImportErrors", testImportErrors},
	{"StreamedImport", testStreamedImport},
	{"StreamedImportBadLastChunk", testStreamedImportBadLastChunk},
	{"Changes", testChanges},
	{"TrimChanges", testTrimChanges},
	{"FutureRevision", testFutureRevision},
}

func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range conformance {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					s := b.open(t, 1000)
					defer s.Close()
					c.run(t, context.Background(), s)
				})
			}
			t.Run("RevisionGone", func(t *testing.T) {
				s := b.open(t, 3)
				defer s.Close()
				testRevisionGone(t, context.Background(), s)
			})
			t.Run("SnapshotPinned", func(t *testing.T) {
				s := b.open(t, 2)
				defer s.Close()
				testSnapshotPinned(t, context.Background(), s, func() { b.compact(t, s) })
			})
		})
	}
}

func setup(t *testing.T, ctx context.Context, s Store, tuples ...string) Revision {
	t.Helper()
	if _, err := s.WriteSchema(ctx, "test.rebac", []byte(testSchema)); err != nil {
		t.Fatal(err)
	}
	return write(t, ctx, s, OpTouch, tuples...)
}

func write(t *testing.T, ctx context.Context, s Store, kind OpKind, tuples ...string) Revision {
	t.Helper()
	var b Batch
	for _, x := range tuples {
		b.Ops = append(b.Ops, Op{Kind: kind, Tuple: mustParse(t, x)})
	}
	rev, err := s.Write(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func snap(t *testing.T, ctx context.Context, s Store, rev Revision) Snapshot {
	t.Helper()
	sn, err := s.Snapshot(ctx, rev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sn.Close() })
	return sn
}

func has(t *testing.T, ctx context.Context, sn Snapshot, tuple string) bool {
	t.Helper()
	tp := mustParse(t, tuple)
	ok, err := sn.Has(ctx, tp.Object(), tp.Relation, tp.Subject())
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// all reads every tuple matching f as sorted strings.
func all(t *testing.T, ctx context.Context, sn Snapshot, f Filter) []string {
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
		out[i] = x.String()
	}
	sort.Strings(out)
	return out
}

func testNoSchema(t *testing.T, ctx context.Context, s Store) {
	_, err := s.Write(ctx, Batch{Ops: []Op{{Kind: OpTouch, Tuple: mustParse(t, "doc:1#viewer@user:ana")}}})
	if !errors.Is(err, ErrNoSchema) {
		t.Fatalf("write before schema = %v, want ErrNoSchema", err)
	}
	if _, err := s.Import(ctx, strings.NewReader("doc:1#viewer@user:ana\n"), ImportOptions{}); !errors.Is(err, ErrNoSchema) {
		t.Fatalf("import before schema = %v, want ErrNoSchema", err)
	}
	sn := snap(t, ctx, s, 0)
	if sn.Schema() != nil || sn.Revision() != 0 {
		t.Fatalf("empty store snapshot: schema %v revision %d", sn.Schema(), sn.Revision())
	}
}

func testWriteHas(t *testing.T, ctx context.Context, s Store) {
	r1 := setup(t, ctx, s, "doc:1#viewer@user:ana")
	r2 := write(t, ctx, s, OpCreate, "doc:2#viewer@user:*")
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

func testCreateExists(t *testing.T, ctx context.Context, s Store) {
	rev := setup(t, ctx, s, "doc:1#viewer@user:ana")
	_, err := s.Write(ctx, Batch{Ops: []Op{
		{Kind: OpCreate, Tuple: mustParse(t, "doc:1#viewer@user:bob")},
		{Kind: OpCreate, Tuple: mustParse(t, "doc:1#viewer@user:ana")},
	}})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "doc:1#viewer@user:ana") {
		t.Fatalf("create of existing = %v, want ErrExists naming the tuple", err)
	}
	sn := snap(t, ctx, s, 0)
	if sn.Revision() != rev || has(t, ctx, sn, "doc:1#viewer@user:bob") {
		t.Fatal("a failed batch wrote something")
	}
	// Creating twice within one batch fails too.
	_, err = s.Write(ctx, Batch{Ops: []Op{
		{Kind: OpCreate, Tuple: mustParse(t, "doc:1#viewer@user:cy")},
		{Kind: OpCreate, Tuple: mustParse(t, "doc:1#viewer@user:cy")},
	}})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("double create = %v, want ErrExists", err)
	}
}

func testTouchDelete(t *testing.T, ctx context.Context, s Store) {
	setup(t, ctx, s, "doc:1#viewer@user:ana")
	write(t, ctx, s, OpTouch, "doc:1#viewer@user:ana", "doc:1#viewer@user:bob")
	write(t, ctx, s, OpDelete, "doc:1#viewer@user:ana", "doc:1#viewer@user:nobody")
	got := all(t, ctx, snap(t, ctx, s, 0), Filter{})
	if !slices.Equal(got, []string{"doc:1#viewer@user:bob"}) {
		t.Fatalf("after touch and delete: %v", got)
	}
	// Create then delete in one batch nets to nothing.
	_, err := s.Write(ctx, Batch{Ops: []Op{
		{Kind: OpCreate, Tuple: mustParse(t, "doc:2#owner@user:x")},
		{Kind: OpDelete, Tuple: mustParse(t, "doc:2#owner@user:x")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if has(t, ctx, snap(t, ctx, s, 0), "doc:2#owner@user:x") {
		t.Fatal("create+delete left the tuple")
	}
}

func testInvalidBatch(t *testing.T, ctx context.Context, s Store) {
	rev := setup(t, ctx, s)
	_, err := s.Write(ctx, Batch{Ops: []Op{
		{Kind: OpTouch, Tuple: mustParse(t, "doc:1#viewer@user:ana")},
		{Kind: OpTouch, Tuple: mustParse(t, "doc:1#can_view@user:ana")},
		{Kind: OpTouch, Tuple: mustParse(t, "doc:1#owner@user:*")},
	}})
	if err == nil || !strings.Contains(err.Error(), "operation 2: doc:1#can_view@user:ana") || !strings.Contains(err.Error(), "operation 3") {
		t.Fatalf("invalid batch error = %v, want both bad operations named", err)
	}
	sn := snap(t, ctx, s, 0)
	if sn.Revision() != rev || len(all(t, ctx, sn, Filter{})) != 0 {
		t.Fatal("an invalid batch wrote something")
	}
}

func testPreconditions(t *testing.T, ctx context.Context, s Store) {
	setup(t, ctx, s, "doc:1#owner@user:ana")
	op := []Op{{Kind: OpTouch, Tuple: mustParse(t, "doc:1#viewer@user:bob")}}
	cases := []struct {
		p  Precondition
		ok bool
	}{
		{Precondition{Filter: Filter{ObjectType: "doc", ObjectID: "1", Relation: "owner"}, MustMatch: true}, true},
		{Precondition{Filter: Filter{ObjectType: "doc", ObjectID: "2"}, MustMatch: true}, false},
		{Precondition{Filter: Filter{SubjectType: "user", SubjectID: "ana"}, MustMatch: false}, false},
		{Precondition{Filter: Filter{SubjectType: "user", SubjectID: "zed"}, MustMatch: false}, true},
	}
	for i, c := range cases {
		before := snap(t, ctx, s, 0).Revision()
		_, err := s.Write(ctx, Batch{Ops: op, Preconditions: []Precondition{c.p}})
		if c.ok && err != nil {
			t.Errorf("case %d: %v", i, err)
		}
		if !c.ok {
			if !errors.Is(err, ErrPrecondition) {
				t.Errorf("case %d: %v, want ErrPrecondition", i, err)
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

func testSubjects(t *testing.T, ctx context.Context, s Store) {
	setup(t, ctx, s, fixture...)
	sn := snap(t, ctx, s, 0)
	cases := []struct {
		f    SubjectFilter
		want []string
	}{
		{SubjectFilter{}, []string{"team:east#member", "user:*", "user:ana", "user:bob"}},
		{SubjectFilter{Type: "user"}, []string{"user:*", "user:ana", "user:bob"}},
		{SubjectFilter{Type: "team"}, []string{"team:east#member"}},
		{SubjectFilter{Sets: true}, []string{"team:east#member"}},
		{SubjectFilter{Sets: true, Relation: "owner"}, nil},
		{SubjectFilter{Sets: true, Relation: "member", Type: "team"}, []string{"team:east#member"}},
		{SubjectFilter{Plain: true}, []string{"user:*", "user:ana", "user:bob"}},
		{SubjectFilter{Plain: true, Type: "team"}, nil},
	}
	for _, c := range cases {
		var got []string
		for sub, err := range sn.Subjects(ctx, Object{"doc", "1"}, "viewer", c.f) {
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
	for range sn.Subjects(ctx, Object{"doc", "1"}, "viewer", SubjectFilter{}) {
		break
	}
}

func testReverse(t *testing.T, ctx context.Context, s Store) {
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
		sub, err := ParseSubject(c.subj)
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
		sort.Strings(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("Reverse(%s, %s#%s) = %v, want %v", c.subj, c.typ, c.rel, got, c.want)
		}
	}
}

func testReadFilters(t *testing.T, ctx context.Context, s Store) {
	setup(t, ctx, s, fixture...)
	sn := snap(t, ctx, s, 0)
	// Every combination of the six fields, checked against a plain
	// filter over the fixture.
	sample := mustParse(t, "doc:1#viewer@team:east#member")
	for mask := 0; mask < 64; mask++ {
		var f Filter
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
		f    Filter
		want int
	}{
		{Filter{SubjectType: "user", SubjectID: "ana"}, 4},
		{Filter{ObjectType: "doc", ObjectID: "1"}, 5},
		{Filter{ObjectType: "doc", SubjectID: "ana"}, 4},
		{Filter{Relation: "member"}, 3},
		{Filter{SubjectID: "*"}, 1},
		{Filter{ObjectID: "east"}, 2},
	}
	for _, c := range extra {
		if got := all(t, ctx, sn, c.f); len(got) != c.want {
			t.Errorf("Read(%s) = %v, want %d tuples", c.f, got, c.want)
		}
	}
}

func testReadPaging(t *testing.T, ctx context.Context, s Store) {
	setup(t, ctx, s, fixture...)
	sn := snap(t, ctx, s, 0)
	for _, f := range []Filter{{}, {ObjectType: "doc"}, {SubjectType: "user"}, {Relation: "viewer"}} {
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
	if _, _, err := sn.Read(ctx, Filter{}, "not-a-cursor!", 1); err == nil {
		t.Error("a bad cursor was accepted")
	}
}

func testOlderSnapshots(t *testing.T, ctx context.Context, s Store) {
	r1 := setup(t, ctx, s, "doc:1#viewer@user:ana")
	r2 := write(t, ctx, s, OpTouch, "doc:1#viewer@user:bob")
	r3 := write(t, ctx, s, OpDelete, "doc:1#viewer@user:ana")
	want := map[Revision][]string{
		r1: {"doc:1#viewer@user:ana"},
		r2: {"doc:1#viewer@user:ana", "doc:1#viewer@user:bob"},
		r3: {"doc:1#viewer@user:bob"},
	}
	for rev, w := range want {
		sn := snap(t, ctx, s, rev)
		if got := all(t, ctx, sn, Filter{}); !slices.Equal(got, w) {
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

func testRevisionGone(t *testing.T, ctx context.Context, s Store) {
	setup(t, ctx, s, "doc:1#viewer@user:ana")
	for i := range 5 {
		write(t, ctx, s, OpTouch, fmt.Sprintf("doc:%d#viewer@user:bob", i))
	}
	latest := snap(t, ctx, s, 0).Revision()
	_, err := s.Snapshot(ctx, 1)
	if !errors.Is(err, ErrRevisionGone) || !strings.Contains(err.Error(), fmt.Sprintf("revision 1 no longer held; oldest is %d", latest-2)) {
		t.Fatalf("old snapshot = %v, want ErrRevisionGone", err)
	}
	sn := snap(t, ctx, s, latest-2)
	if got := len(all(t, ctx, sn, Filter{})); got != 4 {
		t.Fatalf("oldest held revision has %d tuples, want 4", got)
	}
}

// testSnapshotPinned holds a snapshot open while its revision leaves the
// window and the backend compacts: it must answer as of its revision to
// the end, and fail with ErrSnapshotClosed once closed.
func testSnapshotPinned(t *testing.T, ctx context.Context, s Store, compact func()) {
	r2 := setup(t, ctx, s, "doc:1#viewer@user:ana")
	if r2 != 2 {
		t.Fatalf("setup wrote revision %d, want 2", r2)
	}
	sn, err := s.Snapshot(ctx, r2)
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	write(t, ctx, s, OpDelete, "doc:1#viewer@user:ana")
	for i := range 20 {
		write(t, ctx, s, OpTouch, fmt.Sprintf("doc:%d#viewer@user:bob", i))
	}
	if _, err := s.Snapshot(ctx, r2); !errors.Is(err, ErrRevisionGone) {
		t.Fatalf("a new snapshot at revision %d, outside the window of 2: %v, want ErrRevisionGone", r2, err)
	}
	compact()
	if !has(t, ctx, sn, "doc:1#viewer@user:ana") {
		t.Error("the pinned snapshot lost a tuple of its revision after compaction")
	}
	if got := all(t, ctx, sn, Filter{}); !slices.Equal(got, []string{"doc:1#viewer@user:ana"}) {
		t.Errorf("the pinned snapshot reads %v after compaction", got)
	}
	if err := sn.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sn.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	tp := mustParse(t, "doc:1#viewer@user:ana")
	if _, err := sn.Has(ctx, tp.Object(), tp.Relation, tp.Subject()); !errors.Is(err, ErrSnapshotClosed) {
		t.Errorf("Has after Close = %v, want ErrSnapshotClosed", err)
	}
	if _, _, err := sn.Read(ctx, Filter{}, "", 0); !errors.Is(err, ErrSnapshotClosed) {
		t.Errorf("Read after Close = %v, want ErrSnapshotClosed", err)
	}
	for _, err := range sn.Subjects(ctx, tp.Object(), tp.Relation, SubjectFilter{}) {
		if !errors.Is(err, ErrSnapshotClosed) {
			t.Errorf("Subjects after Close = %v, want ErrSnapshotClosed", err)
		}
	}
}

func testEdgeIDs(t *testing.T, ctx context.Context, s Store) {
	long := strings.Repeat("é", MaxIDLen/2) // 1024 bytes
	ids := []string{long, "ana@example.org", "名前", "urn:isbn:0451450523", "a:b@c", "~!$%^&*()", "x"}
	setup(t, ctx, s)
	var tuples []string
	for _, id := range ids {
		tuples = append(tuples, "doc:"+id+"#viewer@user:"+id, "doc:"+id+"#viewer@team:"+id+"#member")
	}
	write(t, ctx, s, OpCreate, tuples...)
	sn := snap(t, ctx, s, 0)
	for _, id := range ids {
		if !has(t, ctx, sn, "doc:"+id+"#viewer@user:"+id) || !has(t, ctx, sn, "doc:"+id+"#viewer@team:"+id+"#member") {
			t.Errorf("id %.20q not found", id)
		}
		var got []string
		for o, err := range sn.Reverse(ctx, Subject{Type: "user", ID: id}, "doc", "viewer") {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, o.ID)
		}
		if !slices.Equal(got, []string{id}) {
			t.Errorf("Reverse(user:%.20q) = %q", id, got)
		}
		n := 0
		for sub, err := range sn.Subjects(ctx, Object{"doc", id}, "viewer", SubjectFilter{}) {
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
	tooLong := Tuple{"doc", long + "x", "viewer", "user", "ana", ""}
	if _, err := s.Write(ctx, Batch{Ops: []Op{{Kind: OpTouch, Tuple: tooLong}}}); err == nil {
		t.Error("an id of 1025 bytes was written")
	}
	var buf bytes.Buffer
	if _, err := s.Export(ctx, &buf, 0, FormatText); err != nil {
		t.Fatal(err)
	}
	other := backends[0].open(t, 10)
	setup(t, ctx, other)
	if _, err := other.Import(ctx, &buf, ImportOptions{Format: FormatText, Name: "edge.tuples"}); err != nil {
		t.Fatal(err)
	}
	if got, want := all(t, ctx, snap(t, ctx, other, 0), Filter{}), all(t, ctx, sn, Filter{}); !slices.Equal(got, want) {
		t.Error("edge ids do not round-trip through export and import")
	}
}

func testDeleteMatching(t *testing.T, ctx context.Context, s Store) {
	setup(t, ctx, s, fixture...)
	before := snap(t, ctx, s, 0)
	rev, n, err := s.DeleteMatching(ctx, Filter{SubjectType: "user", SubjectID: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 || rev != before.Revision()+1 {
		t.Fatalf("deleted %d at %d, want 4 at %d", n, rev, before.Revision()+1)
	}
	sn := snap(t, ctx, s, 0)
	if got := all(t, ctx, sn, Filter{SubjectID: "ana"}); len(got) != 0 {
		t.Fatalf("left %v", got)
	}
	if got := len(all(t, ctx, sn, Filter{})); got != len(fixture)-4 {
		t.Fatalf("%d tuples left, want %d", got, len(fixture)-4)
	}
	if got := len(all(t, ctx, before, Filter{SubjectID: "ana"})); got != 4 {
		t.Fatalf("older snapshot lost deleted tuples: %d", got)
	}
}

func testSchemaWrite(t *testing.T, ctx context.Context, s Store) {
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
	if _, _, err := s.DeleteMatching(ctx, Filter{}); err == nil {
		t.Fatal("an empty filter deleted everything")
	}
	// Unused forms may go; new ones may come.
	ok := strings.Replace(testSchema, "relation owner: user", "relation owner: user | team#member", 1)
	ok = strings.Replace(ok, "relation parent: doc", "relation parent: doc\n  relation editor: user", 1)
	if _, err := s.WriteSchema(ctx, "v5.rebac", []byte(ok)); err != nil {
		t.Fatal(err)
	}
	write(t, ctx, s, OpTouch, "doc:1#editor@user:ana")
	if _, _, err := s.DeleteMatching(ctx, Filter{ObjectType: "doc", Relation: "owner"}); err != nil {
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

func testRoundTrip(t *testing.T, ctx context.Context, s Store) {
	setup(t, ctx, s)
	input := fixtureInput(10000)
	var calls, last int
	res, err := s.Import(ctx, strings.NewReader(input), ImportOptions{Format: FormatText, Name: "big.tuples", Progress: func(done, total int) {
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
	for _, format := range []Format{FormatText, FormatJSONL} {
		var out bytes.Buffer
		n, err := s.Export(ctx, &out, 0, format)
		if err != nil || n != 10000 {
			t.Fatalf("export: %d, %v", n, err)
		}
		fresh := backends[0].open(t, 10)
		setup(t, ctx, fresh)
		if _, err := fresh.Import(ctx, bytes.NewReader(out.Bytes()), ImportOptions{Format: format, Name: "export"}); err != nil {
			t.Fatal(err)
		}
		var again bytes.Buffer
		if _, err := fresh.Export(ctx, &again, 0, format); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), again.Bytes()) {
			t.Fatalf("format %d does not round-trip", format)
		}
		if format == FormatText {
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
	if _, err := s.Import(ctx, strings.NewReader(input), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := len(all(t, ctx, snap(t, ctx, s, 0), Filter{})); got != 10000 {
		t.Fatalf("after re-import %d tuples", got)
	}
}

func testImportErrors(t *testing.T, ctx context.Context, s Store) {
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
	_, err := s.Import(ctx, strings.NewReader("doc:x#viewer@user:a b\n"+text), ImportOptions{Name: "in.tuples"})
	var ie *InputError
	if !errors.As(err, &ie) || len(ie.Errors) != 20 || ie.More != 6 {
		t.Fatalf("import error = %v, want 20 listed and 6 more", err)
	}
	if ie.Errors[0] != `in.tuples:1:20: unexpected character U+0020 in id; ids may not contain whitespace` ||
		!strings.HasPrefix(ie.Errors[1], "in.tuples:3: doc:0#viwer@user:bad: ") {
		t.Fatalf("errors = %q", ie.Errors[:2])
	}
	_, err = s.Import(ctx, strings.NewReader(text), ImportOptions{Name: "in.tuples"})
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
	_, err = s.Import(ctx, strings.NewReader(jsonl), ImportOptions{Format: FormatJSONL, Name: "in.jsonl"})
	if !errors.As(err, &ie) || len(ie.Errors) != 3 || !strings.HasPrefix(ie.Errors[0], "in.jsonl:2:38: missing \"subject\"") || !strings.HasPrefix(ie.Errors[2], "in.jsonl:4:2: not valid JSON") {
		t.Fatalf("jsonl errors = %v", err)
	}
	sn := snap(t, ctx, s, 0)
	if sn.Revision() != rev || len(all(t, ctx, sn, Filter{})) != 0 {
		t.Fatal("a failed import wrote something")
	}
}

func testChanges(t *testing.T, ctx context.Context, s Store) {
	r1 := setup(t, ctx, s, "doc:1#viewer@user:ana", "doc:1#viewer@user:bob")
	r2 := write(t, ctx, s, OpDelete, "doc:1#viewer@user:ana", "doc:1#viewer@user:absent")
	r3, _, err := s.DeleteMatching(ctx, Filter{ObjectType: "doc"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf("%d write doc:1#viewer@user:ana", r1),
		fmt.Sprintf("%d write doc:1#viewer@user:bob", r1),
		fmt.Sprintf("%d delete doc:1#viewer@user:ana", r2),
		fmt.Sprintf("%d delete doc:1#viewer@user:bob", r3),
	}
	format := func(cs []Change) []string {
		var out []string
		for _, c := range cs {
			kind := "write"
			if c.Kind == ChangeDelete {
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

func testTrimChanges(t *testing.T, ctx context.Context, s Store) {
	r1 := setup(t, ctx, s, "doc:1#viewer@user:ana", "doc:1#viewer@user:bob")
	r2 := write(t, ctx, s, OpTouch, "doc:2#viewer@user:cy")
	r3 := write(t, ctx, s, OpDelete, "doc:1#viewer@user:ana")

	if _, err := s.TrimChanges(ctx, r3+5); !errors.Is(err, ErrFutureRevision) {
		t.Fatalf("trim past the latest: %v, want ErrFutureRevision", err)
	}
	n, err := s.TrimChanges(ctx, r2+1) // drops revisions r1 and r2
	if err != nil || n != 3 {
		t.Fatalf("trim before %d = %d, %v; want 3 changes dropped", r2+1, n, err)
	}
	// Asking for what is gone is an error, never a silent gap.
	for _, after := range []Revision{0, r1, r2 - 1} {
		if _, err := s.Changes(ctx, after, 0); !errors.Is(err, ErrChangesTrimmed) {
			t.Errorf("changes after %d: %v, want ErrChangesTrimmed", after, err)
		}
	}
	cs, err := s.Changes(ctx, r2, 0)
	if err != nil || len(cs) != 1 || cs[0].Revision != r3 || cs[0].Kind != ChangeDelete {
		t.Fatalf("changes after %d = %v, %v; want the delete at %d alone", r2, cs, err, r3)
	}
	// The trim is a revision of its own with no tuple changes, and
	// tuples and older snapshots are as they were.
	latest := snap(t, ctx, s, 0)
	if latest.Revision() != r3+1 {
		t.Errorf("revision after trim = %d, want %d", latest.Revision(), r3+1)
	}
	if ok, err := latest.Has(ctx, Object{Type: "doc", ID: "2"}, "viewer", Subject{Type: "user", ID: "cy"}); err != nil || !ok {
		t.Errorf("a trim changed the tuples: %v %v", ok, err)
	}
	if ok, _ := snap(t, ctx, s, r2).Has(ctx, Object{Type: "doc", ID: "1"}, "viewer", Subject{Type: "user", ID: "ana"}); !ok {
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
	r := write(t, ctx, s, OpTouch, "doc:3#viewer@user:dee")
	if cs, err := s.Changes(ctx, r3, 0); err != nil || len(cs) != 1 || cs[0].Revision != r {
		t.Errorf("changes after a trim and a write = %v, %v", cs, err)
	}
}

// streamSmall makes s import in chunks of 100 tuples and, on Badger, sort
// on disk once 250 are held, merging runs three at a time: small inputs
// then take every path of a large import.
func streamSmall(s Store) {
	st := s.(*store)
	st.importChunk = 100
	if e, ok := st.eng.(*badgerEngine); ok {
		e.loadHold, e.spillFanIn = 250, 3
	}
}

// state is what a failed import must leave as it was: the revision, the
// tuples and the change log.
type state struct {
	rev     Revision
	tuples  []string
	changes []Change
}

func stateOf(t *testing.T, ctx context.Context, s Store) state {
	t.Helper()
	sn := snap(t, ctx, s, 0)
	cs, err := s.Changes(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return state{rev: sn.Revision(), tuples: all(t, ctx, sn, Filter{}), changes: cs}
}

func (a state) equal(b state) bool {
	return a.rev == b.rev && slices.Equal(a.tuples, b.tuples) && slices.Equal(a.changes, b.changes)
}

// noLeftovers checks, on Badger, that no bulk-load files are left and,
// when untouched, that nothing was written above the latest revision (a
// rolled-back write leaves its undoing there).
func noLeftovers(t *testing.T, s Store, untouched bool) {
	t.Helper()
	e, ok := s.(*store).eng.(*badgerEngine)
	if !ok {
		return
	}
	if _, latest := e.bounds(); untouched && e.db.MaxVersion() > uint64(latest) {
		t.Errorf("entries at version %d above the latest revision %d", e.db.MaxVersion(), latest)
	}
	if _, err := os.Stat(filepath.Join(e.path, spillDirName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bulk-load files left behind: %v", err)
	}
}

func testStreamedImport(t *testing.T, ctx context.Context, s Store) {
	setup(t, ctx, s, "doc:0#viewer@user:u0", "doc:1#owner@user:keep")
	streamSmall(s)
	// Repeats within the input, across chunks, and of stored tuples.
	input := fixtureInput(2000) + fixtureInput(300) + "doc:0#viewer@user:u0\n"
	res, err := s.Import(ctx, strings.NewReader(input), ImportOptions{Name: "streamed.tuples"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Tuples != 2301 {
		t.Fatalf("imported %d tuples, want every line: 2301", res.Tuples)
	}
	noLeftovers(t, s, true)

	// The same input imported whole into a fresh store is the reference.
	ref := backends[0].open(t, 10)
	setup(t, ctx, ref, "doc:0#viewer@user:u0", "doc:1#owner@user:keep")
	want, err := ref.Import(ctx, strings.NewReader(input), ImportOptions{})
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
	if n := len(all(t, ctx, before, Filter{})); n != 2 {
		t.Fatalf("the revision before the import sees %d tuples, want 2", n)
	}
	for _, x := range []string{"doc:1999#parent@doc:999", "team:t9#member@user:user1998@example.org"} {
		if !has(t, ctx, snap(t, ctx, s, 0), x) {
			t.Errorf("%s missing", x)
		}
	}
	// Importing again is harmless.
	if _, err := s.Import(ctx, strings.NewReader(input), ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if again := stateOf(t, ctx, s); !slices.Equal(again.tuples, got.tuples) {
		t.Fatalf("a repeated streamed import changed the tuples")
	}
	// JSON lines stream the same way.
	var jsonl bytes.Buffer
	if _, err := s.Export(ctx, &jsonl, 0, FormatJSONL); err != nil {
		t.Fatal(err)
	}
	other := sameBackend(t, s)
	setup(t, ctx, other)
	streamSmall(other)
	if _, err := other.Import(ctx, &jsonl, ImportOptions{Format: FormatJSONL}); err != nil {
		t.Fatal(err)
	}
	if again := stateOf(t, ctx, other); !slices.Equal(again.tuples, got.tuples) {
		t.Fatalf("a streamed JSON-lines import holds %d tuples, want %d", len(again.tuples), len(got.tuples))
	}
}

// sameBackend opens a new, empty store of s's backend.
func sameBackend(t *testing.T, s Store) Store {
	t.Helper()
	name := "memory"
	if _, ok := s.(*store).eng.(*badgerEngine); ok {
		name = "badger"
	}
	for _, b := range backends {
		if b.name == name {
			other := b.open(t, 10)
			t.Cleanup(func() { other.Close() })
			return other
		}
	}
	t.Fatalf("no backend %s", name)
	return nil
}

func testStreamedImportBadLastChunk(t *testing.T, ctx context.Context, s Store) {
	setup(t, ctx, s, fixture...)
	streamSmall(s)
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
		_, err := s.Import(ctx, strings.NewReader(c.input), ImportOptions{Name: "in.tuples"})
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Fatalf("%s: import = %v, want an InputError", c.name, err)
		}
		wantListed := len(c.want)
		if c.more > 0 {
			wantListed = maxListed
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
		noLeftovers(t, s, true)
	}
	// The next write takes the revision the failed imports would have
	// had; nothing of them may show through it.
	rev := write(t, ctx, s, OpTouch, "doc:9#owner@user:after")
	if rev != before.rev+1 {
		t.Fatalf("write after failed imports at %d, want %d", rev, before.rev+1)
	}
	after := stateOf(t, ctx, s)
	if len(after.tuples) != len(before.tuples)+1 || len(after.changes) != len(before.changes)+1 {
		t.Fatalf("after a write: %d tuples and %d changes, want %d and %d",
			len(after.tuples), len(after.changes), len(before.tuples)+1, len(before.changes)+1)
	}
}

func testFutureRevision(t *testing.T, ctx context.Context, s Store) {
	rev := setup(t, ctx, s, "doc:1#viewer@user:ana")
	_, err := s.Snapshot(ctx, rev+1)
	if !errors.Is(err, ErrFutureRevision) || errors.Is(err, ErrRevisionGone) {
		t.Fatalf("snapshot above the latest = %v, want ErrFutureRevision", err)
	}
	if want := fmt.Sprintf("revision %d is not written yet; the latest is %d", rev+1, rev); !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
	if _, err := s.Snapshot(ctx, rev); err != nil {
		t.Fatalf("snapshot at the latest: %v", err)
	}
	// Once written, the revision is there.
	write(t, ctx, s, OpTouch, "doc:2#viewer@user:ana")
	if _, err := s.Snapshot(ctx, rev+1); err != nil {
		t.Fatalf("snapshot at the new latest: %v", err)
	}
}
