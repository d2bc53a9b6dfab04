package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/condition"
	"github.com/docketdb/docket/expand"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/gen/docket/v1/docketv1connect"
	"github.com/docketdb/docket/internal/wire"
	"github.com/docketdb/docket/query"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/tuples"
)

// native implements the DocketService of proto/docket/v1/docket.proto.
// Every method returns errors through toConnect, so callers see one code
// per kind of failure and never an internal detail.
type native struct{ s *Server }

var _ docketv1connect.DocketServiceHandler = native{}

func (n native) Check(ctx context.Context, req *connect.Request[pb.CheckRequest]) (*connect.Response[pb.CheckResponse], error) {
	res, err := n.check(ctx, req.Msg)
	return connect.NewResponse(res), toConnect(err)
}

func (n native) check(ctx context.Context, m *pb.CheckRequest) (*pb.CheckResponse, error) {
	s := n.s
	reqCtx, err := s.requestContext("context", m.Context)
	if err != nil {
		return nil, err
	}
	if ctx, err = clocked(ctx, "now", m.Now); err != nil {
		return nil, err
	}
	snap, err := s.snapshot(ctx, m.Consistency)
	if err != nil {
		return nil, err
	}
	defer snap.Close()
	q, err := s.query(snap, "", m.Object, m.Relation, m.Subject)
	if err != nil {
		return nil, err
	}
	with, err := s.contextual("contextual_tuples", m.ContextualTuples)
	if err != nil {
		return nil, err
	}
	rs, err := s.q.ReaderOn(snap).Check(ctx, query.CheckRequest{Checks: []check.Query{q}, Explain: m.Explain, With: with, Context: reqCtx})
	if err != nil {
		return nil, contextError("context", contextualError("contextual_tuples", err))
	}
	r := rs[0]
	out := &pb.CheckResponse{Revision: s.tokens.revision(snap.Revision()), Allowed: r.Allowed,
		Conditional: r.Conditional, Missing: r.Missing, ValidUntil: wire.Timestamp(r.ValidUntil)}
	if out.Excluded, err = excludedRefs(r.Excluded); err != nil {
		return nil, err
	}
	if m.Explain && r.Explanation != nil {
		out.ExplanationText = r.Explanation.String()
		b, err := json.Marshal(r.Explanation)
		if err != nil {
			return nil, fmt.Errorf("encode explanation: %w", err)
		}
		out.ExplanationJson = string(b)
	}
	return out, nil
}

// query builds a check query, its names checked against the schema. what
// prefixes field names in errors ("items[3].").
func (s *Server) query(snap tuples.Snapshot, what string, o *pb.ObjectRef, relation string, sr *pb.SubjectRef) (check.Query, error) {
	sch, err := needSchema(snap)
	if err != nil {
		return check.Query{}, err
	}
	obj, err := toObject(what+"object", o)
	if err != nil {
		return check.Query{}, err
	}
	if relation == "" {
		return check.Query{}, badInput("%srelation is empty", what)
	}
	subj, err := toSubject(what+"subject", sr)
	if err != nil {
		return check.Query{}, err
	}
	if err := checkNames(sch, nativeFields(what, "object"), obj, relation, &subj); err != nil {
		return check.Query{}, err
	}
	return check.Query{Object: obj, Relation: relation, Subject: subj}, nil
}

func (n native) CheckBatch(ctx context.Context, req *connect.Request[pb.CheckBatchRequest]) (*connect.Response[pb.CheckBatchResponse], error) {
	res, err := n.checkBatch(ctx, req.Msg)
	return connect.NewResponse(res), toConnect(err)
}

