package schema

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/alecthomas/participle/v2/lexer"
)

// trivialTypes is n types of two relations each, one reading the other.
func trivialTypes(n int) string {
	var b strings.Builder
	b.WriteString("type user\n")
	for i := range n {
		fmt.Fprintf(&b, "type t%d {\n  relation owner: user\n  relation viewer: user | t%d#owner\n}\n", i, i)
	}
	return b.String()
}

// ringTypes is n types whose members are members of the next: one cycle
// through every type.
func ringTypes(n int) string {
	var b strings.Builder
	b.WriteString("type user\n")
	for i := range n {
		fmt.Fprintf(&b, "type t%d {\n  relation member: user | t%d#member\n}\n", i, (i+1)%n)
	}
	return b.String()
}

// compileAlloc parses src, then compiles it and returns the bytes the
// compilation allocated.
func compileAlloc(t testing.TB, src string) (*Schema, uint64) {
	f, err := Parse("big.rebac", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s, err := Compile(f)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	return s, after.TotalAlloc - before.TotalAlloc
}

// Reach tables were dense, one entry per type and relation for every
// relation: compiling 16,000 trivial types allocated gigabytes. They are
// sparse now; 4,000 types once allocated about 250 MB to compile.
func TestCompileMemoryFollowsTheSchema(t *testing.T) {
	s, alloc := compileAlloc(t, trivialTypes(4000))
	if alloc > 40<<20 {
		t.Errorf("compiling 4000 trivial types allocated %d MB", alloc>>20)
	}
	v := s.Relation("t7", "viewer")
	if !v.ReachTypes.Has(s.Type("user").ID) || !v.ReachSets.Has(s.Relation("t7", "owner").ID) || v.ReachSets.Has(s.Relation("t8", "owner").ID) {
		t.Errorf("t7#viewer reaches %v types, %v sets", v.ReachTypes, v.ReachSets)
	}
	s, alloc = compileAlloc(t, ringTypes(1000))
	if alloc > 40<<20 {
		t.Errorf("compiling a ring of 1000 types allocated %d MB", alloc>>20)
	}
	m := s.Relation("t0", "member")
	if m.ReachSets.Len() != 1000 || !m.ReachSets.Has(s.Relation("t999", "member").ID) {
		t.Errorf("t0#member reaches %d sets, want every member of the ring", m.ReachSets.Len())
	}
}

func TestSchemaLimitsAreRefusedAtOnce(t *testing.T) {
	big := strings.Repeat("// padding\n", MaxSchemaBytes/11+1) + "type user\n"
	_, err := Parse("big.rebac", []byte(big))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("big.rebac:1:1: the schema is %d bytes; at most %d (4 MiB) are allowed", len(big), MaxSchemaBytes)) {
		t.Errorf("oversized schema: %v", err)
	}
	// Counted on the parsed file, before anything is compiled; built here
	// rather than parsed, which would cost more than the check.
	f := &File{Name: "many.rebac"}
	for i := range MaxTypes + 1 {
		f.Types = append(f.Types, &TypeDecl{Pos: lexer.Position{Filename: "many.rebac", Line: i + 1, Column: 1}, Name: Ident{Name: fmt.Sprintf("t%d", i)}})
	}
	_, err = Compile(f)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("many.rebac:%d:1: the schema declares %d types; at most %d are allowed", MaxTypes+1, MaxTypes+1, MaxTypes)) {
		t.Errorf("too many types: %v", err)
	}
	td := &TypeDecl{Name: Ident{Name: "t"}, Body: true}
	for i := range MaxRelations + 1 {
		td.Relations = append(td.Relations, &RelationDecl{Pos: lexer.Position{Filename: "rels.rebac", Line: i + 2, Column: 3}, Name: Ident{Name: fmt.Sprintf("r%d", i)}})
	}
	_, err = Compile(&File{Name: "rels.rebac", Types: []*TypeDecl{td}})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("rels.rebac:%d:3: the schema declares %d relations; at most %d are allowed", MaxRelations+2, MaxRelations+1, MaxRelations)) {
		t.Errorf("too many relations: %v", err)
	}
}

// BenchmarkCompileLarge reports the time and the bytes allocated to load
// (parse and compile) large schemas: 16,000 trivial types, a ring of
// 8,000, and, past the limits (compiled here without them), 100,000.
//
//	go test ./schema -run XXX -bench CompileLarge -benchtime 3x
func BenchmarkCompileLarge(b *testing.B) {
	for _, c := range []struct {
		name string
		src  string
	}{
		{"Trivial16k", trivialTypes(16000)},
		{"Ring8k", ringTypes(8000)},
		{"Trivial100k", trivialTypes(100000)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.src)))
			for b.Loop() {
				f, err := parse("big.rebac", []byte(c.src))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := compile(f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
