package server

import (
	"time"

	"github.com/docketdb/docket/check"
)

// Limits bound what one request may ask for. A request over a limit is
// refused with ResourceExhausted (HTTP 429 for AuthZEN) and a message
// naming the limit; zero fields take the defaults below.
type Limits struct {
	// MaxRequestBytes bounds one request body, or one message of a
	// stream (Import's input is streamed in messages, so its total is
	// unbounded). Default 4 MiB.
	MaxRequestBytes int64
	// MaxBatch bounds the checks of one CheckBatch or AuthZEN evaluations
	// request. Default 10,000.
	MaxBatch int
	// MaxContextTuples bounds the contextual tuples of one query.
	// Default 1,000.
	MaxContextTuples int
	// MaxContextBytes bounds a condition context or AuthZEN properties
	// and context object, as JSON. Default 64 KiB.
	MaxContextBytes int
	// MaxWriteOps bounds the operations and preconditions of one Write.
	// Default 10,000.
	MaxWriteOps int
	// DefaultPageSize is Read's page size, and an AuthZEN search's, when
	// the request names none; MaxPageSize bounds a page. Defaults 1,000
	// and 10,000.
	DefaultPageSize int
	MaxPageSize     int
	// MaxDepth bounds the chain of relations a walk follows. Default
	// check.DefaultMaxDepth.
	MaxDepth int
	// WatchHeartbeat is how often an idle Watch stream hears the latest
	// revision, unless the request asks otherwise. Default 5 s.
	WatchHeartbeat time.Duration
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if l.MaxRequestBytes <= 0 {
		l.MaxRequestBytes = 4 << 20
	}
	def(&l.MaxBatch, 10_000)
	def(&l.MaxContextTuples, 1_000)
	def(&l.MaxContextBytes, 64<<10)
	def(&l.MaxWriteOps, 10_000)
	def(&l.DefaultPageSize, 1_000)
	def(&l.MaxPageSize, 10_000)
	def(&l.MaxDepth, check.DefaultMaxDepth)
	if l.WatchHeartbeat <= 0 {
		l.WatchHeartbeat = 5 * time.Second
	}
	return l
}