func (n native) checkBatch(ctx context.Context, m *pb.CheckBatchRequest) (*pb.CheckBatchResponse, error) {
	s := n.s
	if len(m.Items) > s.limits.MaxBatch {
		return nil, overLimit("items: %d checks; at most %d per batch", len(m.Items), s.limits.MaxBatch)
	}
	ctx, err := clocked(ctx, "now", m.Now)
	if err != nil {
		return nil, err
	}
	snap, err := s.snapshot(ctx, m.Consistency)
	if err != nil {
		return nil, err
	}
	defer snap.Close()
	if _, err := needSchema(snap); err != nil {
		return nil, err
	}
	out := &pb.CheckBatchResponse{Revision: s.tokens.revision(snap.Revision()), Results: make([]*pb.CheckBatchResult, len(m.Items))}
	// A bad item is answered in place; the good ones go to the checker
	// in one batch, sharing its walk.
	r := s.q.ReaderOn(snap)
	qs := make([]check.Query, 0, len(m.Items))
	at := make([]int, 0, len(m.Items))
	results := make([]pb.CheckBatchResult, len(m.Items))
	for i, it := range m.Items {
		out.Results[i] = &results[i]
		q, err := s.batchItem(snap, r, "", it)
		if err != nil {
			// Field names are spelled with the item's index only for an
			// error, which asking again reproduces.
			_, err = s.batchItem(snap, r, fmt.Sprintf("items[%d].", i), it)
			out.Results[i].Error = err.Error()
			continue
		}
		qs = append(qs, q)
		at = append(at, i)
	}
	rs, err := s.checkConcurrently(ctx, r, qs, at)
	if _, ok := errors.AsType[*condition.ValueError](err); ok {
		// A context value of the wrong type is its item's fault: ask the
		// checks one at a time and answer that item in place.
		rs, err = s.checkEach(ctx, r, qs, at, out.Results)
	}
	if err != nil {
		return nil, err
	}
	for j, cr := range rs {
		res := out.Results[at[j]]
		if res.Error != "" {
			continue
		}
		res.Allowed, res.Conditional, res.Missing, res.ValidUntil = cr.Allowed, cr.Conditional, cr.Missing, wire.Timestamp(cr.ValidUntil)
		if res.Excluded, err = excludedRefs(cr.Excluded); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// batchItem reads one item of a CheckBatch, what prefixing the field
// names of its errors.
func (s *Server) batchItem(snap tuples.Snapshot, r *query.Reader, what string, it *pb.CheckBatchItem) (check.Query, error) {
	q, err := s.query(snap, what, it.GetObject(), it.GetRelation(), it.GetSubject())
	if err == nil {
		q.RequestContext, err = s.requestContext(what+"context", it.GetContext())
	}
	if err == nil {
		q.Context, err = s.contextual(what+"contextual_tuples", it.GetContextualTuples())
	}
	if err == nil {
		err = contextualError(what+"contextual_tuples", r.Contextual(q.Context))
	}
	return q, err
}

// excludedRefs are the subjects a wildcard's exclusions remove, as
// query.CheckResult lists them.
func excludedRefs(ss []string) ([]*pb.SubjectRef, error) {
	var out []*pb.SubjectRef
	for _, x := range ss {
		sub, err := tuples.ParseSubject(x)
		if err != nil {
			return nil, fmt.Errorf("excluded subject %q: %w", x, err)
		}
		out = append(out, fromSubject(sub))
	}
	return out, nil
}

// checkEach answers qs one at a time, answering in place (in results, at
// the request's index at[j]) each whose context a condition refuses; the
// result of such a query is the zero one, which the caller's copy leaves
// denied beside its error.
func (s *Server) checkEach(ctx context.Context, r *query.Reader, qs []check.Query, at []int, results []*pb.CheckBatchResult) ([]query.CheckResult, error) {
	out := make([]query.CheckResult, len(qs))
	for j := range qs {
		rs, err := r.Check(ctx, query.CheckRequest{Checks: qs[j : j+1]})
		if _, ok := errors.AsType[*condition.ValueError](err); ok {
			results[at[j]].Error = contextError(fmt.Sprintf("items[%d].context", at[j]), err).Error()
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("items[%d]: %w", at[j], err)
		}
		out[j] = rs[0]
	}
	return out, nil
}

// minChunk is the fewest checks worth a piece of a batch of their own:
// below it, the walk memo that a piece's checks share saves more than a
// second core gains.
const minChunk = 64

// checkConcurrently answers qs on snap with up to GOMAXPROCS goroutines,
// each taking the next contiguous piece of the batch until none is left,
// each piece one CheckBatch with a walk memo of its own (a snapshot is
// safe for concurrent reads); the answers are the same as one
// CheckBatch's, in order. Pieces are several per goroutine, so that a
// run of costly checks in one part of the batch does not leave the other
// goroutines idle. The first error ends the others and names its item:
// at[j] is the request's index of qs[j].
func (s *Server) checkConcurrently(ctx context.Context, r *query.Reader, qs []check.Query, at []int) ([]query.CheckResult, error) {
	if len(qs) == 0 {
		return nil, nil
	}
	procs := runtime.GOMAXPROCS(0)
	size := max(minChunk, len(qs)/(4*procs))
	pieces := (len(qs) + size - 1) / size
	if procs == 1 || pieces <= 1 {
		rs, err := r.Check(ctx, query.CheckRequest{Checks: qs})
		if err != nil {
			return nil, s.failedItem(ctx, r, qs, at, err)
		}
		return rs, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([]query.CheckResult, len(qs))
	errs := make([]error, pieces)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(procs, pieces) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= pieces || ctx.Err() != nil {
					return
				}
				lo, hi := i*size, min((i+1)*size, len(qs))
				rs, err := r.Check(ctx, query.CheckRequest{Checks: qs[lo:hi]})
				if err != nil {
					errs[i] = s.failedItem(ctx, r, qs[lo:hi], at[lo:hi], err)
					cancel()
					return
				}
				copy(out[lo:hi], rs)
			}
		})
	}
	wg.Wait()
	// The first piece's error in order, unless it is only the
	// cancellation another piece's error caused.
	var first error
	for _, err := range errs {
		switch {
		case err == nil:
		case first == nil, errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled):
			first = err
		}
	}
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		// Cut off before every piece was answered.
		return nil, err
	}
	return out, nil
}

