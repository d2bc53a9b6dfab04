package gen

import (
	"context"
	"math/rand/v2"

	"github.com/docketdb/docket/tuples"
)

// anchorsSchema is the agency measured against OpenFGA when the membership
// index was designed: a case is visible to its assignee, to the members of
// the team it is assigned to (through every team nested below it), to its
// access list and to everyone when public, unless its deny list says no.
// Unlike the casebook, the team is a relation of the case itself, so a
// check reaches the team tree in one hop.
const anchorsSchema = `// Anchors-shaped agency: a case assigned to a worker and to a team.
type user {}

type team {
  // Teams nest: members of a child team are members of its parent.
  relation member: user | team#member
}

type case {
  relation assignee: user
  relation assignee_team: team
  relation access_list: user | team#member
  relation deny_list: user | team#member
  relation public: user:*

  relation viewer = assignee | assignee_team#member | access_list | public - deny_list
}
`

// Anchors proportions: 5k users in 300 teams, the teams a tree of fan-out
// 7 and depth 4 (1 + 7 + 49 + 243), and about 5.5 tuples a case, so that
// 560k tuples hold about 100k cases.
const (
	anUsers   = 5000
	anTeams   = 300
	anFanOut  = 7
	anPerCase = 5.52
	anSampled = 1000
)

// anchors is the staff and team tree, kept to know the answers.
type anchors struct {
	rng *rand.Rand
	staff
}

func genAnchors(ctx context.Context, spec Spec, s *sink) error {
	a := &anchors{rng: rand.New(rand.NewPCG(spec.Seed, 0xa4c405))}
	r := a.rng
	a.parent = make([]int, anTeams)
	a.level = make([]int, anTeams)
	a.parent[0] = -1
	for t := 1; t < anTeams; t++ {
		p := (t - 1) / anFanOut
		a.parent[t], a.level[t] = p, a.level[p]+1
		s.tuple("team", teamID(p), "member", "team", teamID(t), "member")
	}
	a.hire(s, r, anUsers, false)
	cases := max(1, int(float64(spec.Size-s.tuples)/anPerCase))
	return writeCases(ctx, spec, s, r, cases, anSampled, anUsers, func(i int, qr *rand.Rand) {
		c := a.genCase(s, i)
		if qr != nil {
			a.queries(s, &c, qr)
		}
	})
}

// anchorsCase is one case while it is being written.
type anchorsCase struct {
	id                     string
	assignee, team         int
	access, deny           []int
	accessTeams, denyTeams []int
	public                 bool
}

// genCase writes case i: the assignee and the team (2; the team is the
// assignee's home team or one of its ancestors, as a case belongs to a
// unit above the worker), 0-6 users on the access list (3 on average) and
// a team on it one time in five, a deny list on 30% of cases (usually a
// teammate who would otherwise see it, a team one time in twenty), public
// 2% of the time: 5.5 tuples on average.
func (a *anchors) genCase(s *sink, i int) anchorsCase {
	r := a.rng
	c := anchorsCase{id: caseID(i), assignee: r.IntN(anUsers)}
	c.team = a.home[c.assignee]
	for up := r.IntN(a.level[c.team] + 1); up > 0; up-- {
		c.team = a.parent[c.team]
	}
	s.tuple("case", c.id, "assignee", "user", userID(c.assignee), "")
	s.tuple("case", c.id, "assignee_team", "team", teamID(c.team), "")
	for range r.IntN(7) {
		u := r.IntN(anUsers)
		c.access = append(c.access, u)
		s.tuple("case", c.id, "access_list", "user", userID(u), "")
	}
	if r.IntN(5) == 0 {
		t := r.IntN(anTeams)
		c.accessTeams = append(c.accessTeams, t)
		s.tuple("case", c.id, "access_list", "team", teamID(t), "member")
	}
	if r.IntN(10) < 3 {
		if r.IntN(20) == 0 {
			t := r.IntN(anTeams)
			c.denyTeams = append(c.denyTeams, t)
			s.tuple("case", c.id, "deny_list", "team", teamID(t), "member")
		} else {
			u := a.teammate(&c)
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

// teammate picks a user of the case's team (its own members or those of a
// team below it), or anyone when the team has nobody else.
func (a *anchors) teammate(c *anchorsCase) int {
	r := a.rng
	for range 20 {
		u := r.IntN(anUsers)
		if u != c.assignee && a.inTeam(u, c.team) {
			return u
		}
	}
	if us := a.under[c.team]; len(us) > 0 {
		return us[r.IntN(len(us))]
	}
	return r.IntN(anUsers)
}

func (a *anchors) granted(c *anchorsCase, u int) bool {
	return c.public || u == c.assignee || a.inTeam(u, c.team) || listed(u, c.access, c.accessTeams, a.inTeam)
}

func (a *anchors) denied(c *anchorsCase, u int) bool { return listed(u, c.deny, c.denyTeams, a.inTeam) }

func (a *anchors) viewer(c *anchorsCase, u int) bool { return a.granted(c, u) && !a.denied(c, u) }

// queries writes the check-list entries of a case, its picks drawn from
// r, with the kinds of the anchors measurement: the assignee (direct), a
// member of a team 1-3 levels below the case's team (nested), a
// deny-listed teammate (deny) and someone with no grant at all (negative).
func (a *anchors) queries(s *sink, c *anchorsCase, r *rand.Rand) {
	obj := tuples.Object{Type: "case", ID: c.id}
	check := func(label string, u int) { s.viewerCheck(label, obj, u, a.viewer(c, u)) }
	check("direct", c.assignee)
	if us := a.under[c.team]; len(us) > 0 {
		for range 20 {
			u := us[r.IntN(len(us))]
			if u != c.assignee {
				check("nested", u)
				break
			}
		}
	}
	if len(c.deny) > 0 {
		check("deny", c.deny[0])
	}
	for range 20 {
		if u := r.IntN(anUsers); !a.granted(c, u) {
			check("negative", u)
			break
		}
	}
}
