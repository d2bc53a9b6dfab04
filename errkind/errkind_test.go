package errkind

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		kind Kind
		grpc Code
		http int
	}{
		{fmt.Errorf("write: %w", ErrExists), AlreadyExists, 6, http.StatusConflict},
		{fmt.Errorf("snapshot: %w", ErrRevisionGone), FailedPrecondition, 9, http.StatusPreconditionFailed},
		{fmt.Errorf("snapshot: %w", ErrFutureRevision), OutOfRange, 11, http.StatusBadRequest},
		{ErrUnknownName, InvalidArgument, 3, http.StatusBadRequest},
		{ErrNoSchema, FailedPrecondition, 9, http.StatusPreconditionFailed},
		{ErrLocked, Unavailable, 14, http.StatusServiceUnavailable},
		{ErrDepth, ResourceExhausted, 8, http.StatusTooManyRequests},
		{fmt.Errorf("read: %w", context.DeadlineExceeded), DeadlineExceeded, 4, http.StatusGatewayTimeout},
		{context.Canceled, Canceled, 1, 499},
		{errors.New("disk on fire"), Internal, 13, http.StatusInternalServerError},
		{nil, Internal, 13, http.StatusInternalServerError},
	} {
		k := Of(c.err)
		st := k.Status()
		if k != c.kind || st.GRPC != c.grpc || st.HTTP != c.http {
			t.Errorf("%v: kind %s (gRPC %d, HTTP %d), want %s (%d, %d)", c.err, k, st.GRPC, st.HTTP, c.kind, c.grpc, c.http)
		}
		if st.Exit != ExitFailure {
			t.Errorf("%v: exit %d, want %d: every failure to answer exits %d", c.err, st.Exit, ExitFailure, ExitFailure)
		}
	}
	// Every kind has a status of its own name.
	seen := map[string]bool{}
	for k := Internal; k <= DeadlineExceeded; k++ {
		if name := k.String(); name == "" || seen[name] {
			t.Errorf("kind %d: name %q", k, name)
		} else {
			seen[name] = true
		}
	}
	if Kind(200).Status() != Internal.Status() {
		t.Error("an unknown kind is not internal")
	}
}