// failedItem names the item of a batch that failed with err (a walk too
// deep, a failed read): CheckBatch numbers queries within its own slice,
// which is neither the chunk's place nor the request's. The checks are
// asked again one at a time until one fails, which costs time only on
// this path; a batch cut off by its context is reported as it is.
func (s *Server) failedItem(ctx context.Context, r *query.Reader, qs []check.Query, at []int, err error) error {
	if ctx.Err() != nil {
		return err
	}
	for j := range qs {
		if _, qerr := r.Check(ctx, query.CheckRequest{Checks: qs[j : j+1]}); qerr != nil {
			return fmt.Errorf("items[%d]: %w", at[j], qerr)
		}
	}
	return err
}

func (n native) LookupResources(ctx context.Context, req *connect.Request[pb.LookupResourcesRequest], stream *connect.ServerStream[pb.LookupResourcesResponse]) error {
	return toConnect(n.lookupResources(ctx, req.Msg, stream.Send))
}

func (n native) lookupResources(ctx context.Context, m *pb.LookupResourcesRequest, send func(*pb.LookupResourcesResponse) error) error {
	s := n.s
	// Conditional members are left out unless include_conditional asks
	// for them, marked: a caller that reads only the ids then never takes
	// one for a member.
	reqCtx, err := s.requestContext("context", m.Context)
	if err != nil {
		return err
	}
	ctx, err = clocked(ctx, "now", m.Now)
	if err != nil {
		return err
	}
	snap, sch, err := s.readAt(ctx, m.Consistency)
	if err != nil {
		return err
	}
	defer snap.Close()
	subj, err := toSubject("subject", m.Subject)
	if err != nil {
		return err
	}
	if m.ResourceType == "" || m.Relation == "" {
		return badInput("resource_type and relation are both needed")
	}
	if err := checkNames(sch, fields{"resource_type", "relation", "subject.type", "subject.relation"}, tuples.Object{Type: m.ResourceType}, m.Relation, &subj); err != nil {
		return err
	}
	key := m.ResourceType + "#" + m.Relation + "@" + subj.String() + conditionalKey(m.IncludeConditional)
	after, err := decodeCursor("cursor", "lr1", key, m.Cursor)
	if err != nil {
		return err
	}
	q := query.ResourcesRequest{Subject: subj, Type: m.ResourceType, Relation: m.Relation, Limit: int(m.Limit), Context: reqCtx}
	if after != "" {
		q.Cursor = check.ResourceCursor(after)
	}
	if q.With, err = s.contextual("contextual_tuples", m.ContextualTuples); err != nil {
		return err
	}
	rev := s.tokens.revision(snap.Revision())
	var sendErr error
	r := s.q.ReaderOn(snap)
	if m.IncludeConditional {
		_, err = r.LookupResourceResults(ctx, q, func(res check.ResourceResult) bool {
			sendErr = send(&pb.LookupResourcesResponse{Revision: rev, Object: fromObject(res.Object), Cursor: encodeCursor("lr1", key, res.Object.ID),
				Conditional: res.Conditional, Missing: res.Missing})
			return sendErr == nil
		})
	} else {
		_, err = r.LookupResources(ctx, q, func(o tuples.Object) bool {
			sendErr = send(&pb.LookupResourcesResponse{Revision: rev, Object: fromObject(o), Cursor: encodeCursor("lr1", key, o.ID)})
			return sendErr == nil
		})
	}
	if sendErr != nil {
		return sendErr
	}
	return contextError("context", contextualError("contextual_tuples", err))
}

