package condition

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
)

// DefaultCostLimit is the largest estimated cost (in CEL's cost units, for
// contexts at their size limits) an expression may have. It admits a scan
// over a list or string of the largest context, and refuses nested scans.
const DefaultCostLimit = 1_000_000

// MaxExprLen bounds an expression's length, in characters: far beyond a
// readable condition, and a bound on what compiling a schema may cost.
const MaxExprLen = 16 << 10

// Param is one declared parameter.
type Param struct {
	Name string
	Type Type
}

// Diagnostic is a compile error inside an expression. Line and Column are
// 1-based and count characters from the start of the expression text.
type Diagnostic struct {
	Line, Column int
	Message      string
}

// Options tune compilation; the zero value is the default.
type Options struct {
	// CostLimit overrides DefaultCostLimit when positive.
	CostLimit uint64
}

// Condition is a compiled condition.
type Condition struct {
	name   string
	params []Param
	expr   string
	cost   checker.CostEstimate

	env     *cel.Env
	ast     *cel.Ast
	full    cel.Program // for evaluations with every parameter present
	partial cel.Program // for evaluations with some missing
}

// Name returns the condition's name.
func (c *Condition) Name() string { return c.name }

// Params returns the declared parameters, in declaration order.
func (c *Condition) Params() []Param { return c.params }

// Expr returns the expression text.
func (c *Condition) Expr() string { return c.expr }

// Param returns the declared parameter called name.
func (c *Condition) Param(name string) (Param, bool) {
	for _, p := range c.params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// MaxCost returns the estimated worst-case cost of one evaluation.
func (c *Condition) MaxCost() uint64 { return c.cost.Max }

// baseEnv is the CEL environment every condition extends with its
// parameters: the standard library and ipaddress, set up once (an
// environment is immutable; Extend copies it).
var baseEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(append(ipAddressFunctions(), cel.ParserExpressionSizeLimit(MaxExprLen))...)
})

// Compile type-checks expr over params. The diagnostics it returns are all
// the errors found; a nil Condition comes with at least one.
func Compile(name string, params []Param, expr string, opts Options) (*Condition, []Diagnostic) {
	if n := utf8.RuneCountInString(expr); n > MaxExprLen {
		return nil, []Diagnostic{{Line: 1, Column: 1, Message: fmt.Sprintf(
			"expression is %d characters long, more than the limit of %d: split the rule over several conditions or relations", n, MaxExprLen)}}
	}
	base, err := baseEnv()
	if err != nil {
		return nil, []Diagnostic{{Line: 1, Column: 1, Message: fmt.Sprintf("condition %s: %v", name, err)}}
	}
	var envOpts []cel.EnvOption
	seen := map[string]bool{}
	for _, p := range params {
		if seen[p.Name] {
			return nil, []Diagnostic{{Line: 1, Column: 1, Message: fmt.Sprintf("parameter %s declared twice", p.Name)}}
		}
		seen[p.Name] = true
		envOpts = append(envOpts, cel.Variable(p.Name, p.Type.celType()))
	}
	env, err := base.Extend(envOpts...)
	if err != nil {
		return nil, []Diagnostic{{Line: 1, Column: 1, Message: fmt.Sprintf("condition %s: %v", name, err)}}
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, diagnostics(iss)
	}
	start := exprStart(expr)
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, []Diagnostic{{Line: start.Line, Column: start.Column, Message: fmt.Sprintf(
			"expression has type %s; a condition must be a bool expression", ast.OutputType())}}
	}
	c := &Condition{name: name, params: append([]Param(nil), params...), expr: expr, env: env, ast: ast}
	limit := opts.CostLimit
	if limit == 0 {
		limit = DefaultCostLimit
	}
	c.cost, err = env.EstimateCost(ast, sizeEstimator{})
	if err != nil {
		return nil, []Diagnostic{{Line: 1, Column: 1, Message: fmt.Sprintf("condition %s: cost estimate: %v", name, err)}}
	}
	if c.cost.Max > limit {
		return nil, []Diagnostic{{Line: start.Line, Column: start.Column, Message: fmt.Sprintf(
			"expression may cost up to %d to evaluate, over the limit of %d: avoid nested loops over lists, maps or strings",
			c.cost.Max, limit)}}
	}
	if c.full, err = env.Program(ast, cel.EvalOptions(cel.OptOptimize)); err == nil {
		c.partial, err = env.Program(ast, cel.EvalOptions(cel.OptPartialEval))
	}
	if err != nil {
		return nil, []Diagnostic{{Line: 1, Column: 1, Message: fmt.Sprintf("condition %s: %v", name, err)}}
	}
	return c, nil
}

