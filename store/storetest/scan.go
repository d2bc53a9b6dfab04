package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// testScanObjects holds a snapshot's forward scan (tuples.ObjectScanner),
// where the backend offers one, to what its reverse reads give: the
// objects storing each want, merged in order of object id, from a
// starting id, hiding expired tuples, and stopping between two objects
// at its budget with the last object read whole.
func testScanObjects(t *testing.T, ctx context.Context, s store.Store, be Backend) {
	exp := tuples.FormatExpiry(clockE)
	lines := append(Fixture(),
		"doc:3#viewer@user:ana[expiration:"+exp+"]", // expired at clockE
		"doc:4#viewer@user:bob",
		"doc:4#owner@user:ana",
		"doc:40#viewer@team:west#member",
		"folder:1#viewer@user:ana", // another type: never scanned
	)
	if _, err := s.WriteSchema(ctx, "scan.rebac", []byte(scanSchema)); err != nil {
		t.Fatal(err)
	}
	write(t, at(ctx, clock0), s, tuples.OpTouch, lines...)
	sn, err := s.Snapshot(at(ctx, clockE), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	sc, ok := sn.(tuples.ObjectScanner)
	if ok {
		_, ok = sc.ScanObjects(ctx, "doc", "", nil, 0)
	}
	if !ok {
		t.Skip("the snapshot offers no forward scan")
	}
	parse := func(s string) tuples.Subject {
		sub, err := tuples.ParseSubject(s)
		if err != nil {
			t.Fatal(err)
		}
		return sub
	}
	wants := []tuples.Want{
		{Relation: "viewer", Subject: parse("user:ana")},
		{Relation: "owner", Subject: parse("user:ana")},
		{Relation: "viewer", Subject: parse("team:west#member")},
		{Relation: "viewer", Subject: parse("user:*")},
		{Relation: "viewer", Subject: parse("user:nobody")},
	}
	// What the reverse reads give, object by object.
	reverse := map[string][]int{}
	for i, w := range wants {
		for o, err := range sn.Reverse(ctx, w.Subject, "doc", w.Relation) {
			if err != nil {
				t.Fatal(err)
			}
			reverse[o.ID] = append(reverse[o.ID], i)
		}
	}
	var ids []string
	for id := range reverse {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if got := strings.Join(ids, " "); got != "1 10 2 4 40" {
		t.Fatalf("reverse reads found %s", got)
	}
	scan := func(after string, budget int) (found []string, stopped string, read int) {
		t.Helper()
		seq, ok := sc.ScanObjects(ctx, "doc", after, wants, budget)
		if !ok {
			t.Fatal("ScanObjects: not ok on a snapshot that scans")
		}
		for m, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			if m.Scanned < read {
				t.Fatalf("Scanned went down: %d after %d", m.Scanned, read)
			}
			read = m.Scanned
			if m.Stopped {
				stopped = "stopped after " + m.ObjectID
				continue
			}
			if stopped != "" {
				t.Fatalf("a match after the stop: %+v", m)
			}
			w := slices.Clone(m.Wants)
			slices.Sort(w)
			want := slices.Clone(reverse[m.ObjectID])
			slices.Sort(want)
			if !slices.Equal(w, want) {
				t.Errorf("object %s matched wants %v, the reverse reads %v", m.ObjectID, w, want)
			}
			found = append(found, m.ObjectID)
		}
		return found, stopped, read
	}
	for _, after := range []string{"", "1", "10", "2", "3", "4", "40", "5"} {
		got, stopped, _ := scan(after, 0)
		var want []string
		for _, id := range ids {
			if id > after {
				want = append(want, id)
			}
		}
		if !slices.Equal(got, want) || stopped != "" {
			t.Errorf("scan after %q: %v (%s), want %v", after, got, stopped, want)
		}
	}
	// With a budget of one tuple the scan reads one object at a time;
	// resuming after each stop finds every object, in order.
	var got []string
	after, stops := "", 0
	for range 20 {
		found, stopped, read := scan(after, 1)
		got = append(got, found...)
		if stopped == "" {
			break
		}
		stops++
		if read < 1 {
			t.Fatalf("stopped having read %d tuples", read)
		}
		after = strings.TrimPrefix(stopped, "stopped after ")
	}
	if !slices.Equal(got, ids) || stops == 0 {
		t.Errorf("scan in budgets of one tuple: %v with %d stops, want %v", got, stops, ids)
	}
	// Another type, and one of no tuples.
	if found, _, _ := scan("", 0); len(found) == 0 {
		t.Error("no doc found")
	}
	seq, _ := sc.ScanObjects(ctx, "folder", "", wants, 0)
	var folders []string
	for m, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		folders = append(folders, fmt.Sprintf("%s %v", m.ObjectID, m.Wants))
	}
	if !slices.Equal(folders, []string{"1 [0]"}) {
		t.Errorf("folder scan found %v, want folder:1 for want 0", folders)
	}
	seq, _ = sc.ScanObjects(ctx, "user", "", wants, 0)
	for m := range seq {
		t.Errorf("user scan found %+v", m)
	}
}

const scanSchema = `type user
type team {
  relation member: user | team#member
}
type doc {
  relation owner: user
  relation parent: doc
  relation viewer: user | user:* | team#member | user with expiration
}
type folder {
  relation viewer: user
}
`