// conditionalKey ties a lookup's cursor to whether it lists conditional
// members, whose pages differ.
func conditionalKey(include bool) string {
	if include {
		return "?conditional"
	}
	return ""
}

func (n native) LookupSubjects(ctx context.Context, req *connect.Request[pb.LookupSubjectsRequest], stream *connect.ServerStream[pb.LookupSubjectsResponse]) error {
	return toConnect(n.lookupSubjects(ctx, req.Msg, stream.Send))
}

func (n native) lookupSubjects(ctx context.Context, m *pb.LookupSubjectsRequest, send func(*pb.LookupSubjectsResponse) error) error {
	s := n.s
	// Conditional members are left out unless include_conditional asks
	// for them, marked: a caller that reads only the ids then never takes
	// one for a member.
	reqCtx, err := s.requestContext("context", m.Context)
	if err != nil {
		return err
	}
	ctx, err = clocked(ctx, "now", m.Now)
	if err != nil {
		return err
	}
	snap, sch, err := s.readAt(ctx, m.Consistency)
	if err != nil {
		return err
	}
	defer snap.Close()
	obj, err := toObject("object", m.Object)
	if err != nil {
		return err
	}
	if m.Relation == "" {
		return badInput("relation is empty")
	}
	if err := checkNames(sch, nativeFields("", "object"), obj, m.Relation, nil); err != nil {
		return err
	}
	if m.SubjectType != "" {
		subj := tuples.Subject{Type: m.SubjectType, Relation: m.SubjectRelation}
		if err := checkNames(sch, fields{subjectType: "subject_type", subjectRelation: "subject_relation"}, obj, "", &subj); err != nil {
			return err
		}
	} else if m.SubjectRelation != "" {
		return badInput("subject_relation needs subject_type")
	}
	key := obj.String() + "#" + m.Relation + "@" + m.SubjectType + "#" + m.SubjectRelation + conditionalKey(m.IncludeConditional)
	afterText, err := decodeCursor("cursor", "ls1", key, m.Cursor)
	if err != nil {
		return err
	}
	var after *tuples.Subject
	if afterText != "" {
		a, err := tuples.ParseSubject(afterText)
		if err != nil {
			return badInput("cursor: %q is not a cursor of this request", m.Cursor)
		}
		after = &a
	}
	q := query.SubjectsRequest{Object: obj, Relation: m.Relation, Type: m.SubjectType, SubjectRelation: m.SubjectRelation, Context: reqCtx}
	if q.With, err = s.contextual("contextual_tuples", m.ContextualTuples); err != nil {
		return err
	}
	lookup := s.q.ReaderOn(snap).LookupSubjects
	if m.IncludeConditional {
		lookup = s.q.ReaderOn(snap).LookupSubjectResults
	}
	found, err := lookup(ctx, q)
	if err != nil {
		return contextError("context", contextualError("contextual_tuples", err))
	}
	rev := s.tokens.revision(snap.Revision())
	sent := 0
	for _, r := range found {
		if after != nil && compareSubjects(r.Subject, *after) <= 0 {
			continue
		}
		if m.Limit > 0 && sent == int(m.Limit) {
			break
		}
		msg := &pb.LookupSubjectsResponse{Revision: rev, Subject: fromSubject(r.Subject), Cursor: encodeCursor("ls1", key, r.Subject.String()),
			Conditional: r.Conditional, Missing: r.Missing}
		for _, x := range r.Excluded {
			msg.Excluded = append(msg.Excluded, fromSubject(x))
		}
		if err := send(msg); err != nil {
			return err
		}
		sent++
	}
	return nil
}

