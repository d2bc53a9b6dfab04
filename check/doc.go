// Package check answers Zanzibar's questions over a tuples.Snapshot: does a
// subject hold a relation on an object (Check, CheckBatch), which objects
// does a subject reach (LookupResources), and who holds a relation on an
// object (LookupSubjects).
//
// # Membership
//
// Members of a userset are objects (user:ana), wildcards (user:*) and
// subject sets (team:east#member). A subject set is always a member of
// itself. A stored relation holds a subject when the exact tuple is
// stored, when the subject is a plain object and its type's wildcard is
// stored, or when a subject set stored in it holds the subject. A wildcard
// asked about holds only where the wildcard itself is granted, never
// because some particular object is.
//
// # Loops and unknowns
//
// A node (object, relation, subject) met again on its own path answers
// unknown, and answers combine by Kleene's three-valued logic. Definite
// answers are memoized for the rest of the query: a definite answer
// reached while some node was unknown holds whatever that node turns out
// to be. Where the last loop through a node closes (no unknown below it
// refers to a node above it) and no unknown passed through the subtracted
// side of an exclusion, the loops are purely positive: nothing outside
// them grants the subject, so the node is false (the least fixpoint), a
// final answer. A loop through an exclusion (`viewer = direct -
// restricted` with doc:1#restricted@doc:1#viewer) has no such answer; it
// stays unknown up to the query, which denies. Unknown answers are never
// memoized or cached.
//
// # Costs
//
// Before reading, a node is refused when the schema says the subject's
// type, wildcard or subject set can never reach the relation. Once per
// schema, every expression is given an estimated cost from its shape (a
// relation of direct subjects is one or two reads; subject sets, arrows
// and relations that reach themselves cost more), and operands are tried
// cheapest first: a union stops at the first true, an intersection at
// the first false, and an exclusion at a false base or a true subtracted
// side, whichever side is cheaper going first. So a subject on a deny
// list of direct subjects is denied after one read. The order never
// changes an answer, unknowns included. A walk deeper than
// Options.MaxDepth fails with a DepthError naming the path.
//
// # Conditions and lookups
//
// Tuples may carry a condition and an expiry: a check's Result is then
// allowed, denied, or Conditional with the Missing parameters (see
// Result and conditions.go). The lookups answer the same four values per
// member. LookupResources and LookupSubjects report the members a check
// allows, leaving conditional ones out (a conditional answer is not
// allowed). LookupResourceResults yields a ResourceResult per object,
// in order of id, and LookupSubjectResults returns SubjectResults:
// each a member for certain, or Conditional with the Missing parameters
// a check of it reports; limits and cursors count both kinds. Both take
// ResourceQuery.RequestContext / SubjectQuery.RequestContext, merged
// under each tuple's stored context as a check's is, and answer at the
// snapshot's clock. Lookups and checks agree exactly, missing lists
// included (lookup_conditions.go).
//
// Definite answers to whole queries are kept in a bounded cache keyed by
// the snapshot's schema and revision; queries with contextual tuples
// bypass it.
package check
