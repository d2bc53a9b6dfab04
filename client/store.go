package client

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/internal/wire"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// Store is a store.Store whose data lives on a server: every snapshot
// reads one exact revision through the native API, every write is a call.
// Code written against store.Store (the checker, expand, the CLI) runs
// on it unchanged and answers as it would on the server's own store.
// TrimChanges is not part of the API and is refused.
type Store struct {
	c *Client
	// latest says which revision a snapshot at 0 ("the latest") reads.
	latest *pb.Consistency

	mu      sync.Mutex
	schemas map[string]*schema.Schema // by text: a schema compiles once
	// lastWrite is the revision of the last write through this store.
	lastWrite *pb.Revision
}

var _ store.Store = (*Store)(nil)

// NewStore returns a Store over c. latest is the consistency of a
// snapshot at revision 0; nil means fully consistent.
func NewStore(c *Client, latest *pb.Consistency) *Store {
	if latest == nil {
		latest = FullyConsistent()
	}
	return &Store{c: c, latest: latest, schemas: map[string]*schema.Schema{}}
}

// LastWrite is the revision of the last write made through the store,
// nil before any.
func (s *Store) LastWrite() *pb.Revision {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastWrite
}

func (s *Store) wrote(r *pb.Revision) tuples.Revision {
	s.mu.Lock()
	s.lastWrite = r
	s.mu.Unlock()
	return tuples.Revision(r.GetNumber())
}

// tokenAt is the token of revision rev of the store tok names. The token
// format is the server's (docs/server.md): client and server are built
// together, so the client may look inside it to honour --at REVISION.
func tokenAt(tok string, rev tuples.Revision) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	i := strings.LastIndexByte(string(b), ':')
	if err != nil || i < 0 || !strings.HasPrefix(string(b), "dk1:") {
		return "", fmt.Errorf("the server's consistency token %q is not one this client reads", tok)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(string(b[:i+1]) + strconv.FormatUint(uint64(rev), 10))), nil
}

// Snapshot pins a revision: the latest one the store's consistency
// allows for rev 0, else rev itself.
func (s *Store) Snapshot(ctx context.Context, rev tuples.Revision) (tuples.Snapshot, error) {
	res, err := s.c.ReadSchema(ctx, connect.NewRequest(&pb.ReadSchemaRequest{Consistency: s.latest}))
	if err != nil {
		return nil, remoteError(err)
	}
	if rev != 0 && rev != tuples.Revision(res.Msg.Revision.GetNumber()) {
		if rev > tuples.Revision(res.Msg.Revision.GetNumber()) {
			return nil, fmt.Errorf("revision %d is not written yet; the latest is %d: %w", rev, res.Msg.Revision.GetNumber(), tuples.ErrFutureRevision)
		}
		tok, err := tokenAt(res.Msg.Revision.GetToken(), rev)
		if err != nil {
			return nil, err
		}
		if res, err = s.c.ReadSchema(ctx, connect.NewRequest(&pb.ReadSchemaRequest{Consistency: AtExactSnapshot(tok)})); err != nil {
			return nil, remoteError(err)
		}
	}
	// The clock is the caller's (tuples.WithClock), else this machine's
	// time, read once, so that every read of the snapshot judges expiry
	// alike, as a local snapshot does.
	now, ok := tuples.ClockFrom(ctx)
	if !ok {
		now = time.Now()
	}
	snap := &snapshot{s: s, rev: res.Msg.Revision, now: now}
	if res.Msg.Text != "" {
		if snap.sch, err = s.compile(res.Msg.Text); err != nil {
			return nil, err
		}
	}
	return snap, nil
}

func (s *Store) compile(text string) (*schema.Schema, error) {
	s.mu.Lock()
	sch, ok := s.schemas[text]
	s.mu.Unlock()
	if ok {
		return sch, nil
	}
	sch, err := schema.Load("schema", []byte(text))
	if err != nil {
		return nil, fmt.Errorf("the server's schema does not compile here (a client older than the server?): %w", err)
	}
	s.mu.Lock()
	s.schemas[text] = sch
	s.mu.Unlock()
	return sch, nil
}

func fromPB(t *pb.Tuple) (tuples.Tuple, error) {
	out, err := wire.FromTuple("tuple", t)
	if err != nil {
		return tuples.Tuple{}, fmt.Errorf("the server sent a tuple this client cannot read: %w", err)
	}
	return out, nil
}

func filterPB(f tuples.Filter) *pb.Filter {
	return &pb.Filter{
		ObjectType: f.ObjectType, ObjectId: f.ObjectID, Relation: f.Relation,
		SubjectType: f.SubjectType, SubjectId: f.SubjectID, SubjectRelation: f.SubjectRelation,
	}
}

