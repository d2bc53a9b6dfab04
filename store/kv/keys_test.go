package kv

import (
	"bytes"
	"fmt"
	"github.com/docketdb/docket/tuples"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSortKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 63, 64, 65, 1000, 20000} {
		keys := make([][]byte, n)
		for i := range keys {
			switch rng.IntN(4) {
			case 0: // short keys, some prefixes of others, some empty
				keys[i] = []byte("abc"[:rng.IntN(4)])
			case 1: // repeats
				keys[i] = []byte(fmt.Sprintf("f\x00doc\x00%d", rng.IntN(50)))
			case 2: // bytes above 0x7f
				keys[i] = []byte{byte(rng.IntN(256)), byte(rng.IntN(256)), 0xff}
			default:
				t := tuples.Tuple{ObjectType: "doc", ObjectID: fmt.Sprint(rng.IntN(100000)), Relation: "viewer", SubjectType: "user", SubjectID: fmt.Sprint(rng.IntN(300))}
				keys[i] = ForwardKey(nil, &t)
			}
		}
		want := slices.Clone(keys)
		slices.SortFunc(want, bytes.Compare)
		SortKeys(keys, make([][]byte, n))
		if !slices.EqualFunc(keys, want, bytes.Equal) {
			t.Fatalf("%d keys sorted wrongly", n)
		}
	}
}

func BenchmarkSortKeys(b *testing.B) {
	// The tuples of the store benchmarks: docs with viewers and owners,
	// spread over 10000 users.
	var keys [][]byte
	for i := range 1 << 18 {
		rel := "viewer"
		if i%5 == 4 {
			rel = "owner"
		}
		t := tuples.Tuple{ObjectType: "doc", ObjectID: fmt.Sprintf("s0_%d", i), Relation: rel, SubjectType: "user", SubjectID: fmt.Sprintf("u%d", i%10000)}
		keys = append(keys, ReverseKey(nil, &t))
	}
	work, tmp := make([][]byte, len(keys)), make([][]byte, len(keys))
	b.Run("radix", func(b *testing.B) {
		for b.Loop() {
			copy(work, keys)
			SortKeys(work, tmp)
		}
	})
	b.Run("pdqsort", func(b *testing.B) {
		for b.Loop() {
			copy(work, keys)
			slices.SortFunc(work, bytes.Compare)
		}
	})
}

// FuzzKeys: the keys of whatever parses decode back to the same tuple, and
// the object's key range holds its keys.
func FuzzKeys(f *testing.F) {
	for _, s := range []string{
		"doc:1#viewer@user:ana",
		"doc:a@b.org#viewer@user:ana@example.org",
		"doc:1#viewer@team:east#member",
		"doc:1#viewer@user:*",
		"doc:urn:x#viewer@user:名前",
		"doc:1#viewer@user:a#b#c",
		"doc:##@@",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := tuples.Parse(s)
		if err != nil {
			return
		}
		for _, k := range [][]byte{ForwardKey(nil, &tp), ReverseKey(nil, &tp)} {
			back, err := DecodeKey(k)
			if err != nil || back != tp {
				t.Fatalf("key %q decodes to %v, %v; want %v", k, back, err, tp)
			}
		}
		// The object's key range holds its keys and only its keys.
		prefix := PrefixKey(TagForward, tp.ObjectType, tp.ObjectID, tp.Relation)
		if !bytes.HasPrefix(ForwardKey(nil, &tp), prefix) {
			t.Fatalf("forward key outside its object's range")
		}
	})
}
