package condition

import (
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"
)

// Kind is a parameter type's head: a scalar, or list or map.
type Kind int

// The parameter kinds, as written in a schema.
const (
	KindBool Kind = iota + 1
	KindInt
	KindUint
	KindDouble
	KindString
	KindBytes
	KindDuration
	KindTimestamp
	KindIPAddress
	KindAny
	KindList
	KindMap
)

var kindNames = map[Kind]string{
	KindBool: "bool", KindInt: "int", KindUint: "uint", KindDouble: "double",
	KindString: "string", KindBytes: "bytes", KindDuration: "duration",
	KindTimestamp: "timestamp", KindIPAddress: "ipaddress", KindAny: "any",
	KindList: "list", KindMap: "map",
}

var scalarKinds = map[string]Kind{
	"bool": KindBool, "int": KindInt, "uint": KindUint, "double": KindDouble,
	"string": KindString, "bytes": KindBytes, "duration": KindDuration,
	"timestamp": KindTimestamp, "ipaddress": KindIPAddress, "any": KindAny,
}

// TypeNames lists the parameter types a schema may name, for messages.
const TypeNames = "bool int uint double string bytes duration timestamp ipaddress any list<T> map<string, T>"

// Type is a parameter's declared type. Elem is the element type of a list
// or the value type of a map (map keys are always strings).
type Type struct {
	Kind Kind
	Elem *Type
}

// String prints the type as a schema writes it.
func (t Type) String() string {
	switch t.Kind {
	case KindList:
		return "list<" + t.Elem.String() + ">"
	case KindMap:
		return "map<string, " + t.Elem.String() + ">"
	}
	return kindNames[t.Kind]
}

// Equal reports whether two types are the same type.
func (t Type) Equal(o Type) bool {
	if t.Kind != o.Kind {
		return false
	}
	if t.Elem == nil || o.Elem == nil {
		return t.Elem == nil && o.Elem == nil
	}
	return t.Elem.Equal(*o.Elem)
}

// ParseType reads a parameter type: a scalar name, `list<T>` or
// `map<string, T>`, with any spacing around the punctuation.
func ParseType(s string) (Type, error) {
	t, rest, err := parseType(strings.TrimSpace(s))
	if err != nil {
		return Type{}, err
	}
	if rest = strings.TrimSpace(rest); rest != "" {
		return Type{}, fmt.Errorf("unexpected %q after type %s", rest, t)
	}
	return t, nil
}

func parseType(s string) (Type, string, error) {
	name, rest := s, ""
	if i := strings.IndexAny(s, "<>, "); i >= 0 {
		name, rest = s[:i], s[i:]
	}
	if k, ok := scalarKinds[name]; ok {
		return Type{Kind: k}, rest, nil
	}
	switch name {
	case "list":
		elem, rest, err := parseParams(rest, 1)
		if err != nil {
			return Type{}, "", fmt.Errorf("list: %w", err)
		}
		return Type{Kind: KindList, Elem: &elem[0]}, rest, nil
	case "map":
		args, rest, err := parseParams(rest, 2)
		if err != nil {
			return Type{}, "", fmt.Errorf("map: %w", err)
		}
		if args[0].Kind != KindString {
			return Type{}, "", fmt.Errorf("map keys must be string, not %s", args[0])
		}
		return Type{Kind: KindMap, Elem: &args[1]}, rest, nil
	}
	if name == "" {
		return Type{}, "", fmt.Errorf("missing type (one of %s)", TypeNames)
	}
	return Type{}, "", fmt.Errorf("unknown parameter type %q (one of %s)", name, TypeNames)
}

// parseParams reads `<T>` or `<K, V>`.
func parseParams(s string, n int) ([]Type, string, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "<") {
		return nil, "", fmt.Errorf("expected '<' and %d type argument(s)", n)
	}
	s = s[1:]
	var out []Type
	for i := 0; i < n; i++ {
		t, rest, err := parseType(strings.TrimSpace(s))
		if err != nil {
			return nil, "", err
		}
		out = append(out, t)
		rest = strings.TrimSpace(rest)
		want := ","
		if i == n-1 {
			want = ">"
		}
		if !strings.HasPrefix(rest, want) {
			return nil, "", fmt.Errorf("expected %q after %s", want, t)
		}
		s = rest[1:]
	}
	return out, s, nil
}

func (t Type) celType() *cel.Type {
	switch t.Kind {
	case KindBool:
		return cel.BoolType
	case KindInt:
		return cel.IntType
	case KindUint:
		return cel.UintType
	case KindDouble:
		return cel.DoubleType
	case KindString:
		return cel.StringType
	case KindBytes:
		return cel.BytesType
	case KindDuration:
		return cel.DurationType
	case KindTimestamp:
		return cel.TimestampType
	case KindIPAddress:
		return ipAddressType
	case KindList:
		return cel.ListType(t.Elem.celType())
	case KindMap:
		return cel.MapType(cel.StringType, t.Elem.celType())
	}
	return cel.DynType
}