// compareSubjects is the order LookupSubjects answers in: by type, id,
// then relation.
func compareSubjects(a, b tuples.Subject) int {
	if c := strings.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	if c := strings.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	return strings.Compare(a.Relation, b.Relation)
}

func (n native) Expand(ctx context.Context, req *connect.Request[pb.ExpandRequest]) (*connect.Response[pb.ExpandResponse], error) {
	res, err := n.expand(ctx, req.Msg)
	return connect.NewResponse(res), toConnect(err)
}

func (n native) expand(ctx context.Context, m *pb.ExpandRequest) (*pb.ExpandResponse, error) {
	s := n.s
	ctx, err := clocked(ctx, "now", m.Now)
	if err != nil {
		return nil, err
	}
	snap, sch, err := s.readAt(ctx, m.Consistency)
	if err != nil {
		return nil, err
	}
	defer snap.Close()
	obj, err := toObject("object", m.Object)
	if err != nil {
		return nil, err
	}
	if m.Relation == "" {
		return nil, badInput("relation is empty")
	}
	if err := checkNames(sch, nativeFields("", "object"), obj, m.Relation, nil); err != nil {
		return nil, err
	}
	extra, err := s.contextual("contextual_tuples", m.ContextualTuples)
	if err != nil {
		return nil, err
	}
	rev := snap.Revision()
	tree, err := s.q.ReaderOn(snap).Expand(ctx, query.ExpandRequest{Object: obj, Relation: m.Relation, With: extra,
		Options: expand.Options{Recursive: m.Recursive, Depth: int(m.Depth)}})
	if err != nil {
		return nil, contextualError("contextual_tuples", err)
	}
	pbTree, err := fromNode(tree)
	if err != nil {
		return nil, err
	}
	return &pb.ExpandResponse{Revision: s.tokens.revision(rev), Tree: pbTree, Text: tree.String()}, nil
}

func fromNode(n *expand.Node) (*pb.ExpandNode, error) {
	if n == nil {
		return nil, nil
	}
	out := &pb.ExpandNode{Kind: string(n.Kind), Label: n.Label, Truncated: n.Truncated, Condition: n.Condition}
	if n.Subject != nil {
		out.Subject = fromSubject(*n.Subject)
	}
	var err error
	if out.Context, err = wire.StructFromJSON(n.Context); err != nil {
		return nil, fmt.Errorf("expand leaf %s: stored context: %w", n.Label, err)
	}
	if n.Expires != "" {
		exp, err := tuples.ParseExpiry(n.Expires)
		if err != nil {
			return nil, fmt.Errorf("expand leaf %s: %w", n.Label, err)
		}
		out.Expiration = wire.Timestamp(exp)
	}
	for _, c := range n.Children {
		pc, err := fromNode(c)
		if err != nil {
			return nil, err
		}
		out.Children = append(out.Children, pc)
	}
	return out, nil
}

func (n native) Write(ctx context.Context, req *connect.Request[pb.WriteRequest]) (*connect.Response[pb.WriteResponse], error) {
	res, err := n.write(ctx, req.Msg)
	return connect.NewResponse(res), toConnect(err)
}

func (n native) write(ctx context.Context, m *pb.WriteRequest) (*pb.WriteResponse, error) {
	s := n.s
	if len(m.Ops)+len(m.Preconditions) > s.limits.MaxWriteOps {
		return nil, overLimit("ops and preconditions: %d; at most %d per write", len(m.Ops)+len(m.Preconditions), s.limits.MaxWriteOps)
	}
	if len(m.Ops) == 0 {
		return nil, badInput("ops is empty: a write needs at least one operation")
	}
	var b tuples.Batch
	for i, op := range m.Ops {
		what := fmt.Sprintf("ops[%d]", i)
		var kind tuples.OpKind
		switch op.GetKind() {
		case pb.WriteOp_KIND_CREATE:
			kind = tuples.OpCreate
		case pb.WriteOp_KIND_TOUCH:
			kind = tuples.OpTouch
		case pb.WriteOp_KIND_DELETE:
			kind = tuples.OpDelete
		default:
			return nil, badInput("%s.kind: choose KIND_CREATE, KIND_TOUCH or KIND_DELETE", what)
		}
		t, err := toTuple(what+".tuple", op.GetTuple())
		if err != nil {
			return nil, err
		}
		b.Ops = append(b.Ops, tuples.Op{Kind: kind, Tuple: t})
	}
	for i, p := range m.Preconditions {
		f := toFilter(p.GetFilter())
		if f == (tuples.Filter{}) {
			return nil, badInput("preconditions[%d].filter is empty: set at least one field", i)
		}
		b.Preconditions = append(b.Preconditions, tuples.Precondition{Filter: f, MustMatch: p.GetMustMatch()})
	}
	rev, err := s.q.Write(ctx, b)
	if err != nil {
		return nil, err
	}
	s.wrote()
	return &pb.WriteResponse{Revision: s.tokens.revision(rev)}, nil
}

