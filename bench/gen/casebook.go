package gen

import (
	"context"
	"math/rand/v2"
	"strconv"

	"github.com/docketdb/docket/internal/fixture"
	"github.com/docketdb/docket/tuples"
)

// casebookSchema is the agency model of the schema-language design: who may
// see a case, with nested teams, access and deny lists and public cases.
const casebookSchema = fixture.Casebook

// Casebook proportions: about 100k cases per million tuples, a fixed
// staff of 5k users in 300 teams nested up to four deep.
const (
	cbUsers     = 5000
	cbTeams     = 300
	cbTeamRoots = 12
	cbMaxLevel  = 4 // a root is level 0; four nestings below it
	// cbPerCase is the mean number of tuples a case gets (see genCase).
	cbPerCase = 9.8
	// cbSampled is about how many cases get queries in the check list.
	cbSampled = 1000
)

// casebook is the part of the agency kept in memory to know answers: the
// staff and the team tree. Cases are streamed and forgotten.
type casebook struct {
	rng *rand.Rand
	staff
}

// staff is an agency's users and team tree, as the agency shapes keep it
// to know their answers.
type staff struct {
	parent []int // team -> parent team, -1 for roots
	level  []int
	home   []int      // user -> home team
	member [][]uint64 // user -> bitset of teams the user is a member of, through nesting
	// under[t]: users whose home team is a strict descendant of t.
	under [][]int
}

func (st *staff) inTeam(u, t int) bool { return st.member[u][t/64]&(1<<(t%64)) != 0 }

func (st *staff) join(u, t int) {
	for ; t >= 0; t = st.parent[t] {
		st.member[u][t/64] |= 1 << (t % 64)
	}
}

// hire gives each of users a random home team of the tree in st.parent
// (one in ten a second team too) and writes the memberships; withTeam also
// writes the user's own user#team tuple.
func (st *staff) hire(s *sink, r *rand.Rand, users int, withTeam bool) {
	teams := len(st.parent)
	words := (teams + 63) / 64
	st.home = make([]int, users)
	st.member = make([][]uint64, users)
	st.under = make([][]int, teams)
	for u := range users {
		st.member[u] = make([]uint64, words)
		h := r.IntN(teams)
		st.home[u] = h
		st.join(u, h)
		for p := st.parent[h]; p >= 0; p = st.parent[p] {
			st.under[p] = append(st.under[p], u)
		}
		if withTeam {
			s.tuple("user", userID(u), "team", "team", teamID(h), "")
		}
		s.tuple("team", teamID(h), "member", "user", userID(u), "")
		if r.IntN(10) == 0 { // one in ten also sits on a second team
			if e := r.IntN(teams); e != h {
				st.join(u, e)
				s.tuple("team", teamID(e), "member", "user", userID(u), "")
			}
		}
	}
}

func userID(i int) string { return "u" + strconv.Itoa(i) }
func teamID(i int) string { return "t" + strconv.Itoa(i) }
func caseID(i int) string { return "c" + strconv.Itoa(i) }

func genCasebook(ctx context.Context, spec Spec, s *sink) error {
	cb := &casebook{rng: rand.New(rand.NewPCG(spec.Seed, 0xca5eb00c))}
	r := cb.rng
	// Team forest: roots first, then each team under a random earlier team
	// that still has room below it.
	cb.parent = make([]int, cbTeams)
	cb.level = make([]int, cbTeams)
	for t := range cbTeams {
		cb.parent[t] = -1
		if t < cbTeamRoots {
			continue
		}
		p := r.IntN(t)
		for cb.level[p] >= cbMaxLevel {
			p = cb.parent[p]
		}
		cb.parent[t], cb.level[t] = p, cb.level[p]+1
		s.tuple("team", teamID(p), "member", "team", teamID(t), "member")
	}
	cb.hire(s, r, cbUsers, true)
	cases := int(float64(spec.Size-s.tuples) / cbPerCase)
	if cases < 1 {
		cases = 1
	}
	return writeCases(ctx, spec, s, r, cases, cbSampled, cbUsers, func(i int, qr *rand.Rand) {
		c := cb.genCase(s, i)
		if qr != nil {
			cb.queries(s, &c, qr)
		}
	})
}

// writeCases writes n cases with write, asking it for the queries of
// about sampled of them, evenly spread, drawn from r (write gets a nil
// random stream for a case without queries), then adds the lookups the
// engines are compared on: the cases of 20 random users among users, and
// the viewers of 50 sampled cases. With spec.AllCases every other case's
// queries are drawn from a stream of their own and written last, after a
// lookup of the cases of every other user and of the viewers of every
// other case.
func writeCases(ctx context.Context, spec Spec, s *sink, r *rand.Rand, n, sampled, users int, write func(i int, qr *rand.Rand)) error {
	step := max(1, n/sampled)
	var xr *rand.Rand
	if spec.AllCases {
		xr = rand.New(rand.NewPCG(spec.Seed, 0xa11ca5e5))
	}
	for i := range n {
		if err := cancelled(ctx, i); err != nil {
			return err
		}
		switch {
		case i%step == 0:
			write(i, r)
		case xr != nil:
			s.deferring = true
			write(i, xr)
			s.deferring = false
		default:
			write(i, nil)
		}
	}
	cases := func(u int) Query {
		return Query{Kind: KindResources, Label: "cases_of_user", Subject: user(u), Type: "case", Relation: "viewer"}
	}
	viewers := func(i int) Query {
		return Query{Kind: KindSubjects, Label: "viewers_of_case", Object: tuples.Object{Type: "case", ID: caseID(i)}, Relation: "viewer", Type: "user"}
	}
	asked := map[int]bool{}
	for range 20 {
		u := r.IntN(users)
		asked[u] = true
		s.query(cases(u))
	}
	for i := 0; i < n && i < 50*step; i += step {
		s.query(viewers(i))
	}
	if xr == nil {
		return nil
	}
	for _, u := range xr.Perm(users) {
		if !asked[u] {
			s.query(cases(u))
		}
	}
	for _, i := range xr.Perm(n) {
		if i%step != 0 || i >= 50*step {
			s.query(viewers(i))
		}
	}
	for _, q := range s.later {
		s.query(q)
	}
	s.later = nil
	return nil
}

