package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRunFlushesBufferedOutput goes through the exported entry point, which
// buffers output that is not a terminal.
func TestRunFlushesBufferedOutput(t *testing.T) {
	p := writeFile(t, t.TempDir(), "ok.rebac", testSchema)
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"schema", "fmt", p}, strings.NewReader(""), &out, &errb)
	if code != 0 || out.String() != testSchema {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}