func (n native) DeleteMatching(ctx context.Context, req *connect.Request[pb.DeleteMatchingRequest]) (*connect.Response[pb.DeleteMatchingResponse], error) {
	s := n.s
	f := toFilter(req.Msg.Filter)
	if f == (tuples.Filter{}) {
		return nil, toConnect(badInput("filter is empty and would delete every tuple; set at least one field"))
	}
	rev, deleted, err := s.q.DeleteMatching(ctx, f)
	if err != nil {
		return nil, toConnect(err)
	}
	s.wrote()
	return connect.NewResponse(&pb.DeleteMatchingResponse{Revision: s.tokens.revision(rev), Deleted: uint64(deleted)}), nil
}

func (n native) Read(ctx context.Context, req *connect.Request[pb.ReadRequest]) (*connect.Response[pb.ReadResponse], error) {
	res, err := n.read(ctx, req.Msg)
	return connect.NewResponse(res), toConnect(err)
}

func (n native) read(ctx context.Context, m *pb.ReadRequest) (*pb.ReadResponse, error) {
	s := n.s
	limit := int(m.Limit)
	switch {
	case limit == 0:
		limit = s.limits.DefaultPageSize
	case limit > s.limits.MaxPageSize:
		return nil, overLimit("limit: %d tuples; a page holds at most %d", limit, s.limits.MaxPageSize)
	}
	f := toFilter(m.Filter)
	key := filterKey(f)
	inner, err := decodeCursor("cursor", "rd1", key, m.Cursor)
	if err != nil {
		return nil, err
	}
	if ctx, err = clocked(ctx, "now", m.Now); err != nil {
		return nil, err
	}
	snap, err := s.snapshot(ctx, m.Consistency)
	if err != nil {
		return nil, err
	}
	defer snap.Close()
	ts, next, err := s.q.ReaderOn(snap).Read(ctx, f, inner, limit)
	if err != nil {
		return nil, err
	}
	out := &pb.ReadResponse{Revision: s.tokens.revision(snap.Revision()), Tuples: make([]*pb.Tuple, len(ts))}
	for i, t := range ts {
		if out.Tuples[i], err = fromTuple(t); err != nil {
			return nil, err
		}
	}
	if next != "" {
		out.NextCursor = encodeCursor("rd1", key, next)
	}
	return out, nil
}

func format(f pb.TupleFormat) (tuples.Format, error) {
	switch f {
	case pb.TupleFormat_TUPLE_FORMAT_UNSPECIFIED, pb.TupleFormat_TUPLE_FORMAT_TEXT:
		return tuples.FormatText, nil
	case pb.TupleFormat_TUPLE_FORMAT_JSONL:
		return tuples.FormatJSONL, nil
	}
	return 0, badInput("format: %d is not a tuple format; choose TUPLE_FORMAT_TEXT or TUPLE_FORMAT_JSONL", f)
}

func (n native) Import(ctx context.Context, stream *connect.ClientStream[pb.ImportRequest]) (*connect.Response[pb.ImportResponse], error) {
	s := n.s
	if !stream.Receive() {
		if err := stream.Err(); err != nil {
			return nil, toConnect(err)
		}
		return nil, toConnect(badInput("the import stream is empty: send the input's bytes in one or more messages"))
	}
	first := stream.Msg()
	f, err := format(first.Format)
	if err != nil {
		return nil, toConnect(err)
	}
	name := first.Name
	if name == "" {
		name = "import"
	}
	// The store reads the input as the client streams it; a pipe joins
	// the two, so the input is never held whole.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	go func() {
		defer func() {
			if r := recover(); r != nil {
				pw.CloseWithError(fmt.Errorf("internal error: %v", r))
			}
		}()
		if _, err := pw.Write(first.Data); err != nil {
			return
		}
		for stream.Receive() {
			if _, err := pw.Write(stream.Msg().Data); err != nil {
				return
			}
		}
		if err := stream.Err(); err != nil {
			pw.CloseWithError(fmt.Errorf("import stream: %w", err))
			return
		}
		pw.Close()
	}()
	res, err := s.q.Import(ctx, pr, store.ImportOptions{Format: f, Name: name})
	pr.CloseWithError(errors.New("import ended"))
	if err != nil {
		return nil, toConnect(err)
	}
	s.wrote()
	return connect.NewResponse(&pb.ImportResponse{Revision: s.tokens.revision(res.Revision), Tuples: uint64(res.Tuples)}), nil
}

