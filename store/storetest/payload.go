package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docketdb/docket/errkind"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// payloadSchema has relations whose tuples carry conditions and expiries.
const payloadSchema = `type user

type team {
  relation member: user | user with expiration | team#member
}

condition under_review(now timestamp, review_ends timestamp) {
  now < review_ends
}

condition tier(level int) {
  level > 1
}

type doc {
  relation owner: user
  relation viewer: user | user with tier | team#member with expiration
  relation deny_list: user with under_review and expiration | user with expiration
  relation can_view = owner | viewer
}
`

// The clock the payload tests pin: expiries lie either side of it.
var (
	clock0 = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	clockE = time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC) // expiry of the tuples below
)

func at(ctx context.Context, now time.Time) context.Context { return tuples.WithClock(ctx, now) }

func setupPayload(t *testing.T, ctx context.Context, s store.Store, lines ...string) tuples.Revision {
	t.Helper()
	if _, err := s.WriteSchema(ctx, "payload.rebac", []byte(payloadSchema)); err != nil {
		t.Fatal(err)
	}
	if len(lines) == 0 {
		return 0
	}
	return write(t, at(ctx, clock0), s, tuples.OpTouch, lines...)
}

func getTuple(t *testing.T, ctx context.Context, sn tuples.Snapshot, key string) (tuples.Tuple, bool) {
	t.Helper()
	got, ok, err := tuples.Get(ctx, sn, mustParse(t, key).Key())
	if err != nil {
		t.Fatal(err)
	}
	return got, ok
}

