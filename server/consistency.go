package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/tuples"
)

// Consistency tokens are opaque to clients: base64url of
// "dk1:STORE:REVISION". Naming the store lets a server refuse a token from
// another store instead of reading a revision number that means something
// else there.
const tokenPrefix = "dk1:"

// tokens encodes and decodes the consistency tokens of one store.
type tokens struct {
	store string
	// last is the token last encoded: nearly every answer carries the
	// latest revision's, which is then encoded once per revision rather
	// than once per answer. Nil encodes every time.
	last *atomic.Pointer[revisionToken]
}

type revisionToken struct {
	rev   tuples.Revision
	token string
}

func newTokens(store string) tokens {
	return tokens{store: store, last: new(atomic.Pointer[revisionToken])}
}

func (t tokens) encode(rev tuples.Revision) string {
	if t.last != nil {
		if l := t.last.Load(); l != nil && l.rev == rev {
			return l.token
		}
	}
	tok := base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + t.store + ":" + strconv.FormatUint(uint64(rev), 10)))
	if t.last != nil {
		t.last.Store(&revisionToken{rev: rev, token: tok})
	}
	return tok
}

func (t tokens) revision(rev tuples.Revision) *pb.Revision {
	return &pb.Revision{Token: t.encode(rev), Number: uint64(rev)}
}

// errForeignToken marks a well-formed token of another store.
var errForeignToken = errors.New("consistency token from another store")

// decode returns the revision a token names, refusing malformed tokens and
// those of other stores.
func (t tokens) decode(what, tok string) (tuples.Revision, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !strings.HasPrefix(string(b), tokenPrefix) {
		return 0, badInput("%s: %q is not a Docket consistency token; pass back a token a previous answer carried", what, tok)
	}
	rest := strings.TrimPrefix(string(b), tokenPrefix)
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return 0, badInput("%s: %q is not a Docket consistency token; pass back a token a previous answer carried", what, tok)
	}
	store, num := rest[:i], rest[i+1:]
	rev, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return 0, badInput("%s: %q is not a Docket consistency token; pass back a token a previous answer carried", what, tok)
	}
	if store != t.store {
		return 0, &inputError{msg: fmt.Sprintf("%s: the token names store %s, this server serves store %s; tokens are only valid on the store that issued them (%v)", what, store, t.store, errForeignToken)}
	}
	return tuples.Revision(rev), nil
}

// snapshot opens the snapshot a read's consistency asks for.
func (s *Server) snapshot(ctx context.Context, c *pb.Consistency) (tuples.Snapshot, error) {
	var rev tuples.Revision
	switch r := c.GetRequirement().(type) {
	case *pb.Consistency_MinimizeLatency:
		if s.shared {
			return s.recentSnapshot(ctx)
		}
	case nil, *pb.Consistency_FullyConsistent:
		// One server owns its store, so the latest revision is both the
		// freshest and the one its cache already holds answers for.
	case *pb.Consistency_AtLeastAsFresh:
		min, err := s.tokens.decode("consistency.at_least_as_fresh", r.AtLeastAsFresh)
		if err != nil {
			return nil, err
		}
		snap, err := s.open(ctx, 0)
		if err != nil {
			return nil, err
		}
		if snap.Revision() < min {
			snap.Close()
			return nil, fmt.Errorf("consistency.at_least_as_fresh: revision %d is newer than the latest, %d: %w", min, snap.Revision(), tuples.ErrFutureRevision)
		}
		return snap, nil
	case *pb.Consistency_AtExactSnapshot:
		exact, err := s.tokens.decode("consistency.at_exact_snapshot", r.AtExactSnapshot)
		if err != nil {
			return nil, err
		}
		if exact == 0 {
			// Revision 0 is "the latest" to the store: never an
			// exact snapshot.
			return nil, badInput("consistency.at_exact_snapshot: revision 0 holds nothing; pass the token of a write or an answer")
		}
		rev = exact
	}
	return s.open(ctx, rev)
}

// open takes a snapshot whose reads the metrics count.
func (s *Server) open(ctx context.Context, rev tuples.Revision) (tuples.Snapshot, error) {
	snap, err := s.store.Snapshot(ctx, rev)
	if err != nil {
		return nil, err
	}
	if ix, ok := snap.(tuples.GroupIndex); ok {
		return countingIndexedSnapshot{countingSnapshot: countingSnapshot{Snapshot: snap, m: s.metrics}, ix: ix}, nil
	}
	return countingSnapshot{Snapshot: snap, m: s.metrics}, nil
}

// recentSnapshot serves minimize_latency on a shared store: a revision
// learned within the refresh interval, which the store opens without
// asking the database for its latest and whose answers the checker's
// cache already holds, or else the latest, learned anew.
func (s *Server) recentSnapshot(ctx context.Context) (tuples.Snapshot, error) {
	s.recentMu.Lock()
	rev, fresh := s.recent, time.Since(s.recentAt) < s.refresh
	s.recentMu.Unlock()
	if rev > 0 && fresh {
		if snap, err := s.open(ctx, rev); err == nil {
			return snap, nil
		}
	}
	snap, err := s.open(ctx, 0)
	if err != nil {
		return nil, err
	}
	s.recentMu.Lock()
	if snap.Revision() >= s.recent {
		s.recent, s.recentAt = snap.Revision(), time.Now()
	}
	s.recentMu.Unlock()
	return snap, nil
}
