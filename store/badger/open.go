package badger

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/ristretto/v2/z"

	"github.com/docketdb/docket/store"
)

// openError says why Badger could not open the database at path, each
// cause with its own remedy: only what is damage is called damage.
func openError(path string, readOnly bool, err error) error {
	msg := err.Error()
	var errno syscall.Errno
	errors.As(err, &errno)
	switch {
	case strings.Contains(msg, "Cannot acquire directory lock"):
		return because(store.ErrLocked, "database at %s is in use by another docket process", path)
	case errno == syscall.EROFS || strings.Contains(msg, "read-only file system"):
		return because(store.ErrNotWritable, "database at %s is on a read-only filesystem; read it with --read-only", path)
	case errno == syscall.EACCES || errno == syscall.EPERM || errors.Is(err, fs.ErrPermission):
		what := "permission denied"
		if readOnly {
			return because(fs.ErrPermission, "database at %s: %s reading its files; check their owner and permissions (%s)", path, what, innermost(err))
		}
		return because(store.ErrNotWritable, "database at %s: %s writing its files; check the directory's owner and permissions, or read it with --read-only (%s)", path, what, innermost(err))
	case errno == syscall.EMFILE || errno == syscall.ENFILE || strings.Contains(msg, "too many open files"):
		return because(store.ErrTooManyFiles, "database at %s: the process may not open more files; raise the limit (ulimit -n) and retry", path)
	case errno == syscall.ENOSPC || strings.Contains(msg, "no space left on device"):
		return because(store.ErrNoSpace, "database at %s: no space left on device; free space and retry (nothing was written)", path)
	case errors.Is(err, badger.ErrTruncateNeeded) || strings.Contains(msg, badger.ErrTruncateNeeded.Error()):
		// Badger's y.Wrapf keeps only the message of what it wraps.
		return because(store.ErrNotClosedCleanly, "database at %s was not closed cleanly and cannot be opened read-only until a writable open recovers it", path)
	case strings.Contains(msg, z.NewFile.Error()):
		return because(err, "open database at %s: a file was left empty by an interrupted start; open it again", path)
	}
	return fmt.Errorf("open database at %s: %w; the files may be damaged: run 'docket db verify', restore a backup or re-import an export", path, err)
}

// innermost is the message of the error at the bottom of a chain: the
// system's own words, without the layers of context above them.
func innermost(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + " " + pe.Path + ": " + pe.Err.Error()
	}
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

// causeError reads as its message alone and is its cause for errors.Is:
// the message says all the cause would.
type causeError struct {
	msg   string
	cause error
}

func (e *causeError) Error() string { return e.msg }
func (e *causeError) Unwrap() error { return e.cause }

func because(cause error, format string, args ...any) error {
	return &causeError{msg: fmt.Sprintf(format, args...), cause: cause}
}
