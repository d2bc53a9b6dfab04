package server

import "time"

// WithoutFastUnary makes a server answer every call through connect-go's
// handler, for comparing its answers with the fast path's.
func WithoutFastUnary(o *Options) { o.noFastUnary = true }

// FastAnswers is how many calls s answered on its fast path.
func FastAnswers(s *Server) int64 { return s.fastAnswers.Load() }

// MemIndexPoll sets how often a server looks at the state of the store's
// membership index in memory for its log.
func MemIndexPoll(d time.Duration) func(*Options) {
	return func(o *Options) { o.memIndexPoll = d }
}
