package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"

	"github.com/docketdb/docket/errkind"
	"github.com/docketdb/docket/schema"
)

// Exit statuses, from errkind's table: 1 is reserved for a negative answer
// (an invalid schema, a denied check, a failed assertion) so that scripts
// can tell it from a failure to answer at all.
const (
	exitOK      = errkind.ExitOK
	exitNo      = errkind.ExitNo
	exitFailure = errkind.ExitFailure
)

// cliError is an error the operator can act on: what went wrong, where, and
// a hint. It prints as a single line.
type cliError struct {
	msg  string
	hint string
	err  error
}

func (e *cliError) Error() string {
	if e.hint == "" {
		return e.msg
	}
	return e.msg + "; " + e.hint
}

func (e *cliError) Unwrap() error { return e.err }

// withHint builds a cliError from a message and a hint.
func withHint(hint, format string, args ...any) error {
	return &cliError{msg: fmt.Sprintf(format, args...), hint: hint}
}

// exitStatus ends a command with a status and no message: the command has
// already printed its answer.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// fileError describes a failure to read or write a file in one line.
func fileError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &cliError{msg: path + ": no such file", hint: "check the path", err: err}
	case errors.Is(err, fs.ErrPermission):
		return &cliError{msg: path + ": permission denied", hint: "check the file's permissions", err: err}
	case errors.Is(err, syscall.EISDIR):
		return &cliError{msg: path + ": is a directory", hint: "give a file", err: err}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &cliError{msg: fmt.Sprintf("%s: %s %v", path, pe.Op, pe.Err), err: err}
	}
	return &cliError{msg: fmt.Sprintf("%s: %v", path, err), err: err}
}

// errorLines renders an error for stderr. A schema.ErrorList yields one
// line per diagnostic; anything else is flattened to a single line.
func errorLines(err error) []string {
	var list schema.ErrorList
	if errors.As(err, &list) {
		lines := make([]string, len(list))
		for i, d := range list {
			lines[i] = d.String()
		}
		return lines
	}
	// Joined errors (several independent problems) print one a line.
	var lines []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