func user(u int) tuples.Subject { return tuples.Subject{Type: "user", ID: userID(u)} }

// kase is one case while it is being written.
type kase struct {
	id                     string
	creator, assignee      int
	access, deny           []int // users
	accessTeams, denyTeams []int
	public                 bool
}

// genCase writes case i: creator and assignee (2), 0-12 users and 0-2
// teams on the access list (7 on average), a deny list on 40% of cases
// (0.8 on average), public 2% of the time: 9.8 tuples on average.
func (cb *casebook) genCase(s *sink, i int) kase {
	r := cb.rng
	c := kase{id: caseID(i), creator: r.IntN(cbUsers), assignee: r.IntN(cbUsers)}
	s.tuple("case", c.id, "creator", "user", userID(c.creator), "")
	s.tuple("case", c.id, "assignee", "user", userID(c.assignee), "")
	for range r.IntN(13) {
		u := r.IntN(cbUsers)
		c.access = append(c.access, u)
		s.tuple("case", c.id, "access_list", "user", userID(u), "")
	}
	for range r.IntN(3) {
		t := r.IntN(cbTeams)
		c.accessTeams = append(c.accessTeams, t)
		s.tuple("case", c.id, "access_list", "team", teamID(t), "member")
	}
	if r.IntN(5) < 2 {
		for range 1 + r.IntN(3) {
			// Deny a team rarely: a whole team locked out is the exception.
			if r.IntN(10) == 0 {
				t := r.IntN(cbTeams)
				c.denyTeams = append(c.denyTeams, t)
				s.tuple("case", c.id, "deny_list", "team", teamID(t), "member")
				continue
			}
			// Usually deny someone who would otherwise see the case.
			u := r.IntN(cbUsers)
			if len(c.access) > 0 && r.IntN(2) == 0 {
				u = c.access[r.IntN(len(c.access))]
			}
			c.deny = append(c.deny, u)
			s.tuple("case", c.id, "deny_list", "user", userID(u), "")
		}
	}
	if r.IntN(50) == 0 {
		c.public = true
		s.tuple("case", c.id, "public", "user", "*", "")
	}
	return c
}

// granted is the base of viewer, before the deny list.
func (cb *casebook) granted(c *kase, u int) bool {
	return c.public || u == c.creator || u == c.assignee || cb.inTeam(u, cb.home[c.assignee]) ||
		listed(u, c.access, c.accessTeams, cb.inTeam)
}

func (cb *casebook) denied(c *kase, u int) bool { return listed(u, c.deny, c.denyTeams, cb.inTeam) }

// listed reports whether user u is on a list of users and teams, directly
// or through a team (inTeam says who is in a team, nesting included).
func listed(u int, users, teams []int, inTeam func(u, t int) bool) bool {
	for _, x := range users {
		if x == u {
			return true
		}
	}
	for _, t := range teams {
		if inTeam(u, t) {
			return true
		}
	}
	return false
}

func (cb *casebook) viewer(c *kase, u int) bool { return cb.granted(c, u) && !cb.denied(c, u) }

// queries writes the check-list entries of a case, its picks drawn from r.
// Labels name the
// path a query is meant to take; the expected answer always comes from the
// model, whatever path the data happened to give.
func (cb *casebook) queries(s *sink, c *kase, r *rand.Rand) {
	obj := tuples.Object{Type: "case", ID: c.id}
	check := func(label string, u int) { s.viewerCheck(label, obj, u, cb.viewer(c, u)) }
	check("direct", c.assignee)
	// Nested: a user who reaches an access-list team only through nesting.
	if len(c.accessTeams) > 0 {
		t := c.accessTeams[r.IntN(len(c.accessTeams))]
		if us := cb.under[t]; len(us) > 0 {
			check("nested", us[r.IntN(len(us))])
		}
	}
	// Negative: someone with no grant at all, so every branch is walked.
	for range 20 {
		u := r.IntN(cbUsers)
		if !cb.granted(c, u) {
			check("negative", u)
			break
		}
	}
	if len(c.deny) > 0 {
		check("deny", c.deny[r.IntN(len(c.deny))])
	}
	// editor = (assignee | access_list) & viewer: an intersection.
	if len(c.access) > 0 {
		u := c.access[r.IntN(len(c.access))]
		s.query(Query{Kind: KindCheck, Label: "intersect", Object: obj, Relation: "editor", Subject: user(u),
			Expect: Expect{Known: true, Allowed: cb.viewer(c, u)}})
	}
}
