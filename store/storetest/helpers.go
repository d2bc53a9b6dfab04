package storetest

import (
	"context"
	"testing"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// Helpers for a backend's own tests, on the suite's schema and fixture.

// Schema is the schema every test writes.
const Schema = testSchema

// Fixture returns the tuples most tests start from, in text form.
func Fixture() []string { return append([]string(nil), fixture...) }

// FixtureInput returns an import input of n tuples of every form, with
// comments and blank lines.
func FixtureInput(n int) string { return fixtureInput(n) }

// Setup writes Schema and then lines, touched, and returns the revision.
func Setup(t *testing.T, ctx context.Context, s store.Store, lines ...string) tuples.Revision {
	t.Helper()
	return setup(t, ctx, s, lines...)
}

// Write writes lines with kind in one batch and returns the revision.
func Write(t *testing.T, ctx context.Context, s store.Store, kind tuples.OpKind, lines ...string) tuples.Revision {
	t.Helper()
	return write(t, ctx, s, kind, lines...)
}

// Snap opens a snapshot at rev that the test closes when it ends.
func Snap(t *testing.T, ctx context.Context, s store.Store, rev tuples.Revision) tuples.Snapshot {
	t.Helper()
	return snap(t, ctx, s, rev)
}

// Has reports whether the tuple in text form is stored in sn.
func Has(t *testing.T, ctx context.Context, sn tuples.Snapshot, tuple string) bool {
	t.Helper()
	return has(t, ctx, sn, tuple)
}

// All returns every tuple of sn matching f, in text form, sorted.
func All(t *testing.T, ctx context.Context, sn tuples.Snapshot, f tuples.Filter) []string {
	t.Helper()
	return all(t, ctx, sn, f)
}

// MustParse parses a tuple or fails the test.
func MustParse(t testing.TB, s string) tuples.Tuple {
	t.Helper()
	return mustParse(t, s)
}

// State is what a failed write must leave as it was: the revision, the
// tuples and the change log.
type State struct{ s state }

// StateOf reads s's State at the latest revision.
func StateOf(t *testing.T, ctx context.Context, s store.Store) State {
	t.Helper()
	return State{stateOf(t, ctx, s)}
}

// Equal reports whether two states are the same.
func (a State) Equal(b State) bool { return a.s.equal(b.s) }

// Revision is the state's revision.
func (a State) Revision() tuples.Revision { return a.s.rev }

// Tuples are the state's tuples in text form.
func (a State) Tuples() []string { return a.s.tuples }

// Changes is the state's change log.
func (a State) Changes() []tuples.Change { return a.s.changes }
