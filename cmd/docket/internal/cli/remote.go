package cli

import (
	"fmt"
	"strings"

	"github.com/docketdb/docket/client"
	pb "github.com/docketdb/docket/gen/docket/v1"
)

// remoteStore is the store of client mode: the server at --server, read at
// the revision --consistency picks. Commands run on it unchanged, so their
// output is what they print on the server's own store.
func (e *env) remoteStore() (*client.Store, error) {
	if e.memory {
		return nil, withHint("drop one of them", "--server and --memory contradict each other")
	}
	if e.datastore != "" {
		return nil, withHint("drop one of them (or unset $DOCKET_DATASTORE)", "--server and --datastore contradict each other: the server chooses its own store")
	}
	cons, err := parseConsistency(e.consistency)
	if err != nil {
		return nil, err
	}
	c, err := client.New(e.server, client.Options{Token: e.token})
	if err != nil {
		return nil, withHint("set --server (or $DOCKET_SERVER) to the URL 'docket serve' printed", "--server: %v", err)
	}
	e.remote = client.NewStore(c, cons)
	return e.remote, nil
}

// parseConsistency reads --consistency: full (the default: an operator
// sees what was just written, through any server), latency,
// at-least:TOKEN or exact:TOKEN.
func parseConsistency(s string) (*pb.Consistency, error) {
	kind, tok, _ := strings.Cut(s, ":")
	switch {
	case s == "" || s == "full":
		return client.FullyConsistent(), nil
	case s == "latency":
		return client.MinimizeLatency(), nil
	case kind == "at-least" && tok != "":
		return client.AtLeastAsFresh(tok), nil
	case kind == "exact" && tok != "":
		return client.AtExactSnapshot(tok), nil
	}
	return nil, withHint("choose full, latency, at-least:TOKEN or exact:TOKEN (a token a write printed)",
		"--consistency %q is not a consistency", s)
}

// reportToken tells, after a write in client mode, the token of the
// revision written, for a later --consistency at-least:TOKEN. It goes to
// stderr so that the command's output stays what it is without a server.
func (e *env) reportToken() {
	if e.remote == nil {
		return
	}
	if rev := e.remote.LastWrite(); rev != nil {
		fmt.Fprintf(e.stderr, "token: %s (revision %d; read it with --consistency at-least:%s)\n", rev.Token, rev.Number, rev.Token)
	}
}
