// Package arena copies many short strings out of scanned bytes into shared
// blocks: one allocation per many strings instead of one per string. The
// key-value readers use it for the ids of scanned keys, imports for the
// lines their tuples point into.
package arena

import "unsafe"

// Strings hands out strings from shared blocks. Blocks start small and
// double up to Block bytes, so a scan that yields one id pays for a few
// dozen bytes, not a whole block, while long scans and imports still
// allocate once per Block bytes. A block is never written again once a
// string points into it. The zero value is ready to use.
type Strings struct{ block []byte }

// Block sizes.
const (
	First = 64
	Block = 8192
)

// String returns a string with the bytes of b, which the caller may then
// reuse.
func (a *Strings) String(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if cap(a.block)-len(a.block) < len(b) {
		size := min(max(2*cap(a.block), First), Block)
		a.block = make([]byte, 0, max(size, len(b)))
	}
	start := len(a.block)
	a.block = append(a.block, b...)
	return unsafe.String(&a.block[start], len(b))
}
