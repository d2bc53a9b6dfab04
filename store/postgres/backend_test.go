package postgres

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/storetest"
	"github.com/docketdb/docket/tuples"
)

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	url := pg.Database(t)
	// Unmigrated: opening refuses, and says what to run.
	if _, err := OpenBackend(ctx, url, Options{}); !errors.Is(err, ErrNotMigrated) || !strings.Contains(err.Error(), "docket datastore migrate") {
		t.Fatalf("open before migrating = %v, want ErrNotMigrated naming the command", err)
	}
	pool, err := Pool(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// Concurrent migrations apply each version once.
	var wg sync.WaitGroup
	applied := make([][]int, 4)
	errs := make([]error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); applied[i], errs[i] = Migrate(ctx, pool) }()
	}
	wg.Wait()
	total := 0
	for i := range 4 {
		if errs[i] != nil {
			t.Fatalf("concurrent migrate %d: %v", i, errs[i])
		}
		total += len(applied[i])
	}
	if total != SchemaVersion() {
		t.Fatalf("concurrent migrations applied %d versions in all, want %d", total, SchemaVersion())
	}
	if v, err := Version(ctx, pool); err != nil || v != SchemaVersion() {
		t.Fatalf("version %d, %v", v, err)
	}
	if again, err := Migrate(ctx, pool); err != nil || len(again) != 0 {
		t.Fatalf("migrating a migrated datastore = %v, %v", again, err)
	}
	b, err := OpenBackend(ctx, url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	// A newer docket's tables: refused by open and by migrate.
	if _, err := pool.Exec(ctx, `INSERT INTO docket_migrations (version, description) VALUES ($1, 'from the future')`, SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenBackend(ctx, url, Options{}); !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "upgrade docket") {
		t.Fatalf("open of a newer datastore = %v, want ErrNewerSchema", err)
	}
	if _, err := Migrate(ctx, pool); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("migrate of a newer datastore = %v, want ErrNewerSchema", err)
	}
}