// exprStart is the position of the expression's first character that is
// not space, where errors about the whole expression point.
func exprStart(expr string) Diagnostic {
	d := Diagnostic{Line: 1, Column: 1}
	for _, r := range expr {
		switch r {
		case '\n':
			d.Line++
			d.Column = 1
		case ' ', '\t', '\r':
			d.Column++
		default:
			return d
		}
	}
	return Diagnostic{Line: 1, Column: 1}
}

func diagnostics(iss *cel.Issues) []Diagnostic {
	var out []Diagnostic
	for _, e := range iss.Errors() {
		msg := e.Message
		// CEL lists every token its grammar would have taken; the position
		// and the token found say enough.
		if i := strings.Index(msg, " expecting "); i >= 0 {
			msg = msg[:i]
		}
		d := Diagnostic{Line: e.Location.Line(), Column: e.Location.Column() + 1, Message: msg}
		if d.Line < 1 {
			d.Line, d.Column = 1, 1
		}
		out = append(out, d)
	}
	return out
}

// sizeEstimator bounds every string, bytes, list and map a condition reads
// by the request context's size limit: no value can be longer than the
// JSON it was decoded from.
type sizeEstimator struct{}

func (sizeEstimator) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	if len(n.Path()) == 0 {
		return nil
	}
	return &checker.SizeEstimate{Min: 0, Max: MaxRequestContextBytes}
}

func (sizeEstimator) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// Outcome is a condition's answer.
type Outcome int

// The outcomes. Conditional means the result depends on parameters that
// neither context holds.
const (
	Denied Outcome = iota
	Allowed
	Conditional
)

func (o Outcome) String() string {
	switch o {
	case Allowed:
		return "allowed"
	case Conditional:
		return "conditional"
	}
	return "denied"
}

// Result is one evaluation. Missing, sorted, names the parameters the
// undecided expression still needs; it is empty unless Outcome is
// Conditional. Values holds the parameter values the evaluation saw, for
// explanations.
type Result struct {
	Outcome Outcome
	Missing []string
}

// EvalError is an expression that failed at run time (a division by zero,
// a missing map key, a malformed CIDR block).
type EvalError struct {
	Condition string
	Err       error
}

func (e *EvalError) Error() string { return fmt.Sprintf("condition %s: %v", e.Condition, e.Err) }
func (e *EvalError) Unwrap() error { return e.Err }

// Eval evaluates the condition over the stored context merged with the
// request's (stored values win). A value of the wrong type is a
// *ValueError; an expression that fails is an *EvalError.
func (c *Condition) Eval(stored, request Context) (Result, error) {
	return c.EvalBound(c.Bind(stored), c.BindRequest(request))
}

// Values are a context's values for one condition's parameters, typed
// once: a tuple's stored context can be bound when it is read and a
// request's once per query, so that evaluations convert nothing.
type Values struct {
	vals []ref.Val // by parameter index; nil where absent
	errs []error   // by parameter index: a value of the wrong type
}

// Bind types the context's values for this condition's parameters; keys
// that are not parameters are left alone. A value of the wrong type is
// kept as an error that an evaluation reports if it uses that value: a
// stored value of the right type overrides it.
func (c *Condition) Bind(ctx Context) Values { return c.bind(ctx, false) }

// BindRequest is Bind for a request's context: its value errors say so,
// with a hint of what to pass instead (see ValueError).
func (c *Condition) BindRequest(ctx Context) Values { return c.bind(ctx, true) }

func (c *Condition) bind(ctx Context, fromRequest bool) Values {
	if len(ctx) == 0 {
		return Values{}
	}
	var out Values
	for i, p := range c.params {
		v, ok := ctx[p.Name]
		if !ok || v == nil {
			continue
		}
		if out.vals == nil {
			out.vals = make([]ref.Val, len(c.params))
		}
		cv, why := toCEL(v, p.Type)
		if why != "" {
			if out.errs == nil {
				out.errs = make([]error, len(c.params))
			}
			out.errs[i] = &ValueError{Condition: c.name, Param: p.Name, Expected: p.Type, Reason: why, FromRequest: fromRequest}
			continue
		}
		out.vals[i] = cv
	}
	return out
}

// at returns parameter i's value, or its error, or neither when absent.
func (v Values) at(i int) (ref.Val, error) {
	if v.errs != nil && v.errs[i] != nil {
		return nil, v.errs[i]
	}
	if v.vals == nil {
		return nil, nil
	}
	return v.vals[i], nil
}

