package gen

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/docketdb/docket/tuples"
)

// The stress shapes each isolate one thing that makes a checker slow.

const groupSchemaCore = `type user

type group {
  relation member: user | group#member
}
`

// chainSchema: groups nested in a straight line.
const chainSchema = `// Groups nested 40 deep: the depth a check must follow.
` + groupSchemaCore

const (
	chainCount = 500
	chainDepth = 40
)

// genChain writes chainCount chains group:k_0 <- k_1 <- ... <- k_39, the
// last holding the chain's leaf user; every level also holds two users of
// its own, so a negative check tests a membership at every level.
func genChain(ctx context.Context, spec Spec, s *sink) error {
	g := func(k, d int) string { return "k" + strconv.Itoa(k) + "_" + strconv.Itoa(d) }
	for k := range chainCount {
		if err := cancelled(ctx, k); err != nil {
			return err
		}
		for d := range chainDepth {
			if d+1 < chainDepth {
				s.tuple("group", g(k, d), "member", "group", g(k, d+1), "member")
			} else {
				s.tuple("group", g(k, d), "member", "user", "leaf"+strconv.Itoa(k), "")
			}
			for j := range 2 {
				s.tuple("group", g(k, d), "member", "user", g(k, d)+"_"+strconv.Itoa(j), "")
			}
		}
	}
	r := rand.New(rand.NewPCG(spec.Seed, 0xc4a1))
	for range 200 {
		k := r.IntN(chainCount)
		top := tuples.Object{Type: "group", ID: g(k, 0)}
		s.query(Query{Kind: KindCheck, Label: "deep", Object: top, Relation: "member",
			Subject: tuples.Subject{Type: "user", ID: "leaf" + strconv.Itoa(k)}, Expect: Expect{Known: true, Allowed: true}})
		// A user of another chain: the whole chain is walked for nothing.
		other := (k + 1 + r.IntN(chainCount-1)) % chainCount
		s.query(Query{Kind: KindCheck, Label: "deep_negative", Object: top, Relation: "member",
			Subject: tuples.Subject{Type: "user", ID: "leaf" + strconv.Itoa(other)}, Expect: Expect{Known: true}})
		// The top group reaches every group of its chain as a subject set.
		s.query(Query{Kind: KindCheck, Label: "deep_set", Object: top, Relation: "member",
			Subject: tuples.Subject{Type: "group", ID: g(k, chainDepth-1), Relation: "member"}, Expect: Expect{Known: true, Allowed: true}})
	}
	for range 10 {
		k := r.IntN(chainCount)
		s.query(Query{Kind: KindSubjects, Label: "chain_members", Object: tuples.Object{Type: "group", ID: g(k, 0)},
			Relation: "member", Type: "user", Expect: Expect{Known: true, Count: chainDepth*2 + 1}})
		s.query(Query{Kind: KindResources, Label: "chain_groups", Subject: tuples.Subject{Type: "user", ID: "leaf" + strconv.Itoa(k)},
			Type: "group", Relation: "member", Expect: Expect{Known: true, Count: chainDepth}})
	}
	return nil
}

// groupsSchema: documents shared with groups, one user in very many.
const groupsSchema = `// One user in 10k groups; documents shared with groups.
` + groupSchemaCore + `
type doc {
  relation viewer: user | group#member
}
`

const (
	busyGroups  = 10000 // groups holding user:busy
	otherGroups = 10000 // groups of other users
	otherUsers  = 2000
	groupDocs   = 20000
	docGrants   = 3 // group grants per document
)

