package server

import (
	"context"
	"errors"
	"time"

	"github.com/docketdb/docket/errkind"
	"github.com/docketdb/docket/store"
)

// collectExpired deletes, every s.expiredEvery until ctx ends, the tuples
// that expired more than s.expiredKeep ago, each pass in one revision,
// when the store removes expired tuples (store.Collector). Reads at a
// clock after the cut answer as before: those tuples were already
// invisible to them; only a query whose `now` is older than the cut sees
// fewer tuples at the revisions after a pass.
func (s *Server) collectExpired(ctx context.Context) {
	c, ok := s.store.(store.Collector)
	if !ok || s.expiredEvery <= 0 {
		return
	}
	s.every(ctx, s.expiredEvery, func() {
		before := time.Now().Add(-s.expiredKeep)
		rev, n, err := c.CollectExpired(ctx, before)
		switch {
		case errors.Is(err, errkind.ErrNoSchema), ctx.Err() != nil:
			// Nothing can have expired without a schema; a pass cut off
			// by shutdown is retried by the next server.
		case err != nil:
			s.log.Warn("expired tuples not deleted; the next pass tries again", "error", err.Error())
		case n > 0:
			s.wrote()
			s.log.Info("deleted expired tuples", "deleted", n, "revision", uint64(rev), "expired_before", before.UTC().Format(time.RFC3339))
		}
	})
}

// every calls fn each period until ctx ends or the server stops.
func (s *Server) every(ctx context.Context, period time.Duration, fn func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.stopping:
			return
		case <-t.C:
		}
		fn()
	}
}
