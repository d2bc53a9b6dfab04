package store

import (
	"context"
	"fmt"
	"time"

	"github.com/docketdb/docket/tuples"
)

// Collector is implemented by stores that remove expired tuples
// physically (Store over a Backend does).
type Collector interface {
	// CollectExpired deletes, in one revision, every tuple whose expiry
	// is at or before before, and reports the revision and how many it
	// deleted; with none to delete it writes no revision. Reads at a
	// clock at or after before answer as they did: those tuples were
	// invisible to them already. Snapshots of earlier revisions keep
	// them, as they keep every deleted tuple.
	CollectExpired(ctx context.Context, before time.Time) (tuples.Revision, int, error)
}

func (s *store) CollectExpired(ctx context.Context, before time.Time) (tuples.Revision, int, error) {
	if before.IsZero() {
		return 0, 0, fmt.Errorf("collect expired tuples: no clock given")
	}
	var n int
	// The zero clock makes the transaction's reads raw: they see the
	// expired tuples, which is what is to be found.
	ctx = tuples.WithClock(ctx, time.Time{})
	c, err := s.b.Update(ctx, func(ctx context.Context, tx Txn) error {
		sch, err := s.writable(ctx, tx)
		if err != nil {
			return err
		}
		var changes []tuples.Change
		// Only relations that allow an expiry can hold one.
		for _, r := range sch.Relations {
			expiring := false
			for _, a := range r.Allowed {
				expiring = expiring || a.Expiration
			}
			if !r.Stored || !expiring {
				continue
			}
			f := tuples.Filter{ObjectType: r.Type.Name, Relation: r.Name}
			cursor := ""
			for {
				ts, next, err := tx.Read(ctx, f, cursor, 10000)
				if err != nil {
					return err
				}
				for _, t := range ts {
					if t.Payload.ExpiredAt(before) {
						changes = append(changes, tuples.Change{Kind: tuples.ChangeDelete, Tuple: t.Key().Tuple()})
					}
				}
				if next == "" {
					break
				}
				cursor = next
			}
		}
		n = len(changes)
		if n == 0 {
			return ErrNoCommit
		}
		tx.Write(changes)
		// Deletions like any other: the membership index keeps no edge
		// of a tuple that is gone.
		return maintainIndex(ctx, s.index, tx, sch, changes)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("collect expired tuples: %w", err)
	}
	return c.Revision, n, nil
}
