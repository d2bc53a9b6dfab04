package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docketdb/docket/gen/docket/v1/docketv1connect"
)

// Connect's streaming protocol in JSON, spoken by hand over plain
// net/http: each message is an envelope (a flags byte, a 4-byte
// big-endian length, the JSON), and a server's stream ends with an
// envelope flagged 2 carrying {} or {"error": ...}.

func envelope(msgs ...string) []byte {
	var b bytes.Buffer
	for _, m := range msgs {
		var head [5]byte
		binary.BigEndian.PutUint32(head[1:], uint32(len(m)))
		b.Write(head[:])
		b.WriteString(m)
	}
	return b.Bytes()
}

// jsonStream is a streaming call's answer, read one envelope at a time.
type jsonStream struct {
	t   *testing.T
	res *http.Response
}

// openStream posts the enveloped messages to a streaming method.
func openStream(t *testing.T, ts *testServer, key, method string, msgs ...string) *jsonStream {
	t.Helper()
	req, err := http.NewRequest("POST", ts.url+"/"+docketv1connect.DocketServiceName+"/"+method, bytes.NewReader(envelope(msgs...)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/connect+json")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := ts.http.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/connect+json" {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("%s: %d %s %s", method, res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	return &jsonStream{t: t, res: res}
}

// next returns the next message, or end set and the end-of-stream
// message's JSON.
func (s *jsonStream) next() (msg []byte, end bool) {
	s.t.Helper()
	var head [5]byte
	if _, err := io.ReadFull(s.res.Body, head[:]); err != nil {
		s.t.Fatalf("stream cut before its end-of-stream message: %v", err)
	}
	msg = make([]byte, binary.BigEndian.Uint32(head[1:]))
	if _, err := io.ReadFull(s.res.Body, msg); err != nil {
		s.t.Fatalf("stream cut inside a message: %v", err)
	}
	return msg, head[0]&2 != 0
}

// all reads every message up to the end of the stream, which must carry
// no error, and checks that nothing follows it.
func (s *jsonStream) all() [][]byte {
	s.t.Helper()
	var msgs [][]byte
	for {
		msg, end := s.next()
		if end {
			if string(msg) != "{}" {
				s.t.Fatalf("stream ended with %s", msg)
			}
			if n, err := s.res.Body.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
				s.t.Fatalf("bytes after the end of the stream (%d, %v)", n, err)
			}
			return msgs
		}
		msgs = append(msgs, msg)
	}
}

func decode[T any](t *testing.T, msg []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(msg, &v); err != nil {
		t.Fatalf("%s: %v", msg, err)
	}
	return v
}

type jsonRevision struct {
	Token  string
	Number string
}

// TestConnectJSONStreams: the streaming calls in Connect's JSON over a
// plain net/http client on 127.0.0.1: LookupSubjects, Export, Import
// (the input cut mid-line between messages, then a bad input refused
// whole), and Watch (changes as they are written, then resumed after a
// revision already received).
func TestConnectJSONStreams(t *testing.T) {
	ts := startServer(t)
	seeded := ts.seed(t, fixture...)

	// LookupSubjects: every subject, in order, each message at the
	// revision of the seed.
	var subjects []string
	for _, m := range openStream(t, ts, readKey, "LookupSubjects",
		`{"object":{"type":"record","id":"record-1"},"relation":"read","subjectType":"user","consistency":{"fullyConsistent":true}}`).all() {
		r := decode[struct {
			Revision jsonRevision
			Subject  struct{ Type, ID string }
			Cursor   string
		}](t, m)
		if r.Revision.Token != seeded.Token || r.Cursor == "" {
			t.Fatalf("lookup subjects message %s: want revision %s and a cursor", m, seeded.Token)
		}
		subjects = append(subjects, r.Subject.Type+":"+r.Subject.ID)
	}
	if !slices.Equal(subjects, []string{"user:alice", "user:bob"}) {
		t.Fatalf("lookup subjects over Connect JSON = %v", subjects)
	}

	// Export: whole lines (bytes are base64 in JSON), every tuple once.
	var exported strings.Builder
	for _, m := range openStream(t, ts, readKey, "Export", `{"format":"TUPLE_FORMAT_TEXT"}`).all() {
		r := decode[struct {
			Revision jsonRevision
			Data     []byte
		}](t, m)
		if r.Revision.Token != seeded.Token || !bytes.HasSuffix(r.Data, []byte("\n")) {
			t.Fatalf("export message %s: want revision %s and whole lines", m, seeded.Token)
		}
		exported.Write(r.Data)
	}
	lines := strings.Split(strings.TrimSuffix(exported.String(), "\n"), "\n")
	slices.Sort(lines)
	want := slices.Clone(fixture)
	slices.Sort(want)
	if !slices.Equal(lines, want) {
		t.Fatalf("export over Connect JSON:\n%s\nwant the fixture:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	// Import: a line split across two messages; one answer, one
	// revision.
	b64 := base64.StdEncoding.EncodeToString
	in := openStream(t, ts, writeKey, "Import",
		`{"format":"TUPLE_FORMAT_TEXT","name":"more.tuples","data":"`+b64([]byte("record:record-9#owner@user:ivy\nrecord:record-9#rea"))+`"}`,
		`{"data":"`+b64([]byte("der@user:jo\n"))+`"}`).all()
	if len(in) != 1 {
		t.Fatalf("import answered %d messages, want 1", len(in))
	}
	imported := decode[struct {
		Revision jsonRevision
		Tuples   string
	}](t, in[0])
	if imported.Tuples != "2" || imported.Revision.Token == "" {
		t.Fatalf("import answer %s", in[0])
	}
	status, out := connectJSON(t, ts, readKey, "Check", `{"object":{"type":"record","id":"record-9"},"relation":"read","subject":{"type":"user","id":"jo"},"consistency":{"atLeastAsFresh":"`+imported.Revision.Token+`"}}`)
	if status != 200 || out["allowed"] != true {
		t.Fatalf("check after import: %d %v", status, out)
	}
	// A bad line refuses the whole input: the stream ends with the
	// error, NAME:LINE in its message, and nothing is written.
	bad := openStream(t, ts, writeKey, "Import",
		`{"format":"TUPLE_FORMAT_TEXT","name":"bad.tuples","data":"`+b64([]byte("record:record-10#owner@user:kim\nnot a tuple\n"))+`"}`)
	msg, end := bad.next()
	failed := decode[struct {
		Error struct{ Code, Message string }
	}](t, msg)
	if !end || failed.Error.Code != "invalid_argument" || !strings.Contains(failed.Error.Message, "bad.tuples:2") {
		t.Fatalf("bad import ended %v with %s", end, msg)
	}
	read := func(id string) int {
		t.Helper()
		status, out := connectJSON(t, ts, readKey, "Read", `{"filter":{"objectType":"record","objectId":"`+id+`"},"consistency":{"fullyConsistent":true}}`)
		tuples, ok := out["tuples"].([]any)
		if status != 200 || !ok {
			t.Fatalf("read %s: %d %v", id, status, out)
		}
		return len(tuples)
	}
	if n := read("record-9"); n != 2 {
		t.Fatalf("read the imported record-9: %d tuples, want 2", n)
	}
	if n := read("record-10"); n != 0 {
		t.Fatalf("a refused import wrote %d tuples", n)
	}

	// Watch: heartbeats while nothing changes, then a write as it is
	// committed, each message a revision to resume from.
	type watchMsg struct {
		Revision  jsonRevision
		Heartbeat bool
		Changes   []struct {
			Kind  string
			Tuple struct {
				Object struct{ ID string }
			}
		}
	}
	nextChange := func(s *jsonStream) watchMsg {
		t.Helper()
		for {
			msg, end := s.next()
			if end {
				t.Fatalf("watch ended: %s", msg)
			}
			if w := decode[watchMsg](t, msg); !w.Heartbeat {
				return w
			}
		}
	}
	w := openStream(t, ts, readKey, "Watch", `{"after":"`+imported.Revision.Token+`","heartbeatMs":50}`)
	msg, _ = w.next()
	if hb := decode[watchMsg](t, msg); !hb.Heartbeat || hb.Revision.Token != imported.Revision.Token {
		t.Fatalf("first watch message %s, want a heartbeat at the import's revision", msg)
	}
	time.Sleep(20 * time.Millisecond)
	status, out = connectJSON(t, ts, writeKey, "Write", `{"ops":[{"kind":"KIND_TOUCH","tuple":{"object":{"type":"record","id":"record-11"},"relation":"owner","subject":{"type":"user","id":"lee"}}}]}`)
	if status != 200 {
		t.Fatalf("write: %d %v", status, out)
	}
	first := nextChange(w)
	if len(first.Changes) != 1 || first.Changes[0].Kind != "KIND_WRITE" || first.Changes[0].Tuple.Object.ID != "record-11" {
		t.Fatalf("watched change %+v", first)
	}
	status, _ = connectJSON(t, ts, writeKey, "Write", `{"ops":[{"kind":"KIND_DELETE","tuple":{"object":{"type":"record","id":"record-11"},"relation":"owner","subject":{"type":"user","id":"lee"}}}]}`)
	if status != 200 {
		t.Fatalf("delete: %d", status)
	}
	second := nextChange(w)
	w.res.Body.Close()
	if len(second.Changes) != 1 || second.Changes[0].Kind != "KIND_DELETE" {
		t.Fatalf("second watched change %+v", second)
	}
	// Resumed after the first change, the next message is the second.
	resumed := nextChange(openStream(t, ts, readKey, "Watch", `{"after":"`+first.Revision.Token+`","heartbeatMs":50}`))
	if resumed.Revision != second.Revision || len(resumed.Changes) != 1 || resumed.Changes[0].Kind != "KIND_DELETE" {
		t.Fatalf("resumed watch gave %+v, want %+v", resumed, second)
	}
}
