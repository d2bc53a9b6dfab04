package badger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/docketdb/docket/store/kv"
	"github.com/docketdb/docket/tuples"
)

// viewKeys returns the keys a scan of v under prefix from start returns.
func viewKeys(t *testing.T, v *view, prefix, start []byte) []string {
	t.Helper()
	var out []string
	err := v.Scan(context.Background(), prefix, start, func(k, _ []byte) (bool, error) {
		out = append(out, string(k))
		return true, nil
	})
	if err != nil {
		t.Fatalf("scan %q: %v", prefix, err)
	}
	return out
}

// TestViewReusesIteratorsAcrossRanges scans one snapshot's ranges in an
// order that leaves a pooled iterator past, before and inside the next
// range, nests scans, and runs them at once: every scan returns exactly
// its range, and closing the snapshot closes every iterator (Badger
// panics on discarding a transaction with one open).
func TestViewReusesIteratorsAcrossRanges(t *testing.T) {
	ctx := context.Background()
	s := openBadger(t, t.TempDir())
	var lines []string
	for d := range 5 {
		for u := range 4 {
			lines = append(lines, fmt.Sprintf("doc:%d#viewer@user:u%d", d, u))
		}
	}
	setup(t, ctx, s, lines...)
	r := s.e.latestReader(time.Time{})
	v := r.v
	want := func(d int) []string {
		var out []string
		for u := range 4 {
			tu := mustParse(t, fmt.Sprintf("doc:%d#viewer@user:u%d", d, u))
			out = append(out, string(kv.ForwardKey(nil, &tu)))
		}
		return out
	}
	prefix := func(d int) []byte {
		return kv.PrefixKey(kv.TagForward, "doc", fmt.Sprint(d), "viewer")
	}
	for _, d := range []int{4, 0, 2, 2, 1, 3, 0} {
		if got := viewKeys(t, v, prefix(d), nil); fmt.Sprint(got) != fmt.Sprint(want(d)) {
			t.Fatalf("scan of doc:%d = %q, want %q", d, got, want(d))
		}
	}
	// A start inside the range.
	w := want(3)
	if got := viewKeys(t, v, prefix(3), []byte(w[2])); fmt.Sprint(got) != fmt.Sprint(w[2:]) {
		t.Fatalf("scan of doc:3 from %q = %q, want %q", w[2], got, w[2:])
	}
	// A range with no key, between two that have keys.
	if got := viewKeys(t, v, kv.PrefixKey(kv.TagForward, "doc", "1x", "viewer"), nil); len(got) != 0 {
		t.Fatalf("scan of an empty range = %q", got)
	}
	// Nested: the inner scans run while the outer one holds its iterator.
	var outer, inner int
	err := v.Scan(ctx, kv.PrefixKey(kv.TagForward, "doc"), nil, func(k, _ []byte) (bool, error) {
		outer++
		inner += len(viewKeys(t, v, prefix(outer%5), nil))
		return true, nil
	})
	if err != nil || outer != 20 || inner != 80 {
		t.Fatalf("nested scans: %d outer, %d inner keys, %v", outer, inner, err)
	}
	// At once, from several goroutines.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				d := (g + i) % 5
				var got []string
				err := v.Scan(ctx, prefix(d), nil, func(k, _ []byte) (bool, error) {
					got = append(got, string(k))
					return true, nil
				})
				if err != nil || fmt.Sprint(got) != fmt.Sprint(want(d)) {
					errs <- fmt.Errorf("concurrent scan of doc:%d = %q, %v", d, got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	r.Close()
	v.txn.Discard() // panics if an iterator is still open
}

// TestViewCloseDuringScan closes a snapshot while a scan of it runs: the
// scan finishes and closes its iterator, and every read that starts
// afterwards fails with the snapshot-closed error.
func TestViewCloseDuringScan(t *testing.T) {
	ctx := context.Background()
	s := openBadger(t, t.TempDir())
	setup(t, ctx, s, "doc:1#viewer@user:ana", "doc:1#viewer@user:bob", "doc:2#viewer@user:ana")
	r := s.e.latestReader(time.Time{})
	v := r.v
	obj := tuples.Object{Type: "doc", ID: "1"}
	var got []tuples.Subject
	for sub, err := range r.Subjects(ctx, obj, "viewer", tuples.SubjectFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			r.Close() // with the scan in flight
		}
		got = append(got, sub)
	}
	if len(got) != 2 {
		t.Fatalf("the scan in flight returned %v", got)
	}
	for _, err := range r.Subjects(ctx, obj, "viewer", tuples.SubjectFilter{}) {
		if !errors.Is(err, tuples.ErrSnapshotClosed) {
			t.Fatalf("Subjects after Close = %v", err)
		}
	}
	// The view itself refuses, for a scan that passed the reader's check
	// just before Close.
	err := v.Scan(ctx, kv.PrefixKey(kv.TagForward, "doc"), nil, func([]byte, []byte) (bool, error) { return true, nil })
	if !errors.Is(err, tuples.ErrSnapshotClosed) {
		t.Fatalf("view scan after Close = %v", err)
	}
	v.txn.Discard()
}

// TestViewClosedAfterDatabase closes a snapshot whose view holds pooled
// iterators after the database itself is closed: the iterators are left
// alone (their tables are unmapped) and nothing fails.
func TestViewClosedAfterDatabase(t *testing.T) {
	ctx := context.Background()
	s := openBadger(t, t.TempDir())
	setup(t, ctx, s, "doc:1#viewer@user:ana")
	sn := snap(t, ctx, s, 0)
	n := 0
	for _, err := range sn.Subjects(ctx, tuples.Object{Type: "doc", ID: "1"}, "viewer", tuples.SubjectFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("%d subjects, want 1", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sn.Close(); err != nil {
		t.Fatal(err)
	}
}
