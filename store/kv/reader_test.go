package kv

import (
	"bytes"
	"fmt"
	"github.com/docketdb/docket/tuples"
	"slices"
	"strings"
	"testing"
)

// refDecode is the plain decoding subjectDecoder must agree with: split
// the subject fields, then filter.
func refDecode(k []byte, off int, f tuples.SubjectFilter) (tuples.Subject, bool, error) {
	parts := bytes.SplitN(k[off:], []byte{Sep}, 3)
	if len(parts) != 3 {
		return tuples.Subject{}, false, fmt.Errorf("malformed tuple key %q", k)
	}
	s := tuples.Subject{Type: string(parts[0]), ID: string(parts[1]), Relation: string(parts[2])}
	return s, f.Matches(s), nil
}

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

func TestSubjectDecoder(t *testing.T) {
	long := strings.Repeat("x", tuples.MaxIDLen)
	subjects := []tuples.Subject{
		{Type: "user", ID: "ana", Relation: ""},
		{Type: "user", ID: "*", Relation: ""},
		{Type: "user", ID: "a:b@c#d", Relation: ""},
		{Type: "user", ID: long, Relation: ""},
		{Type: "team", ID: "east", Relation: "member"},
		{Type: "team", ID: "east", Relation: "owner"},
		{Type: "team", ID: "a:b@c#d", Relation: "member"},
		{Type: "team", ID: long, Relation: "member"},
		{Type: "team", ID: "west", Relation: ""},
		{Type: "user", ID: "bob", Relation: ""},
		{Type: "group", ID: "g", Relation: "member"},
	}
	obj := tuples.Object{Type: "doc", ID: "d:1@x#y"}
	off := len(PrefixKey(TagForward, obj.Type, obj.ID, "viewer"))
	for _, f := range decodeFilters {
		// One decoder for all keys, as in a scan: what it shares between
		// keys must not leak from one subject into the next.
		d := subjectDecoder{f: f}
		var kept []tuples.Subject
		var want []tuples.Subject
		for _, s := range subjects {
			tp := tuples.New(obj, "viewer", s)
			k := ForwardKey(nil, &tp)
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
	base := PrefixKey(TagForward, "doc", "1", "viewer")
	for _, rest := range []string{"", "user", "user\x00ana"} {
		k := append(slices.Clip(base), rest...)
		d := subjectDecoder{}
		if _, _, err := d.decode(k, len(base)); err == nil {
			t.Errorf("decode(%q) accepted a malformed key", k)
		}
		if _, _, err := refDecode(k, len(base), tuples.SubjectFilter{}); err == nil {
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
	ref, _, _ := refDecode(k, len(base), tuples.SubjectFilter{})
	if err != nil || !ok || got != ref {
		t.Errorf("decode(%q) = %+v, %v, %v; want %+v", k, got, ok, err, ref)
	}
}
