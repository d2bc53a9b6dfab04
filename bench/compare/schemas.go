package main

// The schemas of bench/gen's agency shapes, written for each peer.

// peerSchemas holds, for each shape compare runs, the OpenFGA model and the
// SpiceDB schema equivalent to Docket's schema of that shape.
var peerSchemas = map[string]struct{ openfga, spicedb string }{
	"casebook": {openfgaModel, spicedbSchema},
	"anchors":  {openfgaAnchorsModel, spicedbAnchorsSchema},
}

// The casebook. OpenFGA has no
// multi-hop path, so `assignee.team#member` becomes a helper relation on
// user (team_member) reached with `from assignee`; SpiceDB does the same
// with a permission and an arrow.

const openfgaModel = `model
  schema 1.1

type user
  relations
    define team: [team]
    define team_member: member from team

type team
  relations
    define member: [user, team#member]

type case
  relations
    define creator: [user]
    define assignee: [user]
    define access_list: [user, team#member]
    define deny_list: [user, team#member]
    define public: [user:*]
    define viewer: (creator or assignee or team_member from assignee or access_list or public) but not deny_list
    define editor: (assignee or access_list) and viewer
`

const spicedbSchema = `definition user {
  relation team: team
  permission team_member = team->member
}

definition team {
  relation member: user | team#member
}

definition case {
  relation creator: user
  relation assignee: user
  relation access_list: user | team#member
  relation deny_list: user | team#member
  relation public: user:*
  permission viewer = (creator + assignee + assignee->team_member + access_list + public) - deny_list
  permission editor = (assignee + access_list) & viewer
}
`

// The anchors shape: one hop from the case to its team, so both peers say
// it directly (`member from assignee_team`, `assignee_team->member`).
const openfgaAnchorsModel = `model
  schema 1.1

type user

type team
  relations
    define member: [user, team#member]

type case
  relations
    define assignee: [user]
    define assignee_team: [team]
    define access_list: [user, team#member]
    define deny_list: [user, team#member]
    define public: [user:*]
    define viewer: (assignee or member from assignee_team or access_list or public) but not deny_list
`

const spicedbAnchorsSchema = `definition user {}

definition team {
  relation member: user | team#member
}

definition case {
  relation assignee: user
  relation assignee_team: team
  relation access_list: user | team#member
  relation deny_list: user | team#member
  relation public: user:*
  permission viewer = (assignee + assignee_team->member + access_list + public) - deny_list
}
`
