package tuples

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// A payload is stored as the value of a tuple's keys (and in the change
// log) in a small binary form that every backend shares: a plain tuple
// stores nothing, so its reads never decode a value.
//
//	flags byte (payloadVersion | hasExpiry | hasCondition)
//	[expiry: unix seconds int64 big-endian, nanoseconds uint32 big-endian]
//	[condition: uvarint length, name, then the context's JSON to the end]
const (
	payloadVersion  = 0x10
	payloadExpiry   = 0x01
	payloadCond     = 0x02
	payloadKnownBit = payloadVersion | payloadExpiry | payloadCond
)

// AppendPayload appends p's stored form to b; a zero payload appends
// nothing.
func AppendPayload(b []byte, p Payload) []byte {
	if p.IsZero() {
		return b
	}
	flags := byte(payloadVersion)
	if !p.Expires.IsZero() {
		flags |= payloadExpiry
	}
	if p.Condition != "" {
		flags |= payloadCond
	}
	b = append(b, flags)
	if !p.Expires.IsZero() {
		b = binary.BigEndian.AppendUint64(b, uint64(p.Expires.Unix()))
		b = binary.BigEndian.AppendUint32(b, uint32(p.Expires.Nanosecond()))
	}
	if p.Condition != "" {
		b = binary.AppendUvarint(b, uint64(len(p.Condition)))
		b = append(b, p.Condition...)
		b = append(b, p.Context...)
	}
	return b
}

// PayloadLen is the length of p's stored form.
func PayloadLen(p Payload) int {
	if p.IsZero() {
		return 0
	}
	n := 1
	if !p.Expires.IsZero() {
		n += 12
	}
	if p.Condition != "" {
		n += binary.PutUvarint(make([]byte, binary.MaxVarintLen64), uint64(len(p.Condition))) + len(p.Condition) + len(p.Context)
	}
	return n
}

var errBadPayload = errors.New("malformed stored payload")

// DecodePayload reads a payload's stored form; an empty value is the
// zero payload.
func DecodePayload(b []byte) (Payload, error) {
	var p Payload
	if len(b) == 0 {
		return p, nil
	}
	flags := b[0]
	if flags&^payloadKnownBit != 0 || flags&payloadVersion == 0 || flags&(payloadExpiry|payloadCond) == 0 {
		// A plain tuple stores nothing, never a bare version byte.
		return p, fmt.Errorf("%w: unknown flags %#x", errBadPayload, flags)
	}
	rest := b[1:]
	if flags&payloadExpiry != 0 {
		if len(rest) < 12 {
			return p, fmt.Errorf("%w: short expiry", errBadPayload)
		}
		p.Expires = time.Unix(int64(binary.BigEndian.Uint64(rest)), int64(binary.BigEndian.Uint32(rest[8:]))).UTC()
		rest = rest[12:]
	}
	if flags&payloadCond != 0 {
		n, w := binary.Uvarint(rest)
		if w <= 0 || n == 0 || uint64(len(rest)-w) < n {
			return p, fmt.Errorf("%w: bad condition name", errBadPayload)
		}
		p.Condition = string(rest[w : w+int(n)])
		p.Context = string(rest[w+int(n):])
		rest = nil
	}
	if len(rest) != 0 {
		return p, fmt.Errorf("%w: %d bytes left over", errBadPayload, len(rest))
	}
	return p, nil
}

// ExpiredValue reports whether a stored payload has expired at now,
// without decoding the rest of it; an empty value never expires, and
// neither does anything at the zero clock (a raw read, which sees
// expired tuples too).
func ExpiredValue(b []byte, now time.Time) bool {
	if len(b) < 13 || b[0]&payloadExpiry == 0 || now.IsZero() {
		return false
	}
	sec := int64(binary.BigEndian.Uint64(b[1:]))
	nsec := int64(binary.BigEndian.Uint32(b[9:]))
	ns, nn := now.Unix(), int64(now.Nanosecond())
	// Expired when the expiry is at or before now.
	return sec < ns || sec == ns && nsec <= nn
}

type clockKey struct{}

// WithClock returns ctx carrying the clock reads judge expiry by: a
// snapshot opened under it hides every tuple whose expiry is at or before
// now. A request with an explicit clock (--now, a validation file's now:)
// sets it; without one, the store sets its own current time once, when
// the snapshot opens.
func WithClock(ctx context.Context, now time.Time) context.Context {
	return context.WithValue(ctx, clockKey{}, now)
}

// ClockFrom returns the clock WithClock set, and whether one was.
func ClockFrom(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(clockKey{}).(time.Time)
	return t, ok
}

// Clocked is implemented by snapshots whose reads hide expired tuples:
// Now is the clock they judge expiry by (the zero time for none).
type Clocked interface {
	Now() time.Time
}

// NowOf returns the clock of a snapshot, the zero time when it has none.
func NowOf(r any) time.Time {
	if c, ok := r.(Clocked); ok {
		return c.Now()
	}
	return time.Time{}
}

// Getter is implemented by reads that can return one stored tuple with
// its payload by key.
type Getter interface {
	Get(ctx context.Context, k Key) (Tuple, bool, error)
}

// Get returns the tuple stored under k, with its payload, if r holds it
// (and it has not expired at r's clock).
func Get(ctx context.Context, r Reads, k Key) (Tuple, bool, error) {
	if g, ok := r.(Getter); ok {
		return g.Get(ctx, k)
	}
	obj := Object{Type: k.ObjectType, ID: k.ObjectID}
	f := SubjectFilter{Type: k.SubjectType, Plain: k.SubjectRelation == "", Sets: k.SubjectRelation != "", Relation: k.SubjectRelation}
	for t, err := range r.SubjectsOf(ctx, []Object{obj}, k.Relation, f) {
		if err != nil {
			return Tuple{}, false, err
		}
		if t.Key() == k {
			return t, true, nil
		}
	}
	return Tuple{}, false, nil
}
