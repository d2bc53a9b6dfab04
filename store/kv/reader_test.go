package tuples

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// refDecode is the plain decoding subjectDecoder must agree with: split
// the subject fields, then filter.
func refDecode(k []byte, off int, f SubjectFilter) (Subject, bool, error) {
	parts := bytes.SplitN(k[off:], []byte{sep}, 3)
	if len(parts) != 3 {
		return Subject{}, false, fmt.Errorf("malformed tuple key %q", k)
	}
	s := Subject{Type: string(parts[0]), ID: string(parts[1]), Relation: string(parts[2])}
	return s, f.Matches(s), nil
}

var decodeFilters = []SubjectFilter{
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

func TestSubjectDecoder(t *testing.T) {
	long := strings.Repeat("x", MaxIDLen)
	subjects := []Subject{
		{"user", "ana", ""},
		{"user", "*", ""},
		{"user", "a:b@c#d", ""},
		{"user", long, ""},
		{"team", "east", "member"},
		{"team", "east", "owner"},
		{"team", "a:b@c#d", "member"},
		{"team", long, "member"},
		{"team", "west", ""},
		{"user", "bob", ""},
		{"group", "g", "member"},
	}
	obj := Object{"doc", "d:1@x#y"}
	off := len(prefixKey(tagForward, obj.Type, obj.ID, "viewer"))
	for _, f := range decodeFilters {
		// One decoder for all keys, as in a scan: what it shares between
		// keys must not leak from one subject into the next.
		d := subjectDecoder{f: f}
		var kept []Subject
		var want []Subject
		for _, s := range subjects {
			tp := New(obj, "viewer", s)
			k := forwardKey(nil, &tp)
			got, ok, err := d.decode(k, off)
			ref, refOK, refErr := refDecode(k, off, f)
			if err != nil || refErr != nil {
				t.Fatalf("decode(%q) = %v; reference %v", k, err, refErr)
			}
			if ok != refOK || (ok && got != ref) {
				t.Errorf("filter %+v: decode(%s) = %+v, %v; want %+v, %v", f, s, got, ok, ref, refOK)
			}
			if ok {
				kept = append(kept, got)
				want = append(want, ref)
			}
			// The key buffer is reused by the backends: the strings
			// must not point into it.
			for i := range k {
				k[i] = 0xff
			}
		}
		if !slices.Equal(kept, want) {
			t.Errorf("filter %+v: kept subjects changed: %v, want %v", f, kept, want)
		}
	}
}

func TestSubjectDecoderMalformed(t *testing.T) {
	base := prefixKey(tagForward, "doc", "1", "viewer")
	for _, rest := range []string{"", "user", "user\x00ana"} {
		k := append(slices.Clip(base), rest...)
		d := subjectDecoder{}
		if _, _, err := d.decode(k, len(base)); err == nil {
			t.Errorf("decode(%q) accepted a malformed key", k)
		}
		if _, _, err := refDecode(k, len(base), SubjectFilter{}); err == nil {
			t.Errorf("reference accepted %q", k)
		}
	}
	d := subjectDecoder{}
	if _, _, err := d.decode(base[:3], len(base)); err == nil {
		t.Error("decode accepted a key shorter than its prefix")
	}
	// A relation holding a separator is taken whole, as before.
	k := append(slices.Clip(base), "team\x00x\x00a\x00b"...)
	got, ok, err := d.decode(k, len(base))
	ref, _, _ := refDecode(k, len(base), SubjectFilter{})
	if err != nil || !ok || got != ref {
		t.Errorf("decode(%q) = %+v, %v, %v; want %+v", k, got, ok, err, ref)
	}
}

func TestStringArena(t *testing.T) {
	var a stringArena
	var got, want []string
	for i := range 5000 {
		s := strings.Repeat(string(rune('a'+i%26)), 1+i%40)
		if i%997 == 0 {
			s = strings.Repeat("z", arenaBlock+i%3) // larger than a block
		}
		b := []byte(s)
		got = append(got, a.string(b))
		want = append(want, s)
		clear(b)
	}
	if !slices.Equal(got, want) {
		t.Fatal("arena strings changed after later copies")
	}
	if a.string(nil) != "" {
		t.Error("empty string")
	}
	// One short string costs a small block, not a full one.
	var b stringArena
	b.string([]byte("u123"))
	if cap(b.block) > arenaFirst {
		t.Errorf("first block holds %d bytes, want at most %d", cap(b.block), arenaFirst)
	}
}

// testScanDecoding checks Subjects and Reverse against Read over enough
// subjects of every form, and ids long enough, that the decoding spans
// many arena blocks; what a caller keeps must stay intact.
func testScanDecoding(t *testing.T, ctx context.Context, s Store) {
	setup(t, ctx, s)
	ids := []string{"ana", "a:b@c", "*", strings.Repeat("é", MaxIDLen/2-2), "名前", "x"}
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
	// Subject sets of a relation only between two plain runs.
	ts = append(ts, "team:t#member@team:x#member", "team:t#member@user:a", "team:t#member@user:z")
	write(t, ctx, s, OpTouch, ts...)
	sn := snap(t, ctx, s, 0)
	for _, obj := range []Object{{"doc", "big"}, {"team", "t"}, {"doc", "ana0"}, {"doc", "none"}} {
		rel := "viewer"
		if obj.Type == "team" {
			rel = "member"
		}
		// Read serves this filter from the forward index, in key order:
		// the order Subjects must keep.
		stored, _, err := sn.Read(ctx, Filter{ObjectType: obj.Type, ObjectID: obj.ID, Relation: rel}, "", 0)
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
			var kept []Subject
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
	var kept []Object
	for o, err := range sn.Reverse(ctx, Subject{Type: "user", ID: "ana"}, "team", "member") {
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, o)
	}
	var want []string
	for _, x := range all(t, ctx, sn, Filter{ObjectType: "team", Relation: "member", SubjectType: "user", SubjectID: "ana"}) {
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