func (s *Store) Write(ctx context.Context, b tuples.Batch) (tuples.Revision, error) {
	req := &pb.WriteRequest{}
	for _, op := range b.Ops {
		kind := map[tuples.OpKind]pb.WriteOp_Kind{tuples.OpCreate: pb.WriteOp_KIND_CREATE, tuples.OpTouch: pb.WriteOp_KIND_TOUCH, tuples.OpDelete: pb.WriteOp_KIND_DELETE}[op.Kind]
		t, err := wire.Tuple(op.Tuple)
		if err != nil {
			return 0, err
		}
		req.Ops = append(req.Ops, &pb.WriteOp{Kind: kind, Tuple: t})
	}
	for _, p := range b.Preconditions {
		req.Preconditions = append(req.Preconditions, &pb.Precondition{Filter: filterPB(p.Filter), MustMatch: p.MustMatch})
	}
	res, err := s.c.DocketServiceClient.Write(ctx, connect.NewRequest(req))
	if err != nil {
		return 0, remoteError(err)
	}
	return s.wrote(res.Msg.Revision), nil
}

func (s *Store) DeleteMatching(ctx context.Context, f tuples.Filter) (tuples.Revision, int, error) {
	res, err := s.c.DocketServiceClient.DeleteMatching(ctx, connect.NewRequest(&pb.DeleteMatchingRequest{Filter: filterPB(f)}))
	if err != nil {
		return 0, 0, remoteError(err)
	}
	return s.wrote(res.Msg.Revision), int(res.Msg.Deleted), nil
}

func (s *Store) WriteSchema(ctx context.Context, filename string, text []byte) (tuples.Revision, error) {
	res, err := s.c.DocketServiceClient.WriteSchema(ctx, connect.NewRequest(&pb.WriteSchemaRequest{Filename: filename, Text: string(text)}))
	if err != nil {
		return 0, remoteError(err)
	}
	return s.wrote(res.Msg.Revision), nil
}

// importChunk is how many bytes of input one Import message carries.
const importChunk = 256 << 10

func (s *Store) Import(ctx context.Context, r io.Reader, opts store.ImportOptions) (store.ImportResult, error) {
	format := pb.TupleFormat_TUPLE_FORMAT_TEXT
	if opts.Format == tuples.FormatJSONL {
		format = pb.TupleFormat_TUPLE_FORMAT_JSONL
	}
	st := s.c.DocketServiceClient.Import(ctx)
	buf := make([]byte, importChunk)
	first := true
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 || first {
			msg := &pb.ImportRequest{Data: append([]byte(nil), buf[:n]...)}
			if first {
				msg.Format, msg.Name, first = format, opts.Name, false
			}
			if err := st.Send(msg); err != nil {
				break // the answer says why
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return store.ImportResult{}, fmt.Errorf("read %s: %w", opts.Name, rerr)
		}
	}
	res, err := st.CloseAndReceive()
	if err != nil {
		return store.ImportResult{}, remoteError(err)
	}
	return store.ImportResult{Revision: s.wrote(res.Msg.Revision), Tuples: int(res.Msg.Tuples)}, nil
}

func (s *Store) Export(ctx context.Context, w io.Writer, rev tuples.Revision, format tuples.Format) (int, error) {
	snap, err := s.Snapshot(ctx, rev)
	if err != nil {
		return 0, err
	}
	f := pb.TupleFormat_TUPLE_FORMAT_TEXT
	if format == tuples.FormatJSONL {
		f = pb.TupleFormat_TUPLE_FORMAT_JSONL
	}
	st, err := s.c.DocketServiceClient.Export(ctx, connect.NewRequest(&pb.ExportRequest{Consistency: AtExactSnapshot(snap.(*snapshot).rev.Token), Format: f}))
	if err != nil {
		return 0, remoteError(err)
	}
	defer st.Close()
	n := 0
	for st.Receive() {
		data := st.Msg().Data
		n += strings.Count(string(data), "\n")
		if _, err := w.Write(data); err != nil {
			return n, err
		}
	}
	return n, remoteError(st.Err())
}

