package server

import (
	"context"
	"errors"
	"fmt"
	"github.com/docketdb/docket/errkind"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/expand"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// inputError is a request the caller must change: a malformed field, a
// name the schema does not have, a limit exceeded. Its message says what
// and where, with a hint when there is one.
type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }

func badInput(format string, args ...any) error {
	return &inputError{msg: fmt.Sprintf(format, args...)}
}

// limitError is a request over one of the server's limits.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

func overLimit(format string, args ...any) error {
	return &limitError{msg: fmt.Sprintf(format, args...)}
}

// codeOf maps an error to the code the caller sees. Everything not named
// here is Internal: the server's fault, logged in full.
func codeOf(err error) connect.Code {
	var (
		in    *inputError
		lim   *limitError
		val   *tuples.ValidationError
		parse *tuples.ParseError
		imp   *store.InputError
		diags schema.ErrorList
		depth *check.DepthError
		ce    *connect.Error
	)
	switch {
	case errors.As(err, &ce):
		return ce.Code()
	case errors.Is(err, context.Canceled):
		return connect.CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return connect.CodeDeadlineExceeded
	case errors.As(err, &in), errors.As(err, &val), errors.As(err, &parse), errors.As(err, &imp), errors.As(err, &diags):
		return connect.CodeInvalidArgument
	case errors.As(err, &lim), errors.As(err, &depth), errors.Is(err, expand.ErrTooLarge):
		return connect.CodeResourceExhausted
	case errors.Is(err, tuples.ErrExists):
		return connect.CodeAlreadyExists
	case errors.Is(err, tuples.ErrPrecondition),
		errors.Is(err, tuples.ErrRevisionGone),
		errors.Is(err, tuples.ErrChangesTrimmed),
		errors.Is(err, tuples.ErrFutureRevision),
		errors.Is(err, tuples.ErrNoSchema),
		errors.Is(err, check.ErrNoSchema):
		return connect.CodeFailedPrecondition
	case errors.Is(err, tuples.ErrLocked), errors.Is(err, errkind.ErrUnavailable):
		return connect.CodeUnavailable
	case errors.Is(err, errkind.ErrTimeout):
		return connect.CodeDeadlineExceeded
	}
	return connect.CodeInternal
}

// toConnect turns an error into the one a handler returns: its code, and
// its message unless it is internal, whose detail stays in the log.
func toConnect(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	code := codeOf(err)
	if code == connect.CodeInternal {
		return connect.NewError(code, errors.New("internal error; the server log has the details"))
	}
	return connect.NewError(code, err)
}

// httpStatus is the HTTP status of a code, as the Connect protocol maps
// them, for the JSON endpoints outside it.
func httpStatus(code connect.Code) int {
	switch code {
	case connect.CodeInvalidArgument, connect.CodeOutOfRange:
		return http.StatusBadRequest
	case connect.CodeUnauthenticated:
		return http.StatusUnauthorized
	case connect.CodePermissionDenied:
		return http.StatusForbidden
	case connect.CodeNotFound:
		return http.StatusNotFound
	case connect.CodeAlreadyExists, connect.CodeAborted:
		return http.StatusConflict
	case connect.CodeFailedPrecondition:
		return http.StatusPreconditionFailed
	case connect.CodeResourceExhausted:
		return http.StatusTooManyRequests
	case connect.CodeCanceled:
		return 499
	case connect.CodeDeadlineExceeded:
		return http.StatusGatewayTimeout
	case connect.CodeUnavailable:
		return http.StatusServiceUnavailable
	case connect.CodeUnimplemented:
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}

// unknownType and unknownRelation say which name the schema lacks, with
// the nearest name when one is a plausible typo and the names it has.
func unknownType(s *schema.Schema, what, name string) error {
	return badInput("%s: unknown type %q; %s", what, name, didYouMean(name, s.TypeNames(), "types in the schema"))
}

func unknownRelation(t *schema.Type, what, name string) error {
	names := t.RelationNames()
	if len(names) == 0 {
		return badInput("%s: type %s has no relation %q; it declares none", what, t.Name, name)
	}
	return badInput("%s: type %s has no relation %q; %s", what, t.Name, name, didYouMean(name, names, "relations of "+t.Name))
}

func didYouMean(name string, names []string, listed string) string {
	if near := schema.Closest(name, names); near != "" {
		return fmt.Sprintf("did you mean %q? (%s: %s)", near, listed, strings.Join(names, ", "))
	}
	return listed + ": " + strings.Join(names, ", ")
}