func testPayloadWriteReplace(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	const (
		plain = "doc:1#viewer@user:ana"
		tier2 = `doc:1#viewer@user:ana[tier:{"level":2}]`
		tier3 = `doc:1#viewer@user:ana[tier:{"level":3}]`
	)
	r1 := setupPayload(t, ctx, s, tier2, "doc:1#owner@user:bob")
	if got := all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{ObjectType: "doc"}); !slices.Equal(got, []string{"doc:1#owner@user:bob", tier2}) {
		t.Fatalf("read %q", got)
	}
	if got, ok := getTuple(t, ctx, snap(t, ctx, s, 0), plain); !ok || got.Text() != tier2 {
		t.Fatalf("Get gave %v %v, want %s", got.Text(), ok, tier2)
	}
	// A touch carrying the same changes nothing and makes no revision.
	if rev := write(t, ctx, s, tuples.OpTouch, tier2); rev != r1 {
		t.Fatalf("touch of an equal payload made revision %d after %d", rev, r1)
	}
	// Another payload replaces it, in a new revision.
	r2 := write(t, ctx, s, tuples.OpTouch, tier3)
	if r2 != r1+1 {
		t.Fatalf("replacing the payload wrote revision %d, want %d", r2, r1+1)
	}
	if got := all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{Relation: "viewer"}); !slices.Equal(got, []string{tier3}) {
		t.Fatalf("after the replace, read %q; want one tuple, the new payload", got)
	}
	// The old snapshot still sees the old payload.
	if got := all(t, ctx, snap(t, ctx, s, r1), tuples.Filter{Relation: "viewer"}); !slices.Equal(got, []string{tier2}) {
		t.Fatalf("the snapshot at %d reads %q", r1, got)
	}
	// Back to plain: also a replace.
	r3 := write(t, ctx, s, tuples.OpTouch, plain)
	if got := all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{Relation: "viewer"}); !slices.Equal(got, []string{plain}) {
		t.Fatalf("after writing it plain, read %q", got)
	}
	// Create refuses a stored key whatever it carries.
	var b tuples.Batch
	b.Ops = []tuples.Op{{Kind: tuples.OpCreate, Tuple: mustParse(t, tier2)}}
	if _, err := s.Write(ctx, b); !errors.Is(err, store.ErrExists) {
		t.Fatalf("create over a stored key: %v, want ErrExists", err)
	}
	// One batch writing a key twice with different payloads is refused.
	b.Ops = []tuples.Op{{Kind: tuples.OpTouch, Tuple: mustParse(t, tier2)}, {Kind: tuples.OpTouch, Tuple: mustParse(t, tier3)}}
	if _, err := s.Write(ctx, b); !errors.Is(err, errkind.ErrInvalid) || !strings.Contains(err.Error(), "operations 1 and 2") {
		t.Fatalf("a batch with one key twice, different payloads: %v", err)
	}
	// Bad payloads are refused, nothing written.
	for _, bad := range []string{
		"doc:1#owner@user:cy[tier]",                             // owner allows no condition
		`doc:1#viewer@user:cy[tier:{"level":"high"}]`,           // wrong type
		`doc:1#viewer@user:cy[tier:{"rank":2}]`,                 // unknown parameter
		"doc:1#viewer@user:cy[nosuch]",                          // unknown condition
		"doc:1#viewer@user:cy[expiration:2027-01-15T00:00:00Z]", // viewer@user allows no expiry
	} {
		b.Ops = []tuples.Op{{Kind: tuples.OpTouch, Tuple: mustParse(t, "doc:9#owner@user:z")}, {Kind: tuples.OpTouch, Tuple: mustParse(t, bad)}}
		if _, err := s.Write(ctx, b); !errors.Is(err, errkind.ErrInvalid) {
			t.Errorf("write of %s: %v, want an invalid-input error", bad, err)
		}
	}
	if sn := snap(t, ctx, s, 0); sn.Revision() != r3 {
		t.Fatalf("refused writes made revision %d", sn.Revision())
	}
	// An import of the plain tuple replaces a stored conditioned one too.
	write(t, ctx, s, tuples.OpTouch, tier2)
	if _, err := s.Import(ctx, strings.NewReader(plain+"\n"), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := all(t, ctx, snap(t, ctx, s, 0), tuples.Filter{Relation: "viewer"}); !slices.Equal(got, []string{plain}) {
		t.Fatalf("after importing it plain, read %q", got)
	}
	// Delete removes it with whatever it carries.
	write(t, ctx, s, tuples.OpTouch, tier2)
	// An import of the tuple as it is stored, payload and all, changes
	// nothing and makes no revision.
	if res, err := s.Import(ctx, strings.NewReader(tier2+"\n"), store.ImportOptions{}); err != nil || !res.Unchanged {
		t.Fatalf("importing %s as stored: %+v %v, want unchanged", tier2, res, err)
	}
	rd := write(t, ctx, s, tuples.OpDelete, plain)
	if has(t, ctx, snap(t, ctx, s, 0), plain) {
		t.Fatal("deleted tuple still there")
	}
	// The change log carries each write's payload.
	cs, err := s.Changes(ctx, r1-1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	for _, c := range cs {
		log = append(log, fmt.Sprintf("%d %v %s", c.Revision, c.Kind, c.Tuple.Text()))
	}
	want := []string{
		fmt.Sprintf("%d %v %s", r1, tuples.ChangeWrite, tier2),
		fmt.Sprintf("%d %v %s", r1, tuples.ChangeWrite, "doc:1#owner@user:bob"),
		fmt.Sprintf("%d %v %s", r2, tuples.ChangeWrite, tier3),
		fmt.Sprintf("%d %v %s", r3, tuples.ChangeWrite, plain),
		fmt.Sprintf("%d %v %s", rd-3, tuples.ChangeWrite, tier2),
		fmt.Sprintf("%d %v %s", rd-2, tuples.ChangeWrite, plain),
		fmt.Sprintf("%d %v %s", rd-1, tuples.ChangeWrite, tier2),
		fmt.Sprintf("%d %v %s", rd, tuples.ChangeDelete, plain),
	}
	if !slices.Equal(log, want) {
		t.Fatalf("change log:\n%s\nwant:\n%s", strings.Join(log, "\n"), strings.Join(want, "\n"))
	}
}

func testPayloadExpiry(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	exp := tuples.FormatExpiry(clockE)
	member := "team:t#member@user:ana[expiration:" + exp + "]"
	viewer := "doc:1#viewer@team:t#member[expiration:" + exp + "]"
	deny := `doc:1#deny_list@user:bob[under_review:{"review_ends":"2027-01-10T00:00:00Z"}][expiration:` + exp + "]"
	setupPayload(t, ctx, s, member, viewer, deny, "team:t#member@user:keep", "doc:1#owner@user:keep")
	before, after := clockE.Add(-time.Nanosecond), clockE
	ana := tuples.Subject{Type: "user", ID: "ana"}
	teamSet := tuples.Subject{Type: "team", ID: "t", Relation: "member"}
	for _, c := range []struct {
		now     time.Time
		visible bool
	}{{clock0, true}, {before, true}, {after, false}, {after.Add(time.Hour), false}} {
		sn, err := s.Snapshot(at(ctx, c.now), 0)
		if err != nil {
			t.Fatal(err)
		}
		defer sn.Close()
		if got := tuples.NowOf(sn); !got.Equal(c.now) {
			t.Fatalf("snapshot clock %v, want %v", got, c.now)
		}
		name := "at " + c.now.Format(time.RFC3339Nano)
		check := func(what string, got bool) {
			t.Helper()
			if got != c.visible {
				t.Errorf("%s: %s sees the expiring tuple: %v, want %v", name, what, got, c.visible)
			}
		}
		check("Has", has(t, ctx, sn, member))
		_, ok := getTuple(t, ctx, sn, member)
		check("Get", ok)
		n := 0
		for _, err := range sn.Subjects(ctx, tuples.Object{Type: "team", ID: "t"}, "member", tuples.SubjectFilter{}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		check("Subjects", n == 2)
		n = 0
		for _, err := range sn.Reverse(ctx, ana, "team", "member") {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		check("Reverse", n == 1)
		ok, err = sn.HasAny(ctx, []tuples.Object{{Type: "team", ID: "t"}}, "member", []tuples.Subject{ana})
		if err != nil {
			t.Fatal(err)
		}
		check("HasAny", ok)
		n = 0
		for x, err := range sn.SubjectsOf(ctx, []tuples.Object{{Type: "doc", ID: "1"}}, "viewer", tuples.SubjectFilter{}) {
			if err != nil {
				t.Fatal(err)
			}
			if x.Text() != viewer {
				t.Errorf("%s: SubjectsOf gave %s, want the payload with it: %s", name, x.Text(), viewer)
			}
			n++
		}
		check("SubjectsOf", n == 1)
		n = 0
		for x, err := range sn.ObjectsOf(ctx, []tuples.Subject{teamSet}, "doc", "viewer") {
			if err != nil {
				t.Fatal(err)
			}
			if x.Text() != viewer {
				t.Errorf("%s: ObjectsOf gave %s, want %s", name, x.Text(), viewer)
			}
			n++
		}
		check("ObjectsOf", n == 1)
		got := all(t, ctx, sn, tuples.Filter{})
		check("Read", len(got) == 5)
		if c.visible && !slices.Contains(got, deny) {
			t.Errorf("%s: read %q, want %s with its condition and expiry", name, got, deny)
		}
		var out bytes.Buffer
		if _, err := s.Export(at(ctx, c.now), &out, 0, tuples.FormatText); err != nil {
			t.Fatal(err)
		}
		check("Export", strings.Count(out.String(), "\n") == 5)
	}
	// An expired tuple does not exist for writes either: create succeeds.
	var b tuples.Batch
	b.Ops = []tuples.Op{{Kind: tuples.OpCreate, Tuple: mustParse(t, "team:t#member@user:ana")}}
	if _, err := s.Write(at(ctx, after), b); err != nil {
		t.Fatalf("create over an expired tuple: %v", err)
	}
	if !has(t, ctx, snap(t, at(ctx, after.Add(time.Hour)), s, 0), "team:t#member@user:ana") {
		t.Fatal("the plain tuple written over the expired one is missing")
	}
	// An expiry already past at write time is accepted: invisible at once.
	write(t, at(ctx, after), s, tuples.OpTouch, "team:t#member@user:old[expiration:2020-01-01T00:00:00Z]")
	if has(t, ctx, snap(t, at(ctx, after), s, 0), "team:t#member@user:old") {
		t.Fatal("a tuple written already expired is visible")
	}
}

// payloadInput is an import of plain, conditioned and expiring tuples.
func payloadInput(n int) string {
	var b strings.Builder
	for i := range n {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "doc:%d#viewer@user:u%d\n", i, i%31)
		case 1:
			fmt.Fprintf(&b, "doc:%d#viewer@user:u%d[tier:{\"level\":%d}]\n", i, i%31, i%4)
		case 2:
			fmt.Fprintf(&b, "team:t%d#member@user:u%d[expiration:2027-01-%02dT00:00:00Z]\n", i%7, i, 1+i%28)
		case 3:
			fmt.Fprintf(&b, "doc:%d#deny_list@user:u%d[under_review:{\"review_ends\":\"2027-02-01T00:00:00Z\"}][expiration:2027-03-01T12:00:00+01:00]\n", i, i%11)
		case 4:
			fmt.Fprintf(&b, "doc:%d#viewer@team:t%d#member[expiration:2027-01-%02dT00:00:00Z]\n", i, i%7, 1+i%28)
		}
	}
	return b.String()
}

func testPayloadImportExport(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	setupPayload(t, ctx, s)
	input := payloadInput(1500) + payloadInput(40) // repeats, equal payloads
	// A raw clock, so that every tuple is exported whatever its expiry.
	raw := at(ctx, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
	res, err := s.Import(ctx, strings.NewReader(input), store.ImportOptions{Name: "payload.tuples"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Tuples != 1500 || res.Duplicates != 40 {
		t.Fatalf("imported %d tuples, %d repeated, want 1500 and 40", res.Tuples, res.Duplicates)
	}
	noLeftovers(t, be, s, true)
	got := all(t, raw, snap(t, raw, s, 0), tuples.Filter{})
	if len(got) != 1500 {
		t.Fatalf("the import holds %d tuples, want 1500", len(got))
	}
	for _, line := range strings.Split(strings.TrimSpace(payloadInput(1500)), "\n") {
		tp := mustParse(t, line)
		if !slices.Contains(got, tp.Text()) {
			t.Fatalf("%s is not read back as imported", tp.Text())
		}
	}
	// The change log holds every imported payload.
	cs, err := s.Changes(ctx, res.Revision-1, 0)
	if err != nil {
		t.Fatal(err)
	}
	withPayload := 0
	for _, c := range cs {
		if !c.Tuple.Payload.IsZero() {
			withPayload++
		}
	}
	if withPayload != 1540*4/5 {
		t.Fatalf("the change log holds %d tuples with payloads, want %d", withPayload, 1540*4/5)
	}
	// Both export formats round-trip, into an empty store and into one
	// that holds tuples (which the key-value backends load differently).
	for _, format := range []tuples.Format{tuples.FormatText, tuples.FormatJSONL} {
		var out bytes.Buffer
		if n, err := s.Export(raw, &out, 0, format); err != nil || n != 1500 {
			t.Fatalf("export: %d, %v", n, err)
		}
		for _, seeded := range []bool{false, true} {
			other := sameBackend(t, be)
			setupPayload(t, ctx, other)
			if seeded {
				write(t, ctx, other, tuples.OpTouch, "doc:1#viewer@user:u1")
			}
			if _, err := other.Import(ctx, bytes.NewReader(out.Bytes()), store.ImportOptions{Format: format}); err != nil {
				t.Fatalf("re-import (format %d): %v", format, err)
			}
			if again := all(t, raw, snap(t, raw, other, 0), tuples.Filter{}); !slices.Equal(again, got) {
				t.Fatalf("format %d, seeded %v: the round trip holds %d tuples, differing from the %d exported", format, seeded, len(again), len(got))
			}
		}
	}
}

func testPayloadImportConflict(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	setupPayload(t, ctx, s, "doc:1#owner@user:keep")
	before := stateOf(t, ctx, s)
	for _, dup := range []string{
		"doc:7#viewer@user:u1[tier:{\"level\":5}]\n", // the input's line with another context
		"doc:7#viewer@user:u1\n",                     // and plain
	} {
		// Line 2 of payloadInput is doc:1#viewer@user:u1[tier...]; the
		// duplicate must match an earlier line's key: doc:(i) with i%5==1.
		input := payloadInput(600) + strings.Replace(dup, "doc:7#", "doc:1#", 1)
		_, err := s.Import(ctx, strings.NewReader(input), store.ImportOptions{Name: "dup.tuples"})
		if err == nil || !errors.Is(err, errkind.ErrInvalid) || !strings.Contains(err.Error(), "doc:1#viewer@user:u1") {
			t.Fatalf("an import with one tuple twice, different payloads: %v", err)
		}
		noLeftovers(t, be, s, true)
		if after := stateOf(t, ctx, s); !after.equal(before) {
			t.Fatal("a refused import wrote something")
		}
	}
}

func testPayloadSchemaWrite(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	setupPayload(t, ctx, s, "team:t#member@user:ana[expiration:2030-01-01T00:00:00Z]", `doc:1#viewer@user:ana[tier:{"level":2}]`)
	for _, c := range []struct{ name, from, to string }{
		{"with expiration dropped", "user | user with expiration | team#member", "user | team#member"},
		{"condition form dropped", "user | user with tier | team#member with expiration", "user | team#member with expiration"},
		{"parameter type changed", "condition tier(level int)", "condition tier(level string)"},
	} {
		next := strings.Replace(payloadSchema, c.from, c.to, 1)
		if c.name == "parameter type changed" {
			next = strings.Replace(next, "level > 1", `level != ""`, 1)
		}
		if next == payloadSchema {
			t.Fatalf("%s: the edit did not apply", c.name)
		}
		if _, err := s.WriteSchema(ctx, "next.rebac", []byte(next)); err == nil || !strings.Contains(err.Error(), "would no longer be valid") {
			t.Errorf("%s: schema write gave %v, want a refusal naming the tuples", c.name, err)
		}
	}
	// A change that leaves the payloads valid is accepted.
	next := strings.Replace(payloadSchema, "level > 1", "level > 2", 1)
	if _, err := s.WriteSchema(ctx, "next.rebac", []byte(next)); err != nil {
		t.Fatalf("changing a condition's expression: %v", err)
	}
}

func testCollectExpired(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	setupPayload(t, ctx, s)
	if _, err := s.Import(ctx, strings.NewReader(payloadInput(700)), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	c, ok := s.(store.Collector)
	if !ok {
		t.Skip("the store collects no expired tuples")
	}
	gcAt := time.Date(2027, 1, 10, 0, 0, 0, 0, time.UTC)
	clocks := []time.Time{gcAt, gcAt.Add(time.Nanosecond), clockE, time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)}
	beforeRev := snap(t, ctx, s, 0).Revision()
	readAll := func(rev tuples.Revision, now time.Time) []string {
		return all(t, ctx, snap(t, at(ctx, now), s, rev), tuples.Filter{})
	}
	want := map[time.Time][]string{}
	for _, now := range clocks {
		want[now] = readAll(0, now)
	}
	early := readAll(0, clock0)
	rev, n, err := c.CollectExpired(ctx, gcAt)
	if err != nil {
		t.Fatal(err)
	}
	// Expiries 2027-01-01..09 are gone: 9 of 28 days, in two relations.
	expect := 0
	for i := range 700 {
		if (i%5 == 2 || i%5 == 4) && 1+i%28 <= 10 {
			expect++
		}
	}
	if n != expect || rev != beforeRev+1 {
		t.Fatalf("collected %d at revision %d, want %d at %d", n, rev, expect, beforeRev+1)
	}
	for _, now := range clocks {
		if got := readAll(0, now); !slices.Equal(got, want[now]) {
			t.Errorf("at %v the collection changed the answer: %d tuples, want %d", now, len(got), len(want[now]))
		}
	}
	// The revision before the collection still holds them all.
	if got := readAll(beforeRev, clock0); !slices.Equal(got, early) {
		t.Errorf("the snapshot before the collection lost tuples")
	}
	// Nothing more to collect: no revision.
	if rev2, n2, err := c.CollectExpired(ctx, gcAt); err != nil || n2 != 0 || rev2 != rev {
		t.Fatalf("a second collection: %d %d %v", rev2, n2, err)
	}
	// The log records the deletes.
	cs, err := s.Changes(ctx, beforeRev, 0)
	if err != nil || len(cs) != n {
		t.Fatalf("change log of the collection: %d changes, %v", len(cs), err)
	}
	for _, ch := range cs {
		if ch.Kind != tuples.ChangeDelete {
			t.Fatalf("the collection logged %v", ch)
		}
	}
}