// Changes reads the change log through Watch, up to the first heartbeat
// (the server has sent all it had) or limit changes at a revision
// boundary.
func (s *Store) Changes(ctx context.Context, after tuples.Revision, limit int) ([]tuples.Change, error) {
	res, err := s.c.ReadSchema(ctx, connect.NewRequest(&pb.ReadSchemaRequest{Consistency: FullyConsistent()}))
	if err != nil {
		return nil, remoteError(err)
	}
	if after >= tuples.Revision(res.Msg.Revision.GetNumber()) {
		return nil, nil
	}
	tok := ""
	if after > 0 {
		if tok, err = tokenAt(res.Msg.Revision.GetToken(), after); err != nil {
			return nil, err
		}
	} else if tok, err = tokenAt(res.Msg.Revision.GetToken(), 0); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := s.c.DocketServiceClient.Watch(ctx, connect.NewRequest(&pb.WatchRequest{After: tok, HeartbeatMs: 100}))
	if err != nil {
		return nil, remoteError(err)
	}
	defer st.Close()
	var out []tuples.Change
	for st.Receive() {
		m := st.Msg()
		if m.Heartbeat || (limit > 0 && len(out) >= limit) {
			break
		}
		for _, c := range m.Changes {
			kind := tuples.ChangeWrite
			if c.Kind == pb.Change_KIND_DELETE {
				kind = tuples.ChangeDelete
			}
			t, err := fromPB(c.Tuple)
			if err != nil {
				return nil, err
			}
			out = append(out, tuples.Change{Revision: tuples.Revision(m.Revision.GetNumber()), Kind: kind, Tuple: t})
		}
		if tuples.Revision(m.Revision.GetNumber()) >= tuples.Revision(res.Msg.Revision.GetNumber()) {
			break
		}
	}
	if err := st.Err(); err != nil && !errors.Is(err, context.Canceled) {
		return nil, remoteError(err)
	}
	return out, nil
}

func (s *Store) TrimChanges(context.Context, tuples.Revision) (int, error) {
	return 0, errors.New("trimming the change log is not part of the server's API; run it where the database is")
}

// Close releases nothing: the server owns the store.
func (s *Store) Close() error { return nil }

// snapshot reads one exact revision of the server's store, at one clock:
// every read asks the server to leave out the tuples expired at now.
type snapshot struct {
	s   *Store
	rev *pb.Revision
	sch *schema.Schema
	now time.Time
}

func (sn *snapshot) Revision() tuples.Revision { return tuples.Revision(sn.rev.GetNumber()) }
func (sn *snapshot) Schema() *schema.Schema    { return sn.sch }
func (sn *snapshot) Close() error              { return nil }

// Now is the clock the snapshot's reads judge expiry by.
func (sn *snapshot) Now() time.Time { return sn.now }

// Get returns the tuple stored under k with its payload.
func (sn *snapshot) Get(ctx context.Context, k tuples.Key) (tuples.Tuple, bool, error) {
	f := tuples.Filter{ObjectType: k.ObjectType, ObjectID: k.ObjectID, Relation: k.Relation, SubjectType: k.SubjectType, SubjectID: k.SubjectID, SubjectRelation: k.SubjectRelation}
	for t, err := range sn.readPages(ctx, f) {
		if err != nil {
			return tuples.Tuple{}, false, err
		}
		if t.Key() == k {
			return t, true, nil
		}
	}
	return tuples.Tuple{}, false, nil
}

// readPages yields every tuple matching f at the snapshot's revision.
func (sn *snapshot) readPages(ctx context.Context, f tuples.Filter) iter.Seq2[tuples.Tuple, error] {
	return func(yield func(tuples.Tuple, error) bool) {
		cursor := ""
		for {
			ts, next, err := sn.Read(ctx, f, cursor, 1000)
			if err != nil {
				yield(tuples.Tuple{}, err)
				return
			}
			for _, t := range ts {
				if !yield(t, nil) {
					return
				}
			}
			if cursor = next; cursor == "" {
				return
			}
		}
	}
}

func (sn *snapshot) Has(ctx context.Context, obj tuples.Object, relation string, subj tuples.Subject) (bool, error) {
	f := tuples.Filter{ObjectType: obj.Type, ObjectID: obj.ID, Relation: relation, SubjectType: subj.Type, SubjectID: subj.ID, SubjectRelation: subj.Relation}
	for t, err := range sn.readPages(ctx, f) {
		if err != nil {
			return false, err
		}
		// An empty filter field matches anything: a plain subject's
		// filter also matches its subject sets.
		if t.SubjectRelation == subj.Relation {
			return true, nil
		}
	}
	return false, nil
}

func (sn *snapshot) Subjects(ctx context.Context, obj tuples.Object, relation string, sf tuples.SubjectFilter) iter.Seq2[tuples.Subject, error] {
	f := tuples.Filter{ObjectType: obj.Type, ObjectID: obj.ID, Relation: relation, SubjectType: sf.Type}
	if sf.Sets {
		f.SubjectRelation = sf.Relation
	}
	return func(yield func(tuples.Subject, error) bool) {
		for t, err := range sn.readPages(ctx, f) {
			if err != nil {
				yield(tuples.Subject{}, err)
				return
			}
			if s := t.Subject(); sf.Matches(s) && !yield(s, nil) {
				return
			}
		}
	}
}

func (sn *snapshot) Reverse(ctx context.Context, subj tuples.Subject, objectType, relation string) iter.Seq2[tuples.Object, error] {
	f := tuples.Filter{ObjectType: objectType, Relation: relation, SubjectType: subj.Type, SubjectID: subj.ID, SubjectRelation: subj.Relation}
	return func(yield func(tuples.Object, error) bool) {
		for t, err := range sn.readPages(ctx, f) {
			if err != nil {
				yield(tuples.Object{}, err)
				return
			}
			if t.SubjectRelation == subj.Relation && !yield(t.Object(), nil) {
				return
			}
		}
	}
}