// exportChunk is about how many bytes one Export message carries.
const exportChunk = 64 << 10

// chunkWriter sends what Export writes in messages of whole lines.
type chunkWriter struct {
	buf  bytes.Buffer
	send func([]byte) error
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	if w.buf.Len() >= exportChunk {
		b := w.buf.Bytes()
		cut := bytes.LastIndexByte(b, '\n') + 1
		if cut > 0 {
			if err := w.send(b[:cut]); err != nil {
				return 0, err
			}
			w.buf.Next(cut)
		}
	}
	return len(p), nil
}

func (w *chunkWriter) flush() error {
	if w.buf.Len() == 0 {
		return nil
	}
	return w.send(w.buf.Bytes())
}

func (n native) Export(ctx context.Context, req *connect.Request[pb.ExportRequest], stream *connect.ServerStream[pb.ExportResponse]) error {
	s := n.s
	f, err := format(req.Msg.Format)
	if err != nil {
		return toConnect(err)
	}
	snap, err := s.snapshot(ctx, req.Msg.Consistency)
	if err != nil {
		return toConnect(err)
	}
	defer snap.Close()
	rev := s.tokens.revision(snap.Revision())
	w := &chunkWriter{send: func(b []byte) error {
		return stream.Send(&pb.ExportResponse{Revision: rev, Data: bytes.Clone(b)})
	}}
	if _, err := s.q.Export(ctx, w, snap.Revision(), f); err != nil {
		return toConnect(err)
	}
	return toConnect(w.flush())
}

// watchBatch is how many changes Watch reads from the log at a time.
const watchBatch = 1000

func (n native) Watch(ctx context.Context, req *connect.Request[pb.WatchRequest], stream *connect.ServerStream[pb.WatchResponse]) error {
	return toConnect(n.watch(ctx, req.Msg, stream.Send))
}

func (n native) watch(ctx context.Context, m *pb.WatchRequest, send func(*pb.WatchResponse) error) error {
	s := n.s
	latest := func() (tuples.Revision, error) {
		snap, err := s.store.Snapshot(ctx, 0)
		if err != nil {
			return 0, err
		}
		defer snap.Close()
		return snap.Revision(), nil
	}
	var after tuples.Revision
	if m.After == "" {
		rev, err := latest()
		if err != nil {
			return err
		}
		after = rev
	} else {
		rev, err := s.tokens.decode("after", m.After)
		if err != nil {
			return err
		}
		after = rev
	}
	beat := s.limits.WatchHeartbeat
	if m.HeartbeatMs > 0 {
		beat = max(time.Duration(m.HeartbeatMs)*time.Millisecond, 100*time.Millisecond)
	}
	ticker := time.NewTicker(beat)
	defer ticker.Stop()
	// On a shared store other processes write too, and only the change
	// log records their writes: poll it. A datastore that notifies
	// (PostgreSQL's LISTEN/NOTIFY) wakes the loop at once; the poll stays,
	// since a notification can be lost with its connection.
	var poll <-chan time.Time
	if s.shared {
		pt := time.NewTicker(s.poll)
		defer pt.Stop()
		poll = pt.C
	}
	for {
		// Take the signal before reading the log, so that a write
		// landing in between wakes the wait below.
		signal := s.writeSignal()
		notified := s.changeSignal()
		changes, err := s.q.Changes(ctx, after, watchBatch)
		if err != nil {
			return err
		}
		for len(changes) > 0 {
			rev := changes[0].Revision
			msg := &pb.WatchResponse{Revision: s.tokens.revision(rev)}
			i := 0
			for ; i < len(changes) && changes[i].Revision == rev; i++ {
				kind := pb.Change_KIND_WRITE
				if changes[i].Kind == tuples.ChangeDelete {
					kind = pb.Change_KIND_DELETE
				}
				t, err := fromTuple(changes[i].Tuple)
				if err != nil {
					return err
				}
				msg.Changes = append(msg.Changes, &pb.Change{Kind: kind, Tuple: t})
			}
			if err := send(msg); err != nil {
				return err
			}
			after, changes = rev, changes[i:]
			ticker.Reset(beat)
		}
		if len(changes) == 0 {
			// Nothing more in the log for now: wait for a write, a
			// heartbeat, the caller leaving or the server stopping.
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.stopping:
			return connect.NewError(connect.CodeUnavailable, errors.New("server shutting down; resume the watch from the last revision received"))
		case <-signal:
		case <-notified:
		case <-poll:
		case <-ticker.C:
			rev, err := latest()
			if err != nil {
				return err
			}
			if err := send(&pb.WatchResponse{Revision: s.tokens.revision(max(rev, after)), Heartbeat: true}); err != nil {
				return err
			}
		}
	}
}

