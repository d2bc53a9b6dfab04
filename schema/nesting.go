package schema

// Nesting reports whether r is a nesting relation: a stored relation
// whose only subject sets are of itself, like `team#member: user |
// team#member`, so that groups hold groups.
func (r *Relation) Nesting() bool {
	return r.Stored && len(r.SubjectSets) == 1 && r.SubjectSets[0] == r
}

// GroupIndexed reports whether the stores keep a membership index of r:
// r nests, and none of its subjects may carry a condition or an expiry.
// A conditional or expiring membership is a member only for some
// requests or until some time, which a precomputed reachability cannot
// say; such a relation is left to the checker's walk.
func (r *Relation) GroupIndexed() bool {
	if !r.Nesting() {
		return false
	}
	for _, a := range r.Allowed {
		if a.Condition != nil || a.Expiration {
			return false
		}
	}
	return true
}

// NestingCounted reports whether the stores keep counts of r's subject
// sets (tuples.NestingCounts): r nests, and its subject sets cannot
// expire, so a count of them stays true until a write changes it (an
// expired subject set would leave the count at the next clock tick).
func (r *Relation) NestingCounted() bool {
	if !r.Nesting() {
		return false
	}
	for _, a := range r.Allowed {
		if a.Relation == r && a.Expiration {
			return false
		}
	}
	return true
}