// TestMigrationKeepsTuples migrates tables at version 2 that hold tuples:
// migration 3 leaves them plain and never expiring, and a change logged
// before it reads back plain.
func TestMigrationKeepsTuples(t *testing.T) {
	ctx := context.Background()
	pool, err := Pool(ctx, pg.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, migrationsTable); err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations[:2] {
		if _, err := apply(ctx, pool, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO docket_tuples (object_type, object_id, relation, subject_type, subject_id, subject_relation, created_rev)
		VALUES ('doc', '1', 'viewer', 'user', 'ana', '', 1)`); err != nil {
		t.Fatal(err)
	}
	if applied, err := Migrate(ctx, pool); err != nil || !slices.Equal(applied, []int{3, 4, 5}) {
		t.Fatalf("migrating from version 2 applied %v, %v", applied, err)
	}
	// A reader with a clock (which filters on expires_at) sees the tuple,
	// plain.
	r := &reader{q: pool, rev: 1, now: clockNanos(tuples.WithClock(ctx, time.Now()))}
	ts, _, err := r.Read(ctx, tuples.Filter{}, "", 0)
	if err != nil || len(ts) != 1 || ts[0].Text() != "doc:1#viewer@user:ana" {
		t.Fatalf("after migration 3 read %v, %v", ts, err)
	}
}

func TestBadURL(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, "postgres://u:secret@127.0.0.1:notaport/db", Options{}); err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("bad URL = %v; want an error that does not show the password", err)
	}
	// Nothing listens on port 1.
	_, err := Open(ctx, "postgres://u:secret@127.0.0.1:1/db?connect_timeout=2", Options{})
	if !errors.Is(err, ErrUnavailable) || strings.Contains(err.Error(), "secret") {
		t.Fatalf("unreachable datastore = %v, want ErrUnavailable without the password", err)
	}
}

// TestGarbageCollection checks that collection removes old versions of
// deleted tuples once their revisions leave the window and the grace has
// passed, never what a held revision or a pinned reader reads.
func TestGarbageCollection(t *testing.T) {
	ctx := context.Background()
	b := openBackend(t, Options{GCWindow: time.Millisecond, SnapshotGrace: time.Millisecond, GCBatch: 7})
	s := store.New(b, store.Options{})
	var lines []string
	for i := range 50 {
		lines = append(lines, fmt.Sprintf("doc:%d#viewer@user:u%d", i, i))
	}
	storetest.Setup(t, ctx, s, lines...)
	pinnedRev := storetest.Write(t, ctx, s, tuples.OpDelete, lines[:20]...)
	pinned := storetest.Snap(t, ctx, s, pinnedRev-1) // sees all 50
	storetest.Write(t, ctx, s, tuples.OpDelete, lines[20:40]...)
	time.Sleep(5 * time.Millisecond)

	rows := func() int {
		var n int
		if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM docket_tuples`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	collect := func() GCResult {
		t.Helper()
		var last GCResult
		for range 2 {
			time.Sleep(3 * time.Millisecond)
			r, err := b.CollectGarbage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			last.Tuples += r.Tuples
			last.Horizon = r.Horizon
		}
		return last
	}
	r := collect()
	if r.Horizon > pinnedRev-1 {
		t.Fatalf("horizon %d passed the pinned reader at %d", r.Horizon, pinnedRev-1)
	}
	if got := len(storetest.All(t, ctx, pinned, tuples.Filter{})); got != 50 {
		t.Fatalf("the pinned reader sees %d tuples after collection, want 50", got)
	}
	if rows() != 50 {
		t.Fatalf("collection removed rows the pinned reader reads: %d rows", rows())
	}
	pinned.Close()
	r = collect()
	if r.Tuples != 40 || rows() != 10 {
		t.Fatalf("collection swept %d rows, %d left; want 40 and 10", r.Tuples, rows())
	}
	if _, err := s.Snapshot(ctx, pinnedRev-1); !errors.Is(err, tuples.ErrRevisionGone) {
		t.Fatalf("a snapshot below the horizon = %v, want ErrRevisionGone", err)
	}
	sn := storetest.Snap(t, ctx, s, 0)
	if got := storetest.All(t, ctx, sn, tuples.Filter{}); len(got) != 10 || sn.Schema() == nil {
		t.Fatalf("after collection the latest revision reads %d tuples, schema %v", len(got), sn.Schema())
	}
}

// TestGCDoesNotBlockWriters runs collection sweeps of many rows while
// writers write: every write succeeds and none waits for a sweep.
func TestGCDoesNotBlockWriters(t *testing.T) {
	ctx := context.Background()
	b := openBackend(t, Options{GCWindow: time.Millisecond, SnapshotGrace: time.Millisecond, GCBatch: 500})
	s := store.New(b, store.Options{})
	storetest.Setup(t, ctx, s)
	if _, err := s.Import(ctx, strings.NewReader(storetest.FixtureInput(4000)), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.DeleteMatching(ctx, tuples.Filter{ObjectType: "doc"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	done := make(chan struct{})
	var swept atomic.Int64
	go func() {
		defer close(done)
		for range 4 {
			r, err := b.CollectGarbage(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			swept.Add(int64(r.Tuples))
			time.Sleep(2 * time.Millisecond)
		}
	}()
	var slowest time.Duration
	for i := 0; ; i++ {
		start := time.Now()
		storetest.Write(t, ctx, s, tuples.OpTouch, fmt.Sprintf("doc:w%d#viewer@user:w", i))
		slowest = max(slowest, time.Since(start))
		select {
		case <-done:
			if swept.Load() == 0 {
				t.Fatal("the collection swept nothing")
			}
			t.Logf("%d writes during a sweep of %d rows; slowest %v", i+1, swept.Load(), slowest)
			return
		default:
		}
	}
}

// TestSerializationConflict has two backends, as two replicas would,
// write the same tuples at once, each write guarded by a precondition
// that only one of them can meet: conflicts are retried, exactly one
// write of each pair wins, and the revisions are consecutive.
func TestSerializationConflict(t *testing.T) {
	ctx := context.Background()
	url := pg.Database(t)
	open := func() store.Store {
		b, err := OpenBackend(ctx, url, Options{Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return store.New(b, store.Options{})
	}
	a, c := open(), open()
	start := storetest.Setup(t, ctx, a)
	const rounds = 40
	var wins, conflicts atomic.Int64
	var wg sync.WaitGroup
	for _, s := range []store.Store{a, c, a, c} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				lock := storetest.MustParse(t, fmt.Sprintf("doc:lock%d#owner@user:holder", i))
				_, err := s.Write(ctx, tuples.Batch{
					Preconditions: []tuples.Precondition{{Filter: tuples.Filter{ObjectType: "doc", ObjectID: lock.ObjectID, Relation: "owner"}}},
					Ops:           []tuples.Op{{Kind: tuples.OpTouch, Tuple: lock}},
				})
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, tuples.ErrPrecondition):
					conflicts.Add(1)
				default:
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if wins.Load() != rounds || conflicts.Load() != 3*rounds {
		t.Fatalf("%d writes won and %d met a taken lock; want %d and %d", wins.Load(), conflicts.Load(), rounds, 3*rounds)
	}
	sn := storetest.Snap(t, ctx, c, 0)
	if sn.Revision() != start+rounds {
		t.Fatalf("latest revision %d, want %d: one per winning write", sn.Revision(), start+rounds)
	}
	cs, err := c.Changes(ctx, start, 0)
	if err != nil || len(cs) != rounds {
		t.Fatalf("%d changes, %v; want %d", len(cs), err, rounds)
	}
	for i, ch := range cs {
		if ch.Revision != start+tuples.Revision(i)+1 {
			t.Fatalf("change %d at revision %d: the log is not in revision order", i, ch.Revision)
		}
	}
}

// TestOutage stops PostgreSQL under a load of reads and writes: during the
// outage requests fail with ErrUnavailable, afterwards they succeed on the
// same backend (no reopening), and every acknowledged write is there. It
// stops the package's shared cluster, so it must not run in parallel with
// other tests (none of this package's top-level tests does).
func TestOutage(t *testing.T) {
	ctx := context.Background()
	url := pg.Database(t)
	b, err := OpenBackend(ctx, url, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s := store.New(b, store.Options{})
	storetest.Setup(t, ctx, s)
	cluster := pg.Cluster(t)

	var mu sync.Mutex
	acked := map[string]tuples.Revision{}
	var unavailableErrs, otherErrs atomic.Int64
	var lastOther atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				line := fmt.Sprintf("doc:o%d_%d#viewer@user:u", w, i)
				rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				rev, err := s.Write(rctx, tuples.Batch{Ops: []tuples.Op{{Kind: tuples.OpTouch, Tuple: storetest.MustParse(t, line)}}})
				if err == nil {
					var sn tuples.Snapshot
					if sn, err = s.Snapshot(rctx, rev); err == nil {
						sn.Close()
					}
				}
				cancel()
				switch {
				case err == nil:
					mu.Lock()
					acked[line] = rev
					mu.Unlock()
				case errors.Is(err, ErrUnavailable):
					unavailableErrs.Add(1)
					if !strings.Contains(err.Error(), "datastore unavailable") {
						t.Errorf("unavailable error without the words: %v", err)
					}
					time.Sleep(20 * time.Millisecond)
				default:
					otherErrs.Add(1)
					lastOther.Store(err.Error())
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	duringOutage := unavailableErrs.Load()
	if err := cluster.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if duringOutage == 0 {
		t.Fatal("no request failed with ErrUnavailable while the datastore was down")
	}
	if len(acked) <= before {
		t.Fatalf("no write succeeded after the restart (%d acknowledged before, %d after)", before, len(acked))
	}
	// A write whose commit was cut off may have failed with another
	// error of the broken connection, but never silently.
	if n := otherErrs.Load(); n > 4 {
		t.Errorf("%d requests failed with errors other than ErrUnavailable, last %v", n, lastOther.Load())
	}
	sn := storetest.Snap(t, ctx, s, 0)
	for line := range acked {
		if !storetest.Has(t, ctx, sn, line) {
			t.Errorf("acknowledged write %s lost", line)
		}
	}
	t.Logf("%d writes acknowledged, %d failed as unavailable, %d otherwise", len(acked), unavailableErrs.Load(), otherErrs.Load())
}

const crashEnv = "DOCKET_PGTEST_CRASH_CHILD" // "import|URL" or "batch|URL"

// TestCrashChild is the child process of TestCrash: it writes into the
// datastore, prints "stopped" mid-write and waits to be killed.
func TestCrashChild(t *testing.T) {
	arg := os.Getenv(crashEnv)
	if arg == "" {
		t.Skip("runs only as the child of TestCrash")
	}
	mode, url, _ := strings.Cut(arg, "|")
	ctx := context.Background()
	b, err := OpenBackend(ctx, url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	hang := func() {
		fmt.Println("stopped")
		time.Sleep(time.Hour)
	}
	switch mode {
	case "import", "import into an empty store":
		s := store.New(b, store.Options{ImportChunk: 1000})
		// An endless input: the child is killed while chunks are being
		// copied, long after the first ones reached the datastore.
		r := &endless{after: 20000, hang: hang}
		s.Import(ctx, r, store.ImportOptions{})
	case "import swapped in, uncommitted":
		// The import table has taken docket_tuples' place, in the
		// import's transaction, when the child is killed.
		b.beforeCommit = hang
		s := store.New(b, store.Options{ImportChunk: 1000})
		r := &endless{limit: 20000}
		s.Import(ctx, r, store.ImportOptions{})
	case "batch":
		b.beforeCommit = hang
		s := store.New(b, store.Options{})
		var ops []tuples.Op
		for i := range 5000 {
			ops = append(ops, tuples.Op{Kind: tuples.OpTouch, Tuple: storetest.MustParse(t, fmt.Sprintf("doc:b%d#viewer@user:u%d", i, i))})
		}
		ops = append(ops, tuples.Op{Kind: tuples.OpDelete, Tuple: storetest.MustParse(t, "doc:keep#viewer@user:ana")})
		s.Write(ctx, tuples.Batch{Ops: ops})
	}
	t.Fatal("the write ended; it should have been killed")
}

// endless yields tuple lines forever (or limit lines, when set), calling
// hang once after lines.
type endless struct {
	n, after, limit int
	hang            func()
	buf             []byte
}

func (e *endless) Read(p []byte) (int, error) {
	for len(e.buf) < len(p) && (e.limit == 0 || e.n < e.limit) {
		e.n++
		if e.n == e.after {
			go e.hang()
		}
		e.buf = fmt.Appendf(e.buf, "doc:i%d#viewer@user:u%d\n", e.n, e.n)
	}
	if len(e.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, e.buf)
	e.buf = e.buf[n:]
	return n, nil
}

var _ io.Reader = (*endless)(nil)

// TestCrash kills a client process with SIGKILL in the middle of an import
// (chunks already copied into the datastore; into an empty store, into
// the table built to be swapped in, or with that table swapped in and
// the commit not sent) and in the middle of a batch (every statement
// sent, the commit not): nothing of either is visible, the revision
// counter did not move, and the next write takes the next revision at
// once (the killed session's lock is gone with it).
func TestCrash(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []string{"import", "import into an empty store", "import swapped in, uncommitted", "batch"} {
		t.Run(mode, func(t *testing.T) {
			url := pg.Database(t)
			b, err := OpenBackend(ctx, url, Options{Migrate: true})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			s := store.New(b, store.Options{})
			var keep []string
			if mode == "import" || mode == "batch" {
				keep = []string{"doc:keep#viewer@user:ana"}
			}
			storetest.Setup(t, ctx, s, keep...)
			before := storetest.StateOf(t, ctx, s)

			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), crashEnv+"="+mode+"|"+url)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := bufio.NewScanner(out)
			stopped := false
			for lines.Scan() {
				if lines.Text() == "stopped" {
					stopped = true
					break
				}
			}
			if !stopped {
				cmd.Wait()
				t.Fatal("the child ended without reaching the middle of its write")
			}
			if mode == "import swapped in, uncommitted" {
				// The child dropped the old table: it holds its lock.
				var held bool
				err := b.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
					WHERE c.relname = 'docket_tuples' AND l.mode = 'AccessExclusiveLock' AND l.granted AND l.pid <> pg_backend_pid())`).Scan(&held)
				if err != nil || !held {
					t.Fatalf("the child did not swap its table in (%v)", err)
				}
			}
			if strings.HasPrefix(mode, "import") {
				// Make sure chunks reached the datastore, uncommitted.
				time.Sleep(200 * time.Millisecond)
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()

			if after := storetest.StateOf(t, ctx, s); !after.Equal(before) {
				t.Fatalf("a killed %s left a trace: revision %d -> %d, %d -> %d tuples, %d -> %d changes", mode,
					before.Revision(), after.Revision(), len(before.Tuples()), len(after.Tuples()), len(before.Changes()), len(after.Changes()))
			}
			var leftover bool
			if err := b.Pool().QueryRow(ctx, `SELECT to_regclass('`+importTable+`') IS NOT NULL`).Scan(&leftover); err != nil || leftover {
				t.Fatalf("a killed %s left its import table (%v)", mode, err)
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			rev, err := s.Write(wctx, tuples.Batch{Ops: []tuples.Op{{Kind: tuples.OpTouch, Tuple: storetest.MustParse(t, "doc:after#viewer@user:ana")}}})
			if err != nil || rev != before.Revision()+1 {
				t.Fatalf("write after the kill: revision %d, %v; want %d", rev, err, before.Revision()+1)
			}
		})
	}
}

// TestRoundTrips pins the number of round trips of the basic operations,
// so that a change that adds a query to a hot path shows.
func TestRoundTrips(t *testing.T) {
	ctx := context.Background()
	b := openBackend(t, Options{HeadTTL: time.Minute})
	s := store.New(b, store.Options{})
	rev := storetest.Setup(t, ctx, s, "doc:1#viewer@user:ana", "doc:1#viewer@team:t#member", "team:t#member@user:bob")
	count := func(what string, want int64, op func()) {
		t.Helper()
		before := b.Queries()
		op()
		if got := b.Queries() - before; got != want {
			t.Errorf("%s: %d round trips, want %d", what, got, want)
		}
	}
	var sn tuples.Snapshot
	count("snapshot at the latest", 1, func() { sn = storetest.Snap(t, ctx, s, 0) })
	count("snapshot at a known revision", 0, func() { storetest.Snap(t, ctx, s, rev) })
	count("has", 1, func() { storetest.Has(t, ctx, sn, "doc:1#viewer@user:ana") })
	subjects := func(sn tuples.Snapshot, obj tuples.Object, f tuples.SubjectFilter) []tuples.Subject {
		var out []tuples.Subject
		for s, err := range sn.Subjects(ctx, obj, "member", f) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	team := tuples.Object{Type: "team", ID: "t"}
	count("subjects", 1, func() { subjects(sn, team, tuples.SubjectFilter{}) })
	// The snapshot read each object whole: more of its questions are free.
	count("has, subjects, again", 0, func() {
		storetest.Has(t, ctx, sn, "doc:1#viewer@team:t#member")
		storetest.Has(t, ctx, sn, "doc:1#owner@user:ana")
		if got := subjects(sn, team, tuples.SubjectFilter{Type: "user", Plain: true}); len(got) != 1 || got[0].ID != "bob" {
			t.Errorf("the members of team:t = %v, want user:bob", got)
		}
	})
	count("reverse", 1, func() {
		for _, err := range sn.Reverse(ctx, tuples.Subject{Type: "user", ID: "ana"}, "doc", "viewer") {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
	// An object with more rows than a snapshot keeps is asked each
	// question: on first use, one round trip more.
	var big []string
	for i := range objectRowsMax + 1 {
		big = append(big, fmt.Sprintf("team:big#member@user:u%d", i))
	}
	rev2 := storetest.Write(t, ctx, s, tuples.OpTouch, big...)
	sn2 := storetest.Snap(t, ctx, s, rev2)
	bigTeam := tuples.Object{Type: "team", ID: "big"}
	count("subjects of a large object", 2, func() {
		if got := subjects(sn2, bigTeam, tuples.SubjectFilter{}); len(got) != objectRowsMax+1 {
			t.Errorf("%d members of team:big, want %d", len(got), objectRowsMax+1)
		}
	})
	count("two has on a large object, one each", 2, func() {
		if !storetest.Has(t, ctx, sn2, "team:big#member@user:u7") || storetest.Has(t, ctx, sn2, "team:big#member@user:ana") {
			t.Error("has on team:big answered wrongly")
		}
	})
	var wide []string
	for i := range objectRowsMax + 1 {
		wide = append(wide, fmt.Sprintf("doc:w%d#viewer@user:wide", i))
	}
	rev2 = storetest.Write(t, ctx, s, tuples.OpTouch, wide...)
	sn3 := storetest.Snap(t, ctx, s, rev2)
	count("reverse of a subject with many objects", 2, func() {
		n := 0
		for _, err := range sn3.Reverse(ctx, tuples.Subject{Type: "user", ID: "wide"}, "doc", "viewer") {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != objectRowsMax+1 {
			t.Errorf("user:wide views %d docs, want %d", n, objectRowsMax+1)
		}
	})
	rev = rev2
	count("reverse of a subject read before", 0, func() {
		for o, err := range sn.Reverse(ctx, tuples.Subject{Type: "user", ID: "ana"}, "doc", "owner") {
			if err != nil {
				t.Fatal(err)
			}
			t.Errorf("user:ana owns %v, which was never written", o)
		}
	})
	// begin, claim, one Has per tuple, the staged statements, commit.
	count("a write of one tuple", 5, func() { storetest.Write(t, ctx, s, tuples.OpTouch, "doc:2#viewer@user:ana") })
	count("a write of three tuples", 7, func() {
		storetest.Write(t, ctx, s, tuples.OpTouch, "doc:3#viewer@user:ana", "doc:4#viewer@user:ana", "doc:5#viewer@user:ana")
	})
	count("changes, nothing new", 1, func() {
		if _, err := s.Changes(ctx, rev+2, 0); err != nil {
			t.Fatal(err)
		}
	})
	count("changes", 2, func() {
		if _, err := s.Changes(ctx, rev, 0); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLocaleDatabase runs writes, imports, paged reads and deletes on a
// database whose default collation is a glibc locale rather than C, as
// most are: Docket's columns compare bytewise whatever the default.
func TestLocaleDatabase(t *testing.T) {
	ctx := context.Background()
	c := pg.Cluster(t)
	name := fmt.Sprintf("locale_%d", time.Now().UnixNano())
	if err := c.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"); err != nil {
		t.Skipf("no C.UTF-8 locale here: %v", err)
	}
	t.Cleanup(func() { c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	b, err := OpenBackend(ctx, c.URL(name), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s := store.New(b, store.Options{})
	storetest.Setup(t, ctx, s, "doc:é#viewer@user:Z", "doc:e#viewer@user:a", "doc:E#viewer@user:b")
	if _, err := s.Import(ctx, strings.NewReader(storetest.FixtureInput(300)), store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	sn := storetest.Snap(t, ctx, s, 0)
	var got []string
	cursor := ""
	for {
		ts, next, err := sn.Read(ctx, tuples.Filter{ObjectType: "doc"}, cursor, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ts {
			got = append(got, x.String())
		}
		if next == "" {
			break
		}
		cursor = next
	}
	all := storetest.All(t, ctx, sn, tuples.Filter{ObjectType: "doc"})
	if len(got) != len(all) {
		t.Fatalf("paged read found %d tuples, an unpaged one %d", len(got), len(all))
	}
	// Pages come in bytewise order of object type, then id.
	for i := 1; i < len(got); i++ {
		a, z := strings.SplitN(got[i-1], "#", 2)[0], strings.SplitN(got[i], "#", 2)[0]
		if a > z {
			t.Fatalf("pages out of bytewise order: %s before %s", got[i-1], got[i])
		}
	}
	if _, n, err := s.DeleteMatching(ctx, tuples.Filter{ObjectType: "doc", ObjectID: "é"}); err != nil || n != 1 {
		t.Fatalf("delete matching: %d, %v", n, err)
	}
}

// TestStatementTimeout checks that the URL's statement_timeout reaches
// every connection and that a statement cut off by it is ErrTimeout.
func TestStatementTimeout(t *testing.T) {
	ctx := context.Background()
	url := pg.Database(t)
	// Migrations run with the default timeout: 50 ms is for the test's
	// statement alone.
	m, err := OpenBackend(ctx, url, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	b, err := OpenBackend(ctx, url+"&statement_timeout=50", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var setting string
	if err := b.pool.QueryRow(ctx, "SHOW statement_timeout").Scan(&setting); err != nil || setting != "50ms" {
		t.Fatalf("statement_timeout on the pool's connections = %q, %v; want 50ms", setting, err)
	}
	_, err = b.pool.Exec(ctx, "SELECT pg_sleep(1)")
	if err = classify("sleep", err); !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "statement_timeout") {
		t.Fatalf("a statement past the timeout = %v, want ErrTimeout naming the setting", err)
	}
	// The default applies when the URL sets none.
	d := openBackend(t, Options{})
	if err := d.pool.QueryRow(ctx, "SHOW statement_timeout").Scan(&setting); err != nil || setting != DefaultStatementTimeout {
		t.Fatalf("default statement_timeout = %q, %v; want %s", setting, err, DefaultStatementTimeout)
	}
}
