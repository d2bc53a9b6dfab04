package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/docketdb/docket/cmd/docket/internal/validate"
	"github.com/docketdb/docket/condition"
	"github.com/docketdb/docket/errkind"
	"github.com/docketdb/docket/tuples"
	"github.com/spf13/cobra"
)

// exitConditional ends a check whose answer is conditional on parameters
// the request did not give.
const exitConditional = errkind.ExitConditional

// conditionFlags are --context, --context-file and --now, for the
// commands that evaluate tuples' conditions and expiries.
type conditionFlags struct {
	context, contextFile, now string
}

func addConditionFlags(cmd *cobra.Command, f *conditionFlags) {
	cmd.Flags().StringVar(&f.context, "context", "", `condition parameters as a JSON object, e.g. '{"now":"2027-01-01T00:00:00Z"}'; a tuple's stored values win`)
	cmd.Flags().StringVar(&f.contextFile, "context-file", "", "read the condition parameters, a JSON object, from FILE")
	cmd.Flags().StringVar(&f.now, "now", "", "the clock that decides which tuples have expired, RFC 3339 (default: now)")
}

// apply parses the flags: the request context, and ctx carrying the
// clock when --now is given.
func (f *conditionFlags) apply(ctx context.Context) (context.Context, condition.Context, error) {
	if f.now != "" {
		t, err := tuples.ParseTime(f.now)
		if err != nil {
			return ctx, nil, withHint("write --now 2027-01-15T00:00:00Z (RFC 3339, UTC or with an offset)", "--now: %v", err)
		}
		ctx = tuples.WithClock(ctx, t)
	}
	if f.context != "" && f.contextFile != "" {
		return ctx, nil, withHint("give the parameters once", "both --context and --context-file given")
	}
	raw, what := []byte(f.context), "--context"
	if f.contextFile != "" {
		b, err := os.ReadFile(f.contextFile)
		if err != nil {
			return ctx, nil, withHint("give a readable file holding one JSON object", "--context-file: %v", err)
		}
		raw, what = b, "--context-file "+f.contextFile
	}
	if len(raw) == 0 {
		return ctx, nil, nil
	}
	c, err := condition.DecodeContext(raw, condition.MaxRequestContextBytes)
	if err != nil {
		return ctx, nil, withHint(`write one JSON object of parameters, e.g. {"client_ip":"10.1.2.3"}`, "%s: %v", what, err)
	}
	return ctx, c, nil
}

// describeMissing says what a conditional answer lacks.
func describeMissing(missing []string) string {
	if len(missing) == 0 {
		return "conditional"
	}
	return fmt.Sprintf("conditional (missing %s)", joinNames(missing))
}

func joinNames(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}

// untilTime formats a validity bound, for text output.
func untilTime(t time.Time) string { return tuples.FormatExpiry(t) }

// nowFlag is --now alone, for the commands that read tuples at a clock
// but evaluate no conditions (lookups and expand).
type nowFlag struct{ now string }

func addNowFlag(cmd *cobra.Command, f *nowFlag) {
	cmd.Flags().StringVar(&f.now, "now", "", "the clock that decides which tuples have expired, RFC 3339 (default: now)")
}

// apply returns ctx carrying the clock when --now is given.
func (f *nowFlag) apply(ctx context.Context) (context.Context, error) {
	c := conditionFlags{now: f.now}
	ctx, _, err := c.apply(ctx)
	return ctx, err
}

// overrides parses the flags for validate: a clock over every file's
// now:, and parameters over every file's context:.
func (f *conditionFlags) overrides() (validate.Overrides, error) {
	ctx, c, err := f.apply(context.Background())
	if err != nil {
		return validate.Overrides{}, err
	}
	now, _ := tuples.ClockFrom(ctx)
	return validate.Overrides{Now: now, Context: c}, nil
}