func genGroups(ctx context.Context, spec Spec, s *sink) error {
	r := rand.New(rand.NewPCG(spec.Seed, 0x6209))
	busy := tuples.Subject{Type: "user", ID: "busy"}
	for i := range busyGroups {
		s.tuple("group", "b"+strconv.Itoa(i), "member", "user", "busy", "")
	}
	// members[g]: the users of other group g.
	members := make([][]int, otherGroups)
	for i := range otherGroups {
		for range 5 {
			u := r.IntN(otherUsers)
			members[i] = append(members[i], u)
			s.tuple("group", "o"+strconv.Itoa(i), "member", "user", "x"+strconv.Itoa(u), "")
		}
	}
	busyDocs := 0
	for d := range groupDocs {
		if err := cancelled(ctx, d); err != nil {
			return err
		}
		id := "d" + strconv.Itoa(d)
		var grants []int // other groups granted
		hasBusy := false
		for range docGrants {
			if r.IntN(2) == 0 {
				hasBusy = true
				s.tuple("doc", id, "viewer", "group", "b"+strconv.Itoa(r.IntN(busyGroups)), "member")
			} else {
				g := r.IntN(otherGroups)
				grants = append(grants, g)
				s.tuple("doc", id, "viewer", "group", "o"+strconv.Itoa(g), "member")
			}
		}
		direct := r.IntN(otherUsers)
		s.tuple("doc", id, "viewer", "user", "x"+strconv.Itoa(direct), "")
		if hasBusy {
			busyDocs++
		}
		if d%40 != 0 {
			continue
		}
		obj := tuples.Object{Type: "doc", ID: id}
		s.query(Query{Kind: KindCheck, Label: "busy_user", Object: obj, Relation: "viewer", Subject: busy,
			Expect: Expect{Known: true, Allowed: hasBusy}})
		u := r.IntN(otherUsers)
		allowed := u == direct
		for _, g := range grants {
			for _, m := range members[g] {
				allowed = allowed || m == u
			}
		}
		s.query(Query{Kind: KindCheck, Label: "group_member", Object: obj, Relation: "viewer",
			Subject: tuples.Subject{Type: "user", ID: "x" + strconv.Itoa(u)}, Expect: Expect{Known: true, Allowed: allowed}})
	}
	s.query(Query{Kind: KindResources, Label: "busy_docs", Subject: busy, Type: "doc", Relation: "viewer",
		Expect: Expect{Known: true, Count: busyDocs}})
	s.query(Query{Kind: KindResources, Label: "busy_groups", Subject: busy, Type: "group", Relation: "member",
		Expect: Expect{Known: true, Count: busyGroups}})
	for range 10 {
		s.query(Query{Kind: KindResources, Label: "user_docs", Subject: tuples.Subject{Type: "user", ID: "x" + strconv.Itoa(r.IntN(otherUsers))},
			Type: "doc", Relation: "viewer"})
	}
	return nil
}

// foldersSchema: permission inherited down a folder tree.
const foldersSchema = `// A folder tree ten levels deep; viewers inherit from the parent folder.
type user

type folder {
  relation parent: folder
  relation owner: user
  relation viewer = owner | parent#viewer
}

type doc {
  relation parent: folder
  relation reader: user
  relation viewer = reader | parent#viewer
}
`

const (
	folderFanout = 3
	folderLevels = 10
	folderUsers  = 1000
)

// genFolders writes a complete tree: folder i's children are
// fanout*i+1 .. fanout*i+fanout, so the path to the root needs no memory.
// Each leaf folder holds one document.
func genFolders(ctx context.Context, spec Spec, s *sink) error {
	r := rand.New(rand.NewPCG(spec.Seed, 0xf01d))
	total, leaves := 0, 1
	for range folderLevels {
		total += leaves
		leaves *= folderFanout
	}
	leaves /= folderFanout
	firstLeaf := total - leaves
	owner := make([]int, total) // -1: none
	f := func(i int) string { return "f" + strconv.Itoa(i) }
	for i := range total {
		if err := cancelled(ctx, i); err != nil {
			return err
		}
		owner[i] = -1
		if i > 0 {
			s.tuple("folder", f(i), "parent", "folder", f((i-1)/folderFanout), "")
		}
		if i == 0 || r.IntN(10) == 0 {
			owner[i] = r.IntN(folderUsers)
			s.tuple("folder", f(i), "owner", "user", "p"+strconv.Itoa(owner[i]), "")
		}
	}
	uid := func(u int) tuples.Subject { return tuples.Subject{Type: "user", ID: "p" + strconv.Itoa(u)} }
	for d := range leaves {
		if err := cancelled(ctx, d); err != nil {
			return err
		}
		id, leaf := "d"+strconv.Itoa(d), firstLeaf+d
		reader := r.IntN(folderUsers)
		s.tuple("doc", id, "parent", "folder", f(leaf), "")
		s.tuple("doc", id, "reader", "user", "p"+strconv.Itoa(reader), "")
		if d%50 != 0 {
			continue
		}
		viewer := func(u int) bool {
			if u == reader {
				return true
			}
			for i := leaf; ; i = (i - 1) / folderFanout {
				if owner[i] == u {
					return true
				}
				if i == 0 {
					return false
				}
			}
		}
		obj := tuples.Object{Type: "doc", ID: id}
		s.query(Query{Kind: KindCheck, Label: "inherit_root", Object: obj, Relation: "viewer", Subject: uid(owner[0]),
			Expect: Expect{Known: true, Allowed: true}})
		u := r.IntN(folderUsers)
		s.query(Query{Kind: KindCheck, Label: "inherit_negative", Object: obj, Relation: "viewer", Subject: uid(u),
			Expect: Expect{Known: true, Allowed: viewer(u)}})
	}
	s.query(Query{Kind: KindResources, Label: "root_owner_docs", Subject: uid(owner[0]), Type: "doc", Relation: "viewer",
		Expect: Expect{Known: true, Count: leaves}})
	for range 10 {
		s.query(Query{Kind: KindSubjects, Label: "doc_viewers", Object: tuples.Object{Type: "doc", ID: "d" + strconv.Itoa(r.IntN(leaves))},
			Relation: "viewer", Type: "user"})
	}
	return nil
}

