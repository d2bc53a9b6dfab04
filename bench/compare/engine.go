package main

import (
	"context"

	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/tuples"
)

// engine is one authorization engine under comparison, embedded in this
// process so that no network or serialisation is timed.
type engine interface {
	Name() string
	// Settings states the cache and storage configuration, for the report.
	Settings() string
	Load(ctx context.Context, ts []tuples.Tuple) error
	Check(ctx context.Context, q gen.Query) (bool, error)
	// Resources returns the ids of the objects found; Subjects the ids
	// of the subjects ("*" for a wildcard).
	Resources(ctx context.Context, q gen.Query) ([]string, error)
	Subjects(ctx context.Context, q gen.Query) ([]string, error)
	Close()
}