func (n native) ReadSchema(ctx context.Context, req *connect.Request[pb.ReadSchemaRequest]) (*connect.Response[pb.ReadSchemaResponse], error) {
	s := n.s
	snap, err := s.snapshot(ctx, req.Msg.Consistency)
	if err != nil {
		return nil, toConnect(err)
	}
	r := s.q.ReaderOn(snap)
	defer r.Close()
	// A store without a schema yet answers an empty text, which the
	// client's store reads as none.
	out := &pb.ReadSchemaResponse{Revision: s.tokens.revision(r.Revision())}
	if sch := r.Schema(); sch != nil {
		out.Text = sch.Text()
	}
	return connect.NewResponse(out), nil
}

func (n native) WriteSchema(ctx context.Context, req *connect.Request[pb.WriteSchemaRequest]) (*connect.Response[pb.WriteSchemaResponse], error) {
	res, err := n.writeSchema(ctx, req.Msg)
	return connect.NewResponse(res), toConnect(err)
}

// writeSchema writes the schema through query, as the command line
// does. Its dry run lists the changes without reading the stored tuples,
// which the write itself checks.
func (n native) writeSchema(ctx context.Context, m *pb.WriteSchemaRequest) (*pb.WriteSchemaResponse, error) {
	s := n.s
	name := m.Filename
	if name == "" {
		name = "schema"
	}
	next, err := schema.Load(name, []byte(m.Text))
	if err != nil {
		return nil, err
	}
	var res query.SchemaWriteResult
	if m.DryRun {
		res, err = s.q.SchemaChanges(ctx, next)
	} else {
		res, err = s.q.SchemaWrite(ctx, name, []byte(m.Text), next, false)
	}
	if err != nil {
		return nil, err
	}
	if res.Written {
		s.wrote()
	}
	out := &pb.WriteSchemaResponse{Revision: s.tokens.revision(res.Revision), Written: res.Written}
	for _, d := range res.Changes {
		out.Changes = append(out.Changes, &pb.SchemaChange{Kind: d.Kind.String(), Type: d.Type, Relation: d.Relation, Condition: d.Condition, Old: d.Old, New: d.New})
	}
	return out, nil
}

func (n native) Stats(ctx context.Context, _ *connect.Request[pb.StatsRequest]) (*connect.Response[pb.StatsResponse], error) {
	s := n.s
	st, err := s.q.Stats(ctx)
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&pb.StatsResponse{
		Version:      s.version,
		Revision:     s.tokens.revision(st.Revision),
		CacheHits:    st.Checker.CacheHits,
		CacheMisses:  st.Checker.CacheMisses,
		CacheEntries: uint64(st.Checker.CacheEntries),
		Backend:      s.backend,
	}), nil
}

// readAt opens the snapshot a read asks for and the schema in force at it.
// The caller closes the snapshot; on an error nothing is left open.
func (s *Server) readAt(ctx context.Context, c *pb.Consistency) (tuples.Snapshot, *schema.Schema, error) {
	snap, err := s.snapshot(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	sch, err := needSchema(snap)
	if err != nil {
		snap.Close()
		return nil, nil, err
	}
	return snap, sch, nil
}