var activations = sync.Pool{New: func() any { return new(activation) }}

// EvalBound evaluates over bound values, stored ones winning.
func (c *Condition) EvalBound(stored, request Values) (Result, error) {
	act := activations.Get().(*activation)
	defer func() {
		clear(act.vals)
		act.names, act.vals = act.names[:0], act.vals[:0]
		activations.Put(act)
	}()
	var patterns []*interpreter.AttributePattern
	for i, p := range c.params {
		v, err := stored.at(i)
		if v == nil && err == nil {
			v, err = request.at(i)
		}
		if err != nil {
			return Result{}, err
		}
		if v == nil {
			patterns = append(patterns, cel.AttributePattern(p.Name))
			continue
		}
		act.names = append(act.names, p.Name)
		act.vals = append(act.vals, v)
	}
	if len(patterns) == 0 {
		out, _, err := c.full.Eval(act)
		return c.result(out, err)
	}
	part := &partialActivation{activation: *act, unknowns: patterns}
	out, _, err := c.partial.Eval(part)
	return c.result(out, err)
}

// Seen lists, for explanations, the value each parameter had in the
// merged context (stored values winning), as JSON, and "missing" where
// neither context has it.
func (c *Condition) Seen(stored, request Context) []string {
	out := make([]string, len(c.params))
	for i, p := range c.params {
		v, ok := stored[p.Name]
		if !ok || v == nil {
			v, ok = request[p.Name]
		}
		if !ok || v == nil {
			out[i] = p.Name + " missing"
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			b = []byte(fmt.Sprint(v))
		}
		out[i] = p.Name + "=" + string(b)
	}
	return out
}

func (c *Condition) result(out ref.Val, err error) (Result, error) {
	if err != nil {
		return Result{}, &EvalError{Condition: c.name, Err: err}
	}
	switch v := out.(type) {
	case types.Bool:
		if v {
			return Result{Outcome: Allowed}, nil
		}
		return Result{Outcome: Denied}, nil
	case *types.Unknown:
		return Result{Outcome: Conditional, Missing: unknownNames(v)}, nil
	case *types.Err:
		return Result{}, &EvalError{Condition: c.name, Err: errors.New(v.String())}
	}
	return Result{}, &EvalError{Condition: c.name, Err: fmt.Errorf("expression gave %s, not a bool", out.Type().TypeName())}
}

func unknownNames(u *types.Unknown) []string {
	set := map[string]bool{}
	for _, id := range u.IDs() {
		trails, _ := u.GetAttributeTrails(id)
		for _, t := range trails {
			set[t.Variable()] = true
		}
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// CheckStored validates a context to be stored with a tuple: every key
// must be a declared parameter and every value of its type.
func (c *Condition) CheckStored(ctx Context) error {
	for _, k := range ctx.Keys() {
		p, ok := c.Param(k)
		if !ok {
			names := make([]string, len(c.params))
			for i, p := range c.params {
				names[i] = p.Name
			}
			return fmt.Errorf("condition %s has no parameter %s (it has: %s)", c.name, k, strings.Join(names, ", "))
		}
		if _, why := toCEL(ctx[k], p.Type); why != "" {
			return &ValueError{Condition: c.name, Param: k, Expected: p.Type, Reason: why}
		}
	}
	return nil
}

// CheckRequest validates a request context's values for the parameters
// this condition declares; keys it does not declare are left alone, since
// one request context serves every condition.
func (c *Condition) CheckRequest(ctx Context) error {
	for _, p := range c.params {
		if v, ok := ctx[p.Name]; ok {
			if _, why := toCEL(v, p.Type); why != "" {
				return &ValueError{Condition: c.name, Param: p.Name, Expected: p.Type, Reason: why, FromRequest: true}
			}
		}
	}
	return nil
}

// activation resolves a condition's few parameters by a linear scan,
// which beats a map for the handful a condition declares.
type activation struct {
	names []string
	vals  []ref.Val
}

func (a *activation) ResolveName(name string) (any, bool) {
	for i, n := range a.names {
		if n == name {
			return a.vals[i], true
		}
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

type partialActivation struct {
	activation
	unknowns []*interpreter.AttributePattern
}

func (p *partialActivation) UnknownAttributePatterns() []*interpreter.AttributePattern {
	return p.unknowns
}

// AsPartialActivation is how the interpreter recognises a partial
// activation that it did not build itself.
func (p *partialActivation) AsPartialActivation() (interpreter.PartialActivation, bool) {
	return p, true
}
