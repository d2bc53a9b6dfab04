package tuples

import (
	"bytes"
	"fmt"
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
				t := Tuple{"doc", fmt.Sprint(rng.IntN(100000)), "viewer", "user", fmt.Sprint(rng.IntN(300)), ""}
				keys[i] = forwardKey(nil, &t)
			}
		}
		want := slices.Clone(keys)
		slices.SortFunc(want, bytes.Compare)
		sortKeys(keys, make([][]byte, n))
		if !slices.EqualFunc(keys, want, bytes.Equal) {
			t.Fatalf("%d keys sorted wrongly", n)
		}
	}
}

func BenchmarkSortKeys(b *testing.B) {
	input := benchInput(1<<18, 0)
	var keys [][]byte
	for _, line := range bytes.Split(bytes.TrimSpace(input), []byte("\n")) {
		t, err := Parse(string(line))
		if err != nil {
			b.Fatal(err)
		}
		keys = append(keys, reverseKey(nil, &t))
	}
	work, tmp := make([][]byte, len(keys)), make([][]byte, len(keys))
	b.Run("radix", func(b *testing.B) {
		for b.Loop() {
			copy(work, keys)
			sortKeys(work, tmp)
		}
	})
	b.Run("pdqsort", func(b *testing.B) {
		for b.Loop() {
			copy(work, keys)
			slices.SortFunc(work, bytes.Compare)
		}
	})
}
