package tuples

import (
	"context"
	"fmt"
)

// GroupAbove is one group above another in a nesting relation: the
// group ID holds the other through Chain subject sets in a row (1: it
// stores the other group's subject set itself), Chain being the shortest
// such chain.
type GroupAbove struct {
	ID    string
	Chain int
}

// GroupIndex is what a snapshot that keeps a membership index of nesting
// relations (`team#member: user | team#member`) offers: for a group, every
// group above it, as maintained in the same revision as the tuples it is
// derived from.
type GroupIndex interface {
	// GroupsAbove returns the groups of group's type whose relation holds
	// group#relation through one or more subject sets, each with the
	// shortest chain; a group is not above itself unless a cycle leads
	// back to it, and then is left out too. indexed is false when the
	// snapshot keeps no index of the relation, or group is above the
	// index's bound: the caller walks the tuples instead.
	GroupsAbove(ctx context.Context, group Object, relation string) (above []GroupAbove, indexed bool, err error)
}

// GroupIndexBatch is a GroupIndex that reads the rows of several groups
// in one step, which a networked store answers in one round trip instead
// of one per group.
type GroupIndexBatch interface {
	// GroupsAboveEach is GroupsAbove for each of groups, all of one type,
	// rows[i] answering groups[i]; indexed is false when any of them
	// could not be answered from the index (rows is then nil).
	GroupsAboveEach(ctx context.Context, groups []Object, relation string) (rows [][]GroupAbove, indexed bool, err error)
}

// MembershipReader is what a snapshot offers whose membership index
// answers a subject's memberships whole, as an index held in memory does:
// one call instead of a read of the subject's groups and one of the
// index rows above them.
type MembershipReader interface {
	// Memberships returns every group of typ whose relation holds any of
	// subjects, directly or through subject sets, each with the shortest
	// chain of subject sets from it down to a group storing one of them
	// (0: it stores one itself). ok is false, and nothing returned, when
	// the snapshot cannot answer exactly or the groups number more than
	// bound: the caller reads level by level instead.
	Memberships(ctx context.Context, subjects []Subject, typ, relation string, bound int) (groups []GroupAbove, ok bool, err error)
}

// GroupsBelowReader is what a snapshot offers whose membership index can
// also be read downwards, from a group to the groups below it: the
// subjects stored in groups and in every group below them, in one step,
// which a networked store answers in one round trip instead of one per
// level of nesting.
type GroupsBelowReader interface {
	// SubjectsWithBelow returns the subjects stored in relation on each
	// of groups (all of one type) and on every group the index of
	// relation lists below any of them, by group, each group's in the
	// order Subjects yields them; every group read has an entry, empty
	// when it stores nothing. Below groups the index cannot list (it is
	// not maintained, or a group is over its bound) are left out, so a
	// caller reads any group it meets without an entry itself. ok is
	// false, and nothing read, when the snapshot cannot read its index
	// downwards (a wrapper of a store that does not).
	SubjectsWithBelow(ctx context.Context, groups []Object, relation string) (subjects map[Object][]Subject, ok bool, err error)
}

// GroupsAboveEach reads the rows of groups from gi in one step where it
// is a GroupIndexBatch, else group by group; indexed is false, and rows
// nil, when any group could not be answered from the index.
func GroupsAboveEach(ctx context.Context, gi GroupIndex, groups []Object, relation string) (rows [][]GroupAbove, indexed bool, err error) {
	if b, ok := gi.(GroupIndexBatch); ok && len(groups) > 1 {
		return b.GroupsAboveEach(ctx, groups, relation)
	}
	rows = make([][]GroupAbove, len(groups))
	for i, g := range groups {
		row, ok, err := gi.GroupsAbove(ctx, g, relation)
		if err != nil {
			return nil, false, fmt.Errorf("group %s: %w", g, err)
		}
		if !ok {
			return nil, false, nil
		}
		rows[i] = row
	}
	return rows, true, nil
}

// NestingCounts are the counts a store keeps of one nesting relation's
// subject sets (the groups stored inside groups), in the same revision
// as the tuples: enough for a walk to tell which way is cheaper, down
// from a group or up from a subject's groups, before it reads either.
type NestingCounts struct {
	// Sets counts the stored subject sets of the relation on its own
	// type (team:a#member@team:b#member).
	Sets int64
	// Parents counts the groups that store at least one subject set,
	// Children the groups stored as a subject set in at least one group.
	Parents, Children int64
}

// Down is the mean number of subject sets a group with any stores: how
// many groups one step down from a group reads.
func (c NestingCounts) Down() float64 {
	if c.Parents == 0 {
		return 0
	}
	return float64(c.Sets) / float64(c.Parents)
}

// Up is the mean number of groups storing a group stored in any: how
// many groups one step up from a group reads.
func (c NestingCounts) Up() float64 {
	if c.Children == 0 {
		return 0
	}
	return float64(c.Sets) / float64(c.Children)
}

// NestingCounter is what a snapshot of a store that keeps NestingCounts
// offers.
type NestingCounter interface {
	// NestingCounts returns the counts of typ#relation at the snapshot's
	// revision; kept is false when the store keeps none for it.
	NestingCounts(ctx context.Context, typ, relation string) (c NestingCounts, kept bool, err error)
}
