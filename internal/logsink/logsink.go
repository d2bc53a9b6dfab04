// Package logsink writes log lines from a goroutine of its own, several in
// one write when they come faster than a write takes, so that a request's
// log line costs its handler an append rather than a system call.
package logsink

import (
	"io"
	"sync"
)

// maxPending bounds the bytes waiting to be written: a writer that falls
// further behind makes loggers wait rather than grow the buffer.
const maxPending = 1 << 20

// Writer is an io.Writer whose writes are handed to a goroutine that
// writes them to the underlying writer in order. Each Write is whole in
// the output (lines are never interleaved). Close writes what is left and
// stops the goroutine; writes after Close go straight through.
type Writer struct {
	w    io.Writer
	mu   sync.Mutex
	room sync.Cond // signalled when pending is taken
	// pending waits to be written; spare is the buffer written last,
	// kept for reuse.
	pending, spare []byte
	closed         bool
	wake           chan struct{}
	done           chan struct{}
}

// New starts a Writer over w; call Close before w is closed.
func New(w io.Writer) *Writer {
	l := &Writer{w: w, wake: make(chan struct{}, 1), done: make(chan struct{})}
	l.room.L = &l.mu
	go l.run()
	return l
}

// Write queues p and returns at once, unless maxPending bytes already
// wait; it never fails (a failing underlying writer loses lines, as a
// logger's does).
func (l *Writer) Write(p []byte) (int, error) {
	l.mu.Lock()
	for len(l.pending) >= maxPending && !l.closed {
		l.room.Wait()
	}
	if l.closed {
		defer l.mu.Unlock()
		return l.w.Write(p)
	}
	l.pending = append(l.pending, p...)
	select {
	case l.wake <- struct{}{}:
	default:
	}
	l.mu.Unlock()
	return len(p), nil
}

func (l *Writer) run() {
	defer close(l.done)
	for range l.wake {
		l.flush()
	}
	l.flush()
}

// flush writes what is pending.
func (l *Writer) flush() {
	l.mu.Lock()
	out := l.pending
	l.pending = l.spare[:0]
	l.spare = nil
	l.room.Broadcast()
	l.mu.Unlock()
	if len(out) == 0 {
		return
	}
	_, _ = l.w.Write(out)
	l.mu.Lock()
	if cap(out) <= maxPending {
		l.spare = out[:0]
	}
	l.mu.Unlock()
}

// Close writes every queued line and stops the writing goroutine.
func (l *Writer) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return nil
	}
	l.closed = true
	close(l.wake)
	l.room.Broadcast()
	l.mu.Unlock()
	<-l.done
	return nil
}
