package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/docketdb/docket/condition"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/internal/wire"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func toObject(what string, o *pb.ObjectRef) (tuples.Object, error) {
	switch {
	case o == nil:
		return tuples.Object{}, badInput("%s is missing", what)
	case o.Type == "":
		return tuples.Object{}, badInput("%s.type is empty", what)
	case o.Id == "":
		return tuples.Object{}, badInput("%s.id is empty", what)
	}
	return tuples.Object{Type: o.Type, ID: o.Id}, nil
}

func toSubject(what string, s *pb.SubjectRef) (tuples.Subject, error) {
	switch {
	case s == nil:
		return tuples.Subject{}, badInput("%s is missing", what)
	case s.Type == "":
		return tuples.Subject{}, badInput("%s.type is empty", what)
	case s.Id == "":
		return tuples.Subject{}, badInput("%s.id is empty", what)
	}
	return tuples.Subject{Type: s.Type, ID: s.Id, Relation: s.Relation}, nil
}

// toTuple reads a tuple of a request, with its condition, stored context
// and expiry; the store validates them against the schema.
func toTuple(what string, t *pb.Tuple) (tuples.Tuple, error) {
	out, err := wire.FromTuple(what, t)
	if err != nil {
		return tuples.Tuple{}, &inputError{msg: strings.TrimSuffix(err.Error(), ": "+wire.ErrMissing.Error())}
	}
	return out, nil
}

func fromObject(o tuples.Object) *pb.ObjectRef { return &pb.ObjectRef{Type: o.Type, Id: o.ID} }

func fromSubject(s tuples.Subject) *pb.SubjectRef {
	return &pb.SubjectRef{Type: s.Type, Id: s.ID, Relation: s.Relation}
}

// fromTuple is the message of a stored tuple, payload and all.
func fromTuple(t tuples.Tuple) (*pb.Tuple, error) { return wire.Tuple(t) }

func toFilter(f *pb.Filter) tuples.Filter {
	if f == nil {
		return tuples.Filter{}
	}
	return tuples.Filter{
		ObjectType: f.ObjectType, ObjectID: f.ObjectId, Relation: f.Relation,
		SubjectType: f.SubjectType, SubjectID: f.SubjectId, SubjectRelation: f.SubjectRelation,
	}
}

// contextual converts a query's contextual tuples, within the limit; the
// checker validates them against the schema.
func (s *Server) contextual(what string, ts []*pb.Tuple) ([]tuples.Tuple, error) {
	if len(ts) > s.limits.MaxContextTuples {
		return nil, overLimit("%s: %d contextual tuples; at most %d per query", what, len(ts), s.limits.MaxContextTuples)
	}
	out := make([]tuples.Tuple, len(ts))
	for i, t := range ts {
		var err error
		if out[i], err = toTuple(fmt.Sprintf("%s[%d]", what, i), t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// requestContext decodes a query's condition context, within the
// server's limit; what names the field in errors.
func (s *Server) requestContext(what string, c *structpb.Struct) (condition.Context, error) {
	ctx, err := wire.ContextFromStruct(what, c, s.limits.MaxContextBytes)
	if err != nil {
		return nil, &inputError{msg: err.Error()}
	}
	return ctx, nil
}

// clocked returns ctx carrying the clock a query's now asks for, under
// which the snapshot it opens hides the tuples expired at that clock;
// unset, the store's current time decides.
func clocked(ctx context.Context, what string, now *timestamppb.Timestamp) (context.Context, error) {
	t, err := wire.Time(what, now)
	if err != nil {
		return ctx, &inputError{msg: err.Error()}
	}
	if t.IsZero() {
		return ctx, nil
	}
	return tuples.WithClock(ctx, t), nil
}

// contextualError names the request's field in an error about one of
// its contextual tuples (query numbers them from 1: "contextual tuple 2:
// ..."); any other error is returned as it is.
func contextualError(what string, err error) error {
	if _, ok := errors.AsType[*tuples.ValidationError](err); ok {
		return &inputError{msg: what + ": " + err.Error()}
	}
	return err
}

// contextError names the request's context in the error of a condition
// that was handed a value of the wrong type: the caller's to fix. Stored
// contexts are checked when written, so the value came with the request.
func contextError(what string, err error) error {
	var ve *condition.ValueError
	if errors.As(err, &ve) {
		return &inputError{msg: what + ": " + ve.Error()}
	}
	return err
}

// fields are the request's names for the parts of a query, as errors
// about them name them.
type fields struct{ objectType, relation, subjectType, subjectRelation string }

var checkFields = fields{"object.type", "relation", "subject.type", "subject.relation"}

// nativeFields are the native API's field names, under prefix
// ("items[3].") and with object called objectName ("object", "resource").
func nativeFields(prefix, objectName string) fields {
	if prefix == "" && objectName == "object" {
		// A check's, built for every one: no concatenation.
		return checkFields
	}
	return fields{prefix + objectName + ".type", prefix + "relation", prefix + "subject.type", prefix + "subject.relation"}
}

// checkNames reports a type or relation the schema does not have, with
// did-you-mean; relation "" and subj nil skip those parts.
func checkNames(sch *schema.Schema, f fields, obj tuples.Object, relation string, subj *tuples.Subject) error {
	t, err := sch.ResolveType(obj.Type)
	if err != nil {
		return unknownName(f.objectType, err)
	}
	if relation != "" {
		if _, err := t.ResolveRelation(relation); err != nil {
			return unknownName(f.relation, err)
		}
	}
	if subj == nil {
		return nil
	}
	st, err := sch.ResolveType(subj.Type)
	if err != nil {
		return unknownName(f.subjectType, err)
	}
	if subj.Relation != "" {
		if _, err := st.ResolveRelation(subj.Relation); err != nil {
			return unknownName(f.subjectRelation, err)
		}
	}
	return nil
}

// needSchema refuses a query on a store without a schema.
func needSchema(snap tuples.Snapshot) (*schema.Schema, error) {
	sch := snap.Schema()
	if sch == nil {
		return nil, fmt.Errorf("revision %d: write a schema first (WriteSchema, or 'docket schema write FILE'): %w", snap.Revision(), tuples.ErrNoSchema)
	}
	return sch, nil
}

// Cursors the server hands out are its own, so that a malformed one is
// the caller's error, told apart from a failure of the store.
func encodeCursor(kind, key, inner string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + key + "\x00" + inner))
}

func decodeCursor(what, kind, key, c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	prefix := kind + ":" + key + "\x00"
	if err != nil || !strings.HasPrefix(string(b), prefix) {
		return "", badInput("%s: %q is not a cursor of this request; pass back exactly the cursor an answer to the same request carried", what, c)
	}
	return strings.TrimPrefix(string(b), prefix), nil
}

func filterKey(f tuples.Filter) string {
	return strings.Join([]string{f.ObjectType, f.ObjectID, f.Relation, f.SubjectType, f.SubjectID, f.SubjectRelation}, "\x01")
}
