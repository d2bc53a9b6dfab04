package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"connectrpc.com/connect"
	"github.com/docketdb/docket/gen/docket/v1/docketv1connect"
)

// Access is what a key may do.
type Access int

// Access levels.
const (
	AccessNone Access = iota
	AccessRead
	AccessWrite // read and write
)

// Keys are the bearer keys a server accepts. Keys are kept as SHA-256
// digests and compared in constant time, all of them every time, so that
// neither a key's length nor its position leaks through timing.
type Keys struct {
	digests [][sha256.Size]byte
	access  []Access
}

// ParseKeys reads a keys file: one key per line, `KEY` (read and write)
// or `KEY read`; blank lines and lines starting with # are skipped. name
// is used in errors (NAME:LINE).
func ParseKeys(name string, data []byte) (*Keys, error) {
	k := &Keys{}
	seen := map[[sha256.Size]byte]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		access := AccessWrite
		switch {
		case len(fields) == 2 && fields[1] == "read":
			access = AccessRead
		case len(fields) == 2 && fields[1] == "write":
		case len(fields) != 1:
			return nil, fmt.Errorf("%s:%d: a line is `KEY` (read and write) or `KEY read`, not %d words", name, line, len(fields))
		}
		d := sha256.Sum256([]byte(fields[0]))
		if prev, ok := seen[d]; ok {
			return nil, fmt.Errorf("%s:%d: the same key as line %d; give each client its own key", name, line, prev)
		}
		seen[d] = line
		k.digests = append(k.digests, d)
		k.access = append(k.access, access)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(k.digests) == 0 {
		return nil, fmt.Errorf("%s holds no keys: add one per line (`KEY`, or `KEY read` for a read-only key)", name)
	}
	return k, nil
}

// LoadKeys reads a keys file, refusing one that other users of the
// machine can read: whoever reads it can act as any client.
func LoadKeys(path string) (*Keys, error) {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("keys file %s: no such file; create it with one key per line", path)
	case err != nil:
		return nil, fmt.Errorf("keys file %s: %w", path, err)
	case info.IsDir():
		return nil, fmt.Errorf("keys file %s is a directory", path)
	case info.Mode().Perm()&0o004 != 0:
		return nil, fmt.Errorf("keys file %s is readable by every user of this machine (mode %04o); restrict it with 'chmod 600 %s'", path, info.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keys file %s: %w", path, err)
	}
	return ParseKeys(path, data)
}

// lookup returns what the key may do, AccessNone for an unknown key.
func (k *Keys) lookup(key string) Access {
	d := sha256.Sum256([]byte(key))
	found := AccessNone
	for i := range k.digests {
		if subtle.ConstantTimeCompare(d[:], k.digests[i][:]) == 1 {
			found = k.access[i]
		}
	}
	return found
}

// authorize checks an Authorization header for a call that needs need.
// With no keys (--no-auth) everything is allowed.
func (s *Server) authorize(header string, need Access) error {
	if s.keys == nil {
		return nil
	}
	key, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || key == "" {
		return connect.NewError(connect.CodeUnauthenticated, errors.New("missing bearer key: send the header 'Authorization: Bearer KEY'"))
	}
	got := s.keys.lookup(strings.TrimSpace(key))
	switch {
	case got == AccessNone:
		return connect.NewError(connect.CodeUnauthenticated, errors.New("unknown bearer key"))
	case got < need:
		return connect.NewError(connect.CodePermissionDenied, errors.New("this key may only read; writes need a key without `read` in the keys file"))
	}
	return nil
}

// writeProcedures are the native calls that change the store.
var writeProcedures = map[string]bool{
	docketv1connect.DocketServiceWriteProcedure:          true,
	docketv1connect.DocketServiceDeleteMatchingProcedure: true,
	docketv1connect.DocketServiceImportProcedure:         true,
	docketv1connect.DocketServiceWriteSchemaProcedure:    true,
}

func needFor(procedure string) Access {
	if writeProcedures[procedure] {
		return AccessWrite
	}
	return AccessRead
}

// authInterceptor checks the bearer key of every native, health and
// reflection call, in whichever protocol it came.
type authInterceptor struct{ s *Server }

func (a authInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if err := a.s.authorize(req.Header().Get("Authorization"), needFor(req.Spec().Procedure)); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (a authInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (a authInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if err := a.s.authorize(conn.RequestHeader().Get("Authorization"), needFor(conn.Spec().Procedure)); err != nil {
			return err
		}
		return next(ctx, conn)
	}
}
