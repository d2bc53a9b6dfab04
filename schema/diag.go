package schema

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/docketdb/docket/errkind"
)

// Severity tells an error from a warning.
type Severity int

// Severities.
const (
	Error Severity = iota
	Warning
)

// Diagnostic is one finding about a schema, at a position.
type Diagnostic struct {
	Pos      Pos
	Severity Severity
	Msg      string
	// Hint, when set, says what to do about it ("did you mean `viewer`?").
	Hint string
}

func (d Diagnostic) String() string {
	var b strings.Builder
	b.WriteString(d.Pos.String())
	b.WriteString(": ")
	if d.Severity == Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Msg)
	if d.Hint != "" {
		b.WriteString("; ")
		b.WriteString(d.Hint)
	}
	return b.String()
}

// ErrorList is every error found in a schema, in source order. It is the
// error type returned by Parse, Compile and Load.
type ErrorList []Diagnostic

// Is makes an ErrorList match errkind.ErrInvalid: the schema is bad input.
func (l ErrorList) Is(target error) bool { return target == errkind.ErrInvalid }

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, d := range l {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

func sortDiagnostics(ds []Diagnostic) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i].Pos, ds[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

// Closest returns the candidate nearest to name by edit distance when it is
// near enough to be a plausible typo, else "". Tuple validation and the
// schema checks share it so their suggestions agree.
func Closest(name string, candidates []string) string {
	// About one edit in three characters, at most three: `usr` → `user`
	// and `veiwer` → `viewer`, but not `owner` → `user`.
	best, bestDist := "", min(utf8.RuneCountInString(name)/3+1, 3)
	for _, c := range candidates {
		if d := editDistance(name, c); d <= bestDist && (best == "" || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func didYouMean(name string, candidates []string) string {
	if c := Closest(name, candidates); c != "" {
		return fmt.Sprintf("did you mean `%s`?", c)
	}
	return ""
}
