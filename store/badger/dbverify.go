package badger

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/docketdb/docket/schema"
	"github.com/docketdb/docket/store"
	"github.com/docketdb/docket/store/kv"
	"github.com/docketdb/docket/tuples"
)

// VerifyReport is what Verify found.
type VerifyReport struct {
	Revision tuples.Revision // the latest revision, whose state was checked
	Tables   int             // tables whose every block was checked
	Logs     int             // memtable and value-log files whose records were checked
	Tuples   int             // tuples at the latest revision
	Changes  int             // change-log entries replayed
	// LogFrom is the first revision the change log holds.
	LogFrom tuples.Revision
	// Problems lists what is wrong, one a line; empty when all is well.
	Problems []string
	// TablesOnly says that damaged tables stopped the check before the
	// tuples and the change log were read.
	TablesOnly bool
}

// maxProblems bounds the problems listed one by one; more are counted.
const maxProblems = 100

func (r *VerifyReport) problem(format string, args ...any) {
	if len(r.Problems) == maxProblems {
		r.Problems = append(r.Problems, "and more (only the first 100 are listed)")
	}
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// Verify reads the whole Badger database at path and reports what
// is wrong with it: every table's blocks against their checksums, every
// record of the memtable and value logs against its checksum, every
// tuple's forward key against its reverse key and back, every tuple
// against the schema, and the change log replayed against the tuples of
// the latest revision (a tuple whose last logged change is a write must
// be stored, one whose last is a delete must not, and while the log is
// untrimmed every stored tuple must have been logged), and the membership
// index against the tuples it derives from. It writes nothing
// unless the database was not closed cleanly, when it opens it writable
// so that the interrupted write is undone first, as any open does. The
// error is for failures to verify at all; damage found is in Problems.
func Verify(ctx context.Context, path string) (*VerifyReport, error) {
	existed, err := checkDir(path)
	if err != nil {
		return nil, err
	}
	if !existed {
		return nil, because(store.ErrNoDatabase, "no database at %s", path)
	}
	r := &VerifyReport{}
	found, err := verifyTables(path, checkBlocks)
	if err != nil {
		return nil, openError(path, true, err)
	}
	ssts, _ := filepath.Glob(filepath.Join(path, "*.sst"))
	r.Tables = len(ssts)
	// The logs a crash left: a writable open, below, would replay them,
	// truncating a damaged one at the damage without a word.
	logs, err := verifyLogs(path, true)
	if err != nil {
		return nil, openError(path, true, err)
	}
	r.Logs = logFiles(path)
	found = append(found, logs...)
	for _, d := range found {
		r.problem("%s %s", d.File, d.What)
	}
	if len(found) > 0 {
		r.TablesOnly = true // Badger cannot be trusted to read the rest
		return r, nil
	}
	e, err := openEngine(path, Options{ReadOnly: true, BlockCacheMB: 64})
	if errors.Is(err, store.ErrNotClosedCleanly) {
		e, err = openEngine(path, Options{BlockCacheMB: 64})
	}
	if err != nil {
		return nil, err
	}
	defer e.Close()
	_, r.Revision = e.bounds()
	var sch *schema.Schema
	lr := e.latestReader(time.Time{})
	st, err := lr.Schema(ctx)
	lr.Close()
	switch {
	case err != nil:
		r.problem("the stored schema cannot be read: %v", err)
		return r, nil
	case st.Text != "":
		if sch, err = schema.Load(fmt.Sprintf("schema@%d", st.Revision), []byte(st.Text)); err != nil {
			r.problem("the stored schema of revision %d does not compile: %v", st.Revision, err)
		}
	}
	txn := e.db.NewTransactionAt(uint64(r.Revision), false)
	defer txn.Discard()

	// Forward keys, each with its reverse key and a place in the schema.
	forward := map[string]bool{}
	err = scanKeys(ctx, txn, []byte{kv.TagForward, kv.Sep}, func(k []byte) error {
		t, err := kv.DecodeKey(k)
		if err != nil {
			r.problem("malformed forward key %q", k)
			return nil
		}
		r.Tuples++
		forward[string(k)] = true
		if _, err := txn.Get(kv.ReverseKey(nil, &t)); errors.Is(err, badger.ErrKeyNotFound) {
			r.problem("%s: stored, but missing from the reverse index (reverse lookups will not find it)", t)
		} else if err != nil {
			return err
		}
		if sch == nil {
			r.problem("%s: stored, but no schema is", t)
		} else if err := tuples.Validate(t, sch); err != nil {
			r.problem("%s: stored, but the schema does not allow it: %v", t, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", path, err)
	}
	err = scanKeys(ctx, txn, []byte{kv.TagReverse, kv.Sep}, func(k []byte) error {
		t, err := kv.DecodeKey(k)
		if err != nil {
			r.problem("malformed reverse key %q", k)
			return nil
		}
		if !forward[string(kv.ForwardKey(nil, &t))] {
			r.problem("%s: in the reverse index, but not stored (reverse lookups find a tuple that checks do not)", t)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", path, err)
	}

	// The change log replayed: the last change of each tuple.
	if r.LogFrom, err = logFrom(txn); err != nil {
		r.problem("%v", err)
		return r, nil
	}
	last := map[string]tuples.ChangeKind{}
	after := r.LogFrom - 1
	for {
		page, err := e.Changes(ctx, after, 100000)
		if err != nil {
			r.problem("the change log cannot be read after revision %d: %v", after, err)
			break
		}
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			if c.Revision > r.Revision {
				r.problem("the change log holds revision %d, above the latest %d", c.Revision, r.Revision)
				continue
			}
			last[string(kv.ForwardKey(nil, &c.Tuple))] = c.Kind
		}
		r.Changes += len(page)
		after = page[len(page)-1].Revision
	}
	for k, kind := range last {
		t, _ := kv.DecodeKey([]byte(k))
		switch {
		case kind == tuples.ChangeWrite && !forward[k]:
			r.problem("%s: the change log says it was written last, but it is not stored", t)
		case kind == tuples.ChangeDelete && forward[k]:
			r.problem("%s: the change log says it was deleted last, but it is stored", t)
		}
	}
	if r.LogFrom <= 1 {
		for k := range forward {
			if _, ok := last[k]; !ok {
				t, _ := kv.DecodeKey([]byte(k))
				r.problem("%s: stored, but the change log never recorded it", t)
			}
		}
	}
	// The membership index against the tuples it derives from.
	e.mu.Lock()
	e.pins[r.Revision]++
	e.mu.Unlock()
	now, _ := tuples.ClockFrom(ctx)
	ir := e.reader(r.Revision, now)
	problems, err := store.VerifyIndex(ctx, ir, sch)
	ir.Close()
	if err != nil {
		r.problem("the membership index cannot be read: %v", err)
	}
	for _, p := range problems {
		r.problem("%s", p)
	}
	if e.db.MaxVersion() > uint64(r.Revision) && e.readOnly {
		r.problem("entries above the latest revision %d are left by an interrupted write; the next writable open removes them", r.Revision)
	}
	return r, nil
}

// scanKeys calls fn with each key under prefix at txn's revision.
func scanKeys(ctx context.Context, txn *badger.Txn, prefix []byte, fn func([]byte) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	n := 0
	for it.Rewind(); it.Valid(); it.Next() {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := fn(it.Item().Key()); err != nil {
			return err
		}
	}
	return nil
}
