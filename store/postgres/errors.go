package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/docketdb/docket/errkind"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrUnavailable marks a failure to reach the datastore: the server is
// down, restarting, refusing connections or the connection broke. The
// request may be retried once the datastore is back; a write that failed
// this way may or may not have committed (its touches and deletes are
// safe to repeat).
var ErrUnavailable = errkind.ErrUnavailable

// ErrTimeout marks a statement the datastore cancelled at its timeout.
var ErrTimeout = errkind.ErrTimeout

// classify wraps a driver error with what was being done and, for the
// failures a caller handles alike whatever the statement, with
// ErrUnavailable or ErrTimeout.
func classify(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	if unavailable(err) {
		return fmt.Errorf("%s: %w (%v)", what, ErrUnavailable, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "57014" { // query_canceled: statement_timeout
		return fmt.Errorf("%s: %w (raise statement_timeout in the datastore URL if this is expected): %v", what, ErrTimeout, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// unavailable reports whether err means the datastore could not be
// reached or the connection to it broke.
func unavailable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"): // connection exception
			return true
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // shutdown, crash, cannot connect now
			return true
		case pe.Code == "53300": // too many connections
			return true
		}
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	// pgx reports a connection it closed after a network failure as
	// "conn closed"; the pool's own closure is ErrClosed of the store.
	return pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed")
}

// retryable reports whether a transaction failed only because it
// conflicted with another and should run again: serialization failures
// (40001; CockroachDB's retry errors are 40001 too), deadlocks (40P01)
// and CockroachDB's 40003 (statement completion unknown).
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", "40P01", "40003":
			return true
		}
	}
	return false
}
