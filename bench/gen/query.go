package gen

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/docketdb/docket/tuples"
)

// Kind is what a query of the check list asks.
type Kind string

// Query kinds.
const (
	// KindCheck: is Subject in Object#Relation.
	KindCheck Kind = "check"
	// KindResources: which objects of Type have Relation for Subject.
	KindResources Kind = "resources"
	// KindSubjects: which subjects of Type are in Object#Relation.
	KindSubjects Kind = "subjects"
)

// Expect is the known answer of a query.
type Expect struct {
	// Known is false when the generator cannot cheaply tell the answer;
	// engines are then only compared with each other.
	Known bool
	// Allowed is the answer of a check.
	Allowed bool
	// Count is the number of results of a lookup.
	Count int
}

// Query is one line of a check list:
//
//	check LABEL OBJECT#RELATION@SUBJECT allowed|denied
//	resources LABEL SUBJECT TYPE#RELATION n=COUNT|-
//	subjects LABEL OBJECT#RELATION TYPE n=COUNT|-
//
// LABEL names the path the query exercises (direct, nested, negative,
// deep, wide, ...), so that timings can be reported per path.
type Query struct {
	Kind     Kind
	Label    string
	Object   tuples.Object
	Relation string
	Subject  tuples.Subject
	// Type is the object type of a resources query, the subject type of a
	// subjects query.
	Type   string
	Expect Expect
}

func (q Query) String() string {
	var arg, exp string
	switch q.Kind {
	case KindCheck:
		arg = objectString(q.Object) + "#" + q.Relation + "@" + subjectString(q.Subject)
		exp = "-"
		if q.Expect.Known {
			exp = "denied"
			if q.Expect.Allowed {
				exp = "allowed"
			}
		}
	case KindResources:
		arg = subjectString(q.Subject) + " " + q.Type + "#" + q.Relation
		exp = countString(q.Expect)
	case KindSubjects:
		arg = objectString(q.Object) + "#" + q.Relation + " " + q.Type
		exp = countString(q.Expect)
	}
	return string(q.Kind) + " " + q.Label + " " + arg + " " + exp
}

func countString(e Expect) string {
	if !e.Known {
		return "-"
	}
	return "n=" + strconv.Itoa(e.Count)
}

func objectString(o tuples.Object) string { return o.Type + ":" + o.ID }

func subjectString(s tuples.Subject) string {
	if s.Relation == "" {
		return s.Type + ":" + s.ID
	}
	return s.Type + ":" + s.ID + "#" + s.Relation
}

// ReadQueries parses a check list; name is used in error messages.
func ReadQueries(r io.Reader, name string) ([]Query, error) {
	var qs []Query
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "//") {
			continue
		}
		q, err := ParseQuery(text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d:1: %w", name, line, err)
		}
		qs = append(qs, q)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return qs, nil
}

// ParseQuery parses one check-list line.
func ParseQuery(text string) (Query, error) {
	f := strings.Fields(text)
	var q Query
	if len(f) < 4 {
		return q, fmt.Errorf("query %q: want KIND LABEL QUERY EXPECT", text)
	}
	q.Kind, q.Label = Kind(f[0]), f[1]
	var err error
	switch q.Kind {
	case KindCheck:
		if len(f) != 4 {
			return q, fmt.Errorf("check %q: want check LABEL OBJECT#RELATION@SUBJECT allowed|denied", text)
		}
		var objRel, subj string
		var ok bool
		if objRel, subj, ok = cut2(f[2]); !ok {
			return q, fmt.Errorf("check %q: want OBJECT#RELATION@SUBJECT", f[2])
		}
		if q.Object, q.Relation, err = parseObjectRelation(objRel); err != nil {
			return q, err
		}
		if q.Subject, err = parseSubject(subj); err != nil {
			return q, err
		}
		switch f[3] {
		case "allowed":
			q.Expect = Expect{Known: true, Allowed: true}
		case "denied":
			q.Expect = Expect{Known: true}
		case "-":
		default:
			return q, fmt.Errorf("check expectation %q: want allowed, denied or -", f[3])
		}
		return q, nil
	case KindResources:
		if len(f) != 5 {
			return q, fmt.Errorf("resources %q: want resources LABEL SUBJECT TYPE#RELATION n=COUNT|-", text)
		}
		if q.Subject, err = parseSubject(f[2]); err != nil {
			return q, err
		}
		var ok bool
		if q.Type, q.Relation, ok = strings.Cut(f[3], "#"); !ok {
			return q, fmt.Errorf("resources %q: want TYPE#RELATION", f[3])
		}
		q.Expect, err = parseCount(f[4])
		return q, err
	case KindSubjects:
		if len(f) != 5 {
			return q, fmt.Errorf("subjects %q: want subjects LABEL OBJECT#RELATION TYPE n=COUNT|-", text)
		}
		if q.Object, q.Relation, err = parseObjectRelation(f[2]); err != nil {
			return q, err
		}
		q.Type = f[3]
		q.Expect, err = parseCount(f[4])
		return q, err
	}
	return q, fmt.Errorf("query kind %q: want check, resources or subjects", f[0])
}

// cut2 splits OBJECT#RELATION@SUBJECT at the first '@' after the first '#'.
func cut2(s string) (string, string, bool) {
	h := strings.IndexByte(s, '#')
	if h < 0 {
		return "", "", false
	}
	a := strings.IndexByte(s[h:], '@')
	if a < 0 {
		return "", "", false
	}
	return s[:h+a], s[h+a+1:], true
}

func parseObjectRelation(s string) (tuples.Object, string, error) {
	obj, rel, ok := strings.Cut(s, "#")
	if !ok || rel == "" {
		return tuples.Object{}, "", fmt.Errorf("%q: want OBJECT#RELATION", s)
	}
	t, id, ok := strings.Cut(obj, ":")
	if !ok || t == "" || id == "" {
		return tuples.Object{}, "", fmt.Errorf("object %q: want type:id", obj)
	}
	return tuples.Object{Type: t, ID: id}, rel, nil
}

func parseSubject(s string) (tuples.Subject, error) {
	t, rest, ok := strings.Cut(s, ":")
	if !ok || t == "" || rest == "" {
		return tuples.Subject{}, fmt.Errorf("subject %q: want type:id, type:id#relation or type:*", s)
	}
	id, rel, _ := strings.Cut(rest, "#")
	return tuples.Subject{Type: t, ID: id, Relation: rel}, nil
}

func parseCount(s string) (Expect, error) {
	if s == "-" {
		return Expect{}, nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(s, "n="))
	if err != nil || !strings.HasPrefix(s, "n=") || n < 0 {
		return Expect{}, fmt.Errorf("count %q: want n=COUNT or -", s)
	}
	return Expect{Known: true, Count: n}, nil
}