// wideSchema is a union of twenty relations minus a ban list.
func wideSchema() string {
	var rels, union strings.Builder
	for i := range wideWidth {
		fmt.Fprintf(&rels, "  relation r%d: user | group#member\n", i)
		if i > 0 {
			union.WriteString(" | ")
		}
		fmt.Fprintf(&union, "r%d", i)
	}
	return `// A wide union with an exclusion: twenty ways in, one way out.
type user

type group {
  relation member: user
}

type resource {
` + rels.String() + `  relation banned: user | group#member
  relation viewer = ` + union.String() + ` - banned
}
`
}

const wideWidth = 20

const (
	wideResources = 10000
	wideGroups    = 500
	wideUsers     = 2000
)

func genWide(ctx context.Context, spec Spec, s *sink) error {
	r := rand.New(rand.NewPCG(spec.Seed, 0x91de))
	members := make([][]int, wideGroups)
	for g := range wideGroups {
		for range 10 {
			u := r.IntN(wideUsers)
			members[g] = append(members[g], u)
			s.tuple("group", "g"+strconv.Itoa(g), "member", "user", "w"+strconv.Itoa(u), "")
		}
	}
	inGroup := func(u, g int) bool {
		for _, m := range members[g] {
			if m == u {
				return true
			}
		}
		return false
	}
	uid := func(u int) tuples.Subject { return tuples.Subject{Type: "user", ID: "w" + strconv.Itoa(u)} }
	for i := range wideResources {
		if err := cancelled(ctx, i); err != nil {
			return err
		}
		id := "r" + strconv.Itoa(i)
		var users, groups, banned []int
		var last int
		for range 3 {
			u, rel := r.IntN(wideUsers), r.IntN(wideWidth-1)
			users = append(users, u)
			s.tuple("resource", id, "r"+strconv.Itoa(rel), "user", "w"+strconv.Itoa(u), "")
		}
		g := r.IntN(wideGroups)
		groups = append(groups, g)
		s.tuple("resource", id, "r"+strconv.Itoa(r.IntN(wideWidth)), "group", "g"+strconv.Itoa(g), "member")
		// One user granted only by the last relation of the union.
		last = r.IntN(wideUsers)
		users = append(users, last)
		s.tuple("resource", id, "r"+strconv.Itoa(wideWidth-1), "user", "w"+strconv.Itoa(last), "")
		if r.IntN(10) < 3 {
			b := users[r.IntN(len(users))]
			banned = append(banned, b)
			s.tuple("resource", id, "banned", "user", "w"+strconv.Itoa(b), "")
		}
		if i%20 != 0 {
			continue
		}
		viewer := func(u int) bool {
			ok := false
			for _, x := range users {
				ok = ok || x == u
			}
			for _, g := range groups {
				ok = ok || inGroup(u, g)
			}
			for _, b := range banned {
				ok = ok && b != u
			}
			return ok
		}
		obj := tuples.Object{Type: "resource", ID: id}
		s.query(Query{Kind: KindCheck, Label: "wide_last", Object: obj, Relation: "viewer", Subject: uid(last),
			Expect: Expect{Known: true, Allowed: viewer(last)}})
		u := r.IntN(wideUsers)
		s.query(Query{Kind: KindCheck, Label: "wide_negative", Object: obj, Relation: "viewer", Subject: uid(u),
			Expect: Expect{Known: true, Allowed: viewer(u)}})
		if len(banned) > 0 {
			s.query(Query{Kind: KindCheck, Label: "wide_banned", Object: obj, Relation: "viewer", Subject: uid(banned[0]),
				Expect: Expect{Known: true, Allowed: viewer(banned[0])}})
		}
	}
	for range 10 {
		s.query(Query{Kind: KindResources, Label: "wide_resources", Subject: uid(r.IntN(wideUsers)), Type: "resource", Relation: "viewer"})
	}
	return nil
}
