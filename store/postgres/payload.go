package postgres

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/docketdb/docket/tuples"
)

// Unix nanoseconds cover the years 1678 to 2262; an expiry beyond them is
// clamped, which orders it the same against every clock within them.
var (
	minNanos = time.Unix(0, math.MinInt64+1)
	maxNanos = time.Unix(0, math.MaxInt64)
)

func clampNanos(t time.Time) int64 {
	switch {
	case t.Before(minNanos):
		return math.MinInt64 + 1
	case t.After(maxNanos):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// expiresAt is the expires_at column of p: nil for no expiry.
func expiresAt(p tuples.Payload) *int64 {
	if p.Expires.IsZero() {
		return nil
	}
	n := clampNanos(p.Expires)
	return &n
}

// clockNanos is the clock a reader hides expired rows by, compared with
// expires_at: a request without a clock (or the zero clock, which
// collecting expired tuples reads by) sees every row.
func clockNanos(ctx context.Context) int64 {
	now, ok := tuples.ClockFrom(ctx)
	if !ok || now.IsZero() {
		return math.MinInt64
	}
	return clampNanos(now)
}

// unexpired is the predicate of the rows not expired at the clock in
// parameter n; unexpiredT is it for a table aliased t.
func unexpired(n int) string {
	return fmt.Sprintf(" AND (expires_at IS NULL OR expires_at > $%d)", n)
}

func unexpiredT(n int) string {
	return fmt.Sprintf(" AND (t.expires_at IS NULL OR t.expires_at > $%d)", n)
}

// decodePayload reads a payload column into t.
func decodePayload(t *tuples.Tuple, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	p, err := tuples.DecodePayload(b)
	if err != nil {
		return fmt.Errorf("the stored payload of %s is corrupt: %w", t.Key(), err)
	}
	t.Payload = p
	return nil
}
