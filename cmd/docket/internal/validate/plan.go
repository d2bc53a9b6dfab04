package validate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/condition"
	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/tuples"
	"gopkg.in/yaml.v3"
)

type runner struct {
	*doc
	snap    tuples.Snapshot
	sch     *schema.Schema
	checker *check.Checker
	report  *Report
	// context is the file's context: key, the request context of every
	// assertion without its own ` with {JSON}`.
	context condition.Context
}

type job func(ctx context.Context) error

// explainLimit bounds how many differing subjects or resources of one
// expectation get a check explanation each.
const explainLimit = 3

// plan parses every assertion and expectation into jobs, reporting every
// malformed one or one naming an unknown type or relation.
func (r *runner) plan() ([]job, error) {
	var jobs []job
	var errs ErrorList
	add := func(j job, err error) {
		if err != nil {
			if l, ok := err.(ErrorList); ok {
				errs = append(errs, l...)
			} else if e, ok := err.(*Error); ok {
				errs = append(errs, e)
			} else {
				errs = append(errs, &Error{Pos: r.path, Msg: err.Error()})
			}
			return
		}
		jobs = append(jobs, j)
	}
	if n := r.keys["assertions"]; n != nil {
		ps, err := r.pairs(n, "assertions", "write allowed: [...], denied: [...] and conditional: [...]")
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			k, v := p[0], p[1]
			if k.Value != "allowed" && k.Value != "denied" && k.Value != "conditional" {
				errs = append(errs, r.errAt(k, "use allowed:, denied: or conditional:", "unknown assertion kind %q", k.Value))
				continue
			}
			items, err := r.scalars(v, "assertions."+k.Value)
			if err != nil {
				add(nil, err)
				continue
			}
			for _, it := range items {
				add(r.assertion(k.Value, it))
			}
		}
	}
	if n := r.keys["expected"]; n != nil {
		ps, err := r.pairs(n, "expected", "write subjects: {...} and resources: {...}")
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			k, v := p[0], p[1]
			switch k.Value {
			case "subjects":
				es, err := r.pairs(v, "expected.subjects", "write OBJECT#RELATION[@TYPE[#RELATION]]: [subjects]")
				if err != nil {
					add(nil, err)
					continue
				}
				for _, e := range es {
					add(r.subjects(e[0], e[1]))
				}
			case "resources":
				es, err := r.pairs(v, "expected.resources", "write SUBJECT: {TYPE#RELATION: [objects]}")
				if err != nil {
					add(nil, err)
					continue
				}
				for _, e := range es {
					inner, err := r.pairs(e[1], "expected.resources."+e[0].Value, "write SUBJECT: {TYPE#RELATION: [objects]}")
					if err != nil {
						add(nil, err)
						continue
					}
					for _, in := range inner {
						add(r.resources(e[0], in[0], in[1]))
					}
				}
			default:
				errs = append(errs, r.errAt(k, "use subjects: or resources:", "unknown expectation kind %q", k.Value))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return jobs, nil
}

// names checks that obj#relation and the subject (when given) name types
// and relations of the schema.
func (r *runner) names(n *yaml.Node, obj tuples.Object, relation string, subj *tuples.Subject) error {
	t := r.sch.Type(obj.Type)
	if t == nil {
		return r.errAt(n, "types: "+strings.Join(r.sch.TypeNames(), ", "), "unknown type %q", obj.Type)
	}
	if relation != "" && t.Relation(relation) == nil {
		return r.errAt(n, "relations of "+t.Name+": "+strings.Join(t.RelationNames(), ", "), "type %s has no relation %q", t.Name, relation)
	}
	if subj == nil {
		return nil
	}
	st := r.sch.Type(subj.Type)
	if st == nil {
		return r.errAt(n, "types: "+strings.Join(r.sch.TypeNames(), ", "), "unknown subject type %q", subj.Type)
	}
	if subj.Relation != "" && st.Relation(subj.Relation) == nil {
		return r.errAt(n, "relations of "+st.Name+": "+strings.Join(st.RelationNames(), ", "), "type %s has no relation %q", st.Name, subj.Relation)
	}
	return nil
}

func (r *runner) pos(n *yaml.Node) string { return fmt.Sprintf("%s:%d", r.path, n.Line) }

// outcome names a check's answer as assertions do.
func outcome(res check.Result) string {
	switch {
	case res.Allowed:
		return "allowed"
	case res.Conditional:
		if len(res.Missing) > 0 {
			return "conditional (missing " + strings.Join(res.Missing, ", ") + ")"
		}
		return "conditional"
	}
	return "denied"
}

func (r *runner) assertion(kind string, it *yaml.Node) (job, error) {
	text, reqCtx, col, err := splitWith(it.Value, r.context)
	if err != nil {
		at := *it
		if it.Style == 0 {
			at.Column += col
		}
		return nil, r.errAt(&at, `end a check with ' with {"PARAM": VALUE}', one JSON object`, "context: %v", err)
	}
	t, err := tuples.Parse(text)
	if err != nil {
		return nil, r.parseError(it, err)
	}
	subj := t.Subject()
	if err := r.names(it, t.Object(), t.Relation, &subj); err != nil {
		return nil, err
	}
	want := kind
	return func(ctx context.Context) error {
		q := check.Query{Object: t.Object(), Relation: t.Relation, Subject: subj, RequestContext: reqCtx}
		res, err := r.checker.Check(ctx, r.snap, q)
		if err != nil {
			return fmt.Errorf("%s: %w", r.pos(it), err)
		}
		if got := outcome(res); got == want || (want == "conditional" && res.Conditional) {
			r.report.Passed++
			return nil
		}
		// Explaining costs a second walk: only failures pay for it.
		q.Explain = true
		if res, err = r.checker.Check(ctx, r.snap, q); err != nil {
			return fmt.Errorf("%s: %w", r.pos(it), err)
		}
		got := outcome(res)
		r.report.Failures = append(r.report.Failures, Failure{
			Pos: r.pos(it), Assertion: kind + ": " + it.Value, Expected: want, Got: got,
			Explanation: res.Explanation.String(),
		})
		return nil
	}, nil
}

// subjectKey reads OBJECT#RELATION[@TYPE[#RELATION]].
func (r *runner) subjects(k, v *yaml.Node) (job, error) {
	hint := "write OBJECT#RELATION, OBJECT#RELATION@TYPE or OBJECT#RELATION@TYPE#RELATION"
	objText, rest, ok := strings.Cut(k.Value, "#")
	if !ok {
		return nil, r.errAt(k, hint, "%q is not OBJECT#RELATION", k.Value)
	}
	rel, filter, _ := strings.Cut(rest, "@")
	obj, err := tuples.ParseObject(objText)
	if err != nil || rel == "" {
		return nil, r.errAt(k, hint, "%q is not OBJECT#RELATION", k.Value)
	}
	q := check.SubjectQuery{Object: obj, Relation: rel}
	if filter != "" {
		q.Type, q.SubjectRelation, _ = strings.Cut(filter, "#")
	}
	if err := r.names(k, obj, rel, nil); err != nil {
		return nil, err
	}
	if q.Type != "" {
		if err := r.names(k, tuples.Object{Type: q.Type}, q.SubjectRelation, nil); err != nil {
			return nil, err
		}
	}
	allowedNode, condNode, err := r.expectation(v, "expected.subjects."+k.Value)
	if err != nil {
		return nil, err
	}
	members := func(n *yaml.Node, what string) ([]string, error) {
		items, err := r.scalars(n, what)
		if err != nil {
			return nil, err
		}
		want := make([]string, len(items))
		for i, it := range items {
			s := strings.TrimPrefix(it.Value, "-")
			subj, err := tuples.ParseSubject(s)
			if err != nil {
				return nil, r.errAt(it, "write TYPE:ID, TYPE:ID#RELATION, TYPE:* or -TYPE:ID for a subject a wildcard leaves out", "%v", err)
			}
			if err := r.names(it, tuples.Object{Type: subj.Type}, subj.Relation, nil); err != nil {
				return nil, err
			}
			want[i] = it.Value
		}
		return want, nil
	}
	want, err := members(allowedNode, "expected.subjects."+k.Value)
	if err != nil {
		return nil, err
	}
	var wantCond []string
	if condNode != nil {
		if wantCond, err = members(condNode, "expected.subjects."+k.Value+".conditional"); err != nil {
			return nil, err
		}
	}
	q.RequestContext = r.context
	return func(ctx context.Context) error {
		res, err := r.checker.LookupSubjectResults(ctx, r.snap, q)
		if err != nil {
			return fmt.Errorf("%s: %w", r.pos(k), err)
		}
		var got, gotCond []string
		for _, s := range res {
			list := &got
			if s.Conditional {
				list = &gotCond
			}
			*list = append(*list, s.Subject.String())
			for _, x := range s.Excluded {
				*list = append(*list, "-"+x.String())
			}
		}
		queryFor := func(member string) (check.Query, bool) {
			subj, err := tuples.ParseSubject(strings.TrimPrefix(member, "-"))
			return check.Query{Object: obj, Relation: rel, Subject: subj, RequestContext: r.context}, err == nil
		}
		if condNode == nil {
			return r.compareSets(ctx, k, "subjects of "+k.Value, want, got, queryFor)
		}
		return r.compareBoth(ctx, k, "subjects of "+k.Value, want, got, wantCond, gotCond, queryFor)
	}, nil
}

func (r *runner) resources(sk, k, v *yaml.Node) (job, error) {
	subj, err := tuples.ParseSubject(sk.Value)
	if err != nil {
		return nil, r.errAt(sk, "write TYPE:ID or TYPE:ID#RELATION", "%v", err)
	}
	if err := r.names(sk, tuples.Object{Type: subj.Type}, subj.Relation, nil); err != nil {
		return nil, err
	}
	typ, rel, ok := strings.Cut(k.Value, "#")
	if !ok || typ == "" || rel == "" {
		return nil, r.errAt(k, "write TYPE#RELATION: [objects]", "%q is not TYPE#RELATION", k.Value)
	}
	if err := r.names(k, tuples.Object{Type: typ}, rel, nil); err != nil {
		return nil, err
	}
	allowedNode, condNode, err := r.expectation(v, "expected.resources")
	if err != nil {
		return nil, err
	}
	objects := func(n *yaml.Node, what string) ([]string, error) {
		items, err := r.scalars(n, what)
		if err != nil {
			return nil, err
		}
		want := make([]string, len(items))
		for i, it := range items {
			o, err := tuples.ParseObject(it.Value)
			if err != nil {
				return nil, r.errAt(it, "write TYPE:ID", "%v", err)
			}
			if o.Type != typ {
				return nil, r.errAt(it, "list objects of type "+typ, "%s is not of type %s", it.Value, typ)
			}
			want[i] = o.String()
		}
		return want, nil
	}
	want, err := objects(allowedNode, "expected.resources")
	if err != nil {
		return nil, err
	}
	var wantCond []string
	if condNode != nil {
		if wantCond, err = objects(condNode, "expected.resources.conditional"); err != nil {
			return nil, err
		}
	}
	return func(ctx context.Context) error {
		var got, gotCond []string
		_, err := r.checker.LookupResourceResults(ctx, r.snap, check.ResourceQuery{Subject: subj, Type: typ, Relation: rel, RequestContext: r.context},
			func(o check.ResourceResult) bool {
				if o.Conditional {
					gotCond = append(gotCond, o.Object.String())
				} else {
					got = append(got, o.Object.String())
				}
				return true
			})
		if err != nil {
			return fmt.Errorf("%s: %w", r.pos(k), err)
		}
		queryFor := func(member string) (check.Query, bool) {
			o, err := tuples.ParseObject(member)
			return check.Query{Object: o, Relation: rel, Subject: subj, RequestContext: r.context}, err == nil
		}
		what := "resources " + k.Value + " of " + sk.Value
		if condNode == nil {
			return r.compareSets(ctx, k, what, want, got, queryFor)
		}
		return r.compareBoth(ctx, k, what, want, got, wantCond, gotCond, queryFor)
	}, nil
}

// expectation reads an expectation's value: a list (the members for
// certain; conditional members are not compared), or a mapping
// {allowed: [...], conditional: [...]}, both exhaustive. cond is nil for
// the list form; a missing key of the mapping is an empty list.
func (r *runner) expectation(v *yaml.Node, what string) (allowed, cond *yaml.Node, err error) {
	if v.Kind != yaml.MappingNode {
		return v, nil, nil
	}
	const hint = "write a list of members, or {allowed: [...], conditional: [...]}"
	ps, err := r.pairs(v, what, hint)
	if err != nil {
		return nil, nil, err
	}
	empty := func() *yaml.Node { return &yaml.Node{Kind: yaml.SequenceNode, Line: v.Line, Column: v.Column} }
	allowed, cond = empty(), empty()
	for _, p := range ps {
		switch p[0].Value {
		case "allowed":
			allowed = p[1]
		case "conditional":
			cond = p[1]
		default:
			return nil, nil, r.errAt(p[0], hint, "unknown key %q", p[0].Value)
		}
	}
	return allowed, cond, nil
}

// compareBoth records an expectation of the {allowed, conditional} form
// at k: one pass when both lists match, else one failure naming what
// differs in each.
func (r *runner) compareBoth(ctx context.Context, k *yaml.Node, assertion string, want, got, wantCond, gotCond []string,
	queryFor func(member string) (check.Query, bool)) error {
	missing, extra := sameSet(want, got)
	cmissing, cextra := sameSet(wantCond, gotCond)
	if len(missing)+len(extra)+len(cmissing)+len(cextra) == 0 {
		r.report.Passed++
		return nil
	}
	why, err := r.explainMembers(ctx, k, slices.Concat(missing, extra, cmissing, cextra), queryFor, true)
	if err != nil {
		return err
	}
	got2 := "allowed " + listString(got)
	if len(missing)+len(extra) > 0 {
		got2 += difference(missing, extra)
	}
	got2 += ", conditional " + listString(gotCond)
	if len(cmissing)+len(cextra) > 0 {
		got2 += difference(cmissing, cextra)
	}
	r.report.Failures = append(r.report.Failures, Failure{
		Pos: r.pos(k), Assertion: assertion,
		Expected: "allowed " + listString(want) + ", conditional " + listString(wantCond), Got: got2,
		Explanation: strings.Join(why, "\n"),
	})
	return nil
}

// explainMembers explains the checks of the first explainLimit members
// that differ from an expectation at k, each headed by its outcome when
// withOutcome is set (where allowed and conditional are both expected).
func (r *runner) explainMembers(ctx context.Context, k *yaml.Node, members []string,
	queryFor func(member string) (check.Query, bool), withOutcome bool) ([]string, error) {
	var why []string
	for _, m := range members {
		if len(why) == explainLimit {
			break
		}
		q, ok := queryFor(m)
		if !ok {
			continue
		}
		q.Explain = true
		res, err := r.checker.Check(ctx, r.snap, q)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.pos(k), err)
		}
		text := res.Explanation.String()
		if withOutcome {
			text = outcome(res) + ": " + text
		}
		why = append(why, text)
	}
	return why, nil
}

func difference(missing, extra []string) string {
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		parts = append(parts, "unexpected "+strings.Join(extra, ", "))
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// compareSets records an exhaustive expectation at k: a pass when got and
// want hold the same members, else a failure explained by checks of the
// first few members that differ; queryFor makes the check of one member.
func (r *runner) compareSets(ctx context.Context, k *yaml.Node, assertion string, want, got []string,
	queryFor func(member string) (check.Query, bool)) error {
	missing, extra := sameSet(want, got)
	if len(missing) == 0 && len(extra) == 0 {
		r.report.Passed++
		return nil
	}
	why, err := r.explainMembers(ctx, k, slices.Concat(missing, extra), queryFor, false)
	if err != nil {
		return err
	}
	r.report.Failures = append(r.report.Failures, Failure{
		Pos: r.pos(k), Assertion: assertion,
		Expected: listString(want), Got: listString(got) + difference(missing, extra),
		Explanation: strings.Join(why, "\n"),
	})
	return nil
}
