// Package condition compiles and evaluates the CEL expressions that schema
// conditions declare. It knows nothing of the schema language or of stored
// tuples: the schema compiler hands it a name, typed parameters and the
// expression text; the checker hands it a tuple's stored context and the
// request's context and gets back allowed, denied or conditional.
//
// A Condition is compiled once per schema and is safe for concurrent use.
// When every parameter is present the expression runs on a program built
// without partial evaluation; only when some are missing does it run on a
// second program that treats them as unknowns, so that a parameter is
// reported missing only when the result depends on it.
package condition