// The set-at-a-time reads read one object or subject at a time (the
// native API has no batch read yet), as tuples with their payloads, which
// the checker evaluates.

func (sn *snapshot) HasAny(ctx context.Context, objs []tuples.Object, relation string, subjs []tuples.Subject) (bool, error) {
	return tuples.LoopHasAny(ctx, sn, objs, relation, subjs)
}

func (sn *snapshot) SubjectsOf(ctx context.Context, objs []tuples.Object, relation string, sf tuples.SubjectFilter) iter.Seq2[tuples.Tuple, error] {
	return func(yield func(tuples.Tuple, error) bool) {
		for _, o := range objs {
			f := tuples.Filter{ObjectType: o.Type, ObjectID: o.ID, Relation: relation, SubjectType: sf.Type}
			if sf.Sets {
				f.SubjectRelation = sf.Relation
			}
			for t, err := range sn.readPages(ctx, f) {
				if err != nil {
					yield(tuples.Tuple{}, err)
					return
				}
				if sf.Matches(t.Subject()) && !yield(t, nil) {
					return
				}
			}
		}
	}
}

func (sn *snapshot) ObjectsOf(ctx context.Context, subjs []tuples.Subject, objectType, relation string) iter.Seq2[tuples.Tuple, error] {
	return func(yield func(tuples.Tuple, error) bool) {
		for _, subj := range subjs {
			f := tuples.Filter{ObjectType: objectType, Relation: relation, SubjectType: subj.Type, SubjectID: subj.ID, SubjectRelation: subj.Relation}
			for t, err := range sn.readPages(ctx, f) {
				if err != nil {
					yield(tuples.Tuple{}, err)
					return
				}
				if t.SubjectRelation == subj.Relation && !yield(t, nil) {
					return
				}
			}
		}
	}
}

func (sn *snapshot) Read(ctx context.Context, f tuples.Filter, cursor string, limit int) ([]tuples.Tuple, string, error) {
	res, err := sn.s.c.DocketServiceClient.Read(ctx, connect.NewRequest(&pb.ReadRequest{
		Consistency: AtExactSnapshot(sn.rev.GetToken()), Filter: filterPB(f), Limit: uint32(max(limit, 0)), Cursor: cursor,
		Now: wire.Timestamp(sn.now),
	}))
	if err != nil {
		return nil, "", remoteError(err)
	}
	out := make([]tuples.Tuple, len(res.Msg.Tuples))
	for i, t := range res.Msg.Tuples {
		if out[i], err = fromPB(t); err != nil {
			return nil, "", err
		}
	}
	return out, res.Msg.NextCursor, nil
}

// remoteError keeps the server's message and, where the code says which,
// wraps the store error it stands for, so that callers testing with
// errors.Is (the CLI's hints) treat a remote failure as a local one.
func remoteError(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return err
	}
	msg := ce.Message()
	if ce.Code() == connect.CodeUnavailable && strings.Contains(msg, "dial") {
		msg = "cannot reach the server (" + msg + "); is 'docket serve' running there?"
	}
	var sentinel error
	switch {
	case ce.Code() == connect.CodeAlreadyExists:
		sentinel = tuples.ErrExists
	case ce.Code() == connect.CodeFailedPrecondition && strings.Contains(msg, tuples.ErrPrecondition.Error()):
		sentinel = tuples.ErrPrecondition
	case ce.Code() == connect.CodeFailedPrecondition && strings.Contains(msg, tuples.ErrNoSchema.Error()):
		sentinel = tuples.ErrNoSchema
	case ce.Code() == connect.CodeFailedPrecondition && strings.Contains(msg, tuples.ErrRevisionGone.Error()):
		sentinel = tuples.ErrRevisionGone
	case ce.Code() == connect.CodeFailedPrecondition && strings.Contains(msg, tuples.ErrChangesTrimmed.Error()):
		sentinel = tuples.ErrChangesTrimmed
	case ce.Code() == connect.CodeOutOfRange && strings.Contains(msg, tuples.ErrFutureRevision.Error()):
		sentinel = tuples.ErrFutureRevision
	}
	if sentinel == nil {
		return &RemoteError{Code: ce.Code(), Msg: msg}
	}
	return &RemoteError{Code: ce.Code(), Msg: msg, err: sentinel}
}

// RemoteError is an error the server answered.
type RemoteError struct {
	Code connect.Code
	Msg  string
	err  error
}

func (e *RemoteError) Error() string { return e.Msg }
func (e *RemoteError) Unwrap() error { return e.err }
