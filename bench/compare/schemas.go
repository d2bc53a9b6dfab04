package main

// The casebook schema of bench/gen, written for each engine. OpenFGA has no
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
