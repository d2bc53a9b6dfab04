package server

import (
	"errors"
	"fmt"
	"net/http"

	"connectrpc.com/connect"
	"github.com/docketdb/docket/errkind"
	"github.com/docketdb/docket/expand"
	"github.com/docketdb/docket/schema"
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

// codeOf maps an error to the code the caller sees: the server's own
// errors here, every other through errkind's one table of kinds. An error
// of no kind is Internal: the server's fault, logged in full.
func codeOf(err error) connect.Code {
	var (
		in  *inputError
		lim *limitError
		ce  *connect.Error
	)
	switch {
	case errors.As(err, &ce):
		return ce.Code()
	case errors.As(err, &in):
		return connect.CodeInvalidArgument
	case errors.As(err, &lim), errors.Is(err, expand.ErrTooLarge):
		return connect.CodeResourceExhausted
	}
	return connect.Code(errkind.Of(err).Status().GRPC)
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

// nameError is a name the schema lacks, as a request field held it: the
// field, then the schema's own error phrased for the caller, with the
// names that exist. It unwraps to the *schema.NameError, so it is of
// errkind.ErrUnknownName's kind.
type nameError struct {
	field string
	err   *schema.NameError
}

func (e *nameError) Error() string {
	n := e.err
	var s string
	if n.Relation {
		s = fmt.Sprintf("%s: type %s has no relation %q; ", e.field, n.Type, n.Name)
		if len(n.Known) == 0 {
			return s + "it declares none"
		}
	} else {
		s = fmt.Sprintf("%s: unknown type %q; ", e.field, n.Name)
	}
	listed := "types in the schema"
	if n.Relation {
		listed = "relations of " + n.Type
	}
	if n.Suggestion != "" {
		return s + fmt.Sprintf("did you mean %q? (%s: %s)", n.Suggestion, listed, n.KnownList())
	}
	return s + listed + ": " + n.KnownList()
}

func (e *nameError) Unwrap() error { return e.err }

// unknownName names field in a name error of schema's resolvers; any
// other error is returned as it is.
func unknownName(field string, err error) error {
	var n *schema.NameError
	if errors.As(err, &n) {
		return &nameError{field: field, err: n}
	}
	return err
}
