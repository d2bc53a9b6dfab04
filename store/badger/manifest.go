package badger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"syscall"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"google.golang.org/protobuf/proto"
)

// Badger's MANIFEST is a log of the tables it created and deleted, replayed
// whole on every open (by Badger, and before it by verifyTables). Every
// process that writes once adds a table and a compaction of it on close:
// a few records each time, and Badger only rewrites the log once it holds
// more than 10,000 deletions. After 10,000 single-tuple writes the log had
// 20,000 records (467 KB) for a handful of tables, and replaying it twice
// made opening 3.8 times slower than opening the same data written at
// once. So a writable open rewrites the log first when it records many
// more deletions than it lists tables, as Badger's own rewrite would: one
// change set creating each live table, written beside it, synced and
// renamed over it.

// defaultManifestSlack is how many deletions a MANIFEST may record, beyond four
// times the tables it lists, before an open rewrites it: replaying a few
// hundred records costs well under a millisecond, and a rewrite (two
// fsyncs) is left to one open in hundreds.
const defaultManifestSlack = 256

// manifest is what a MANIFEST says: the tables Badger opens.
type manifest struct {
	badger.Manifest
	header [8]byte // magic and versions, kept as they are on a rewrite
}

// readManifest replays the MANIFEST in dir; ok is false when there is
// none. A MANIFEST that cannot be replayed is a DamageError.
func readManifest(dir string) (m manifest, ok bool, err error) {
	f, err := os.Open(filepath.Join(dir, badger.ManifestFilename))
	if errors.Is(err, os.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("read MANIFEST: %w", err)
	}
	defer f.Close()
	damaged := func(err error) error {
		return &DamageError{Path: dir, File: badger.ManifestFilename, What: fmt.Sprintf("cannot be read (%v)", err)}
	}
	if _, err := io.ReadFull(f, m.header[:]); err != nil {
		return m, false, damaged(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return m, false, fmt.Errorf("read MANIFEST: %w", err)
	}
	if m.Manifest, _, err = badger.ReplayManifestFile(f, binary.BigEndian.Uint16(m.header[4:6]),
		badger.DefaultOptions(dir).WithLogger(nil)); err != nil {
		return m, false, damaged(err)
	}
	return m, true, nil
}

// bloated says whether m records enough deletions to be worth
// rewriting: more than slack beyond four times the tables it lists.
func (m *manifest) bloated(slack int) bool {
	return m.Deletions > slack+4*len(m.Tables)
}

// prepareWritable does, before a writable open of the database in dir,
// what must be done while no other process has it open: the memtable
// logs a crash left behind are checked, which Badger's replay would
// truncate at any damage without a word, and a bloated MANIFEST (m is
// what it held; see bloated for slack) is rewritten. Badger locks the
// directory with flock while it has it open; held here, the lock says no
// process writes to the logs or appends to the MANIFEST meanwhile. When
// another process holds it nothing is done: the open that follows says
// the database is in use.
func prepareWritable(dir string, m manifest, slack int) error {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.mem"))
	if len(logs) == 0 && !m.bloated(slack) {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return nil // the open that follows says why
	}
	defer d.Close()
	if syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return nil
	}
	defer syscall.Flock(int(d.Fd()), syscall.LOCK_UN)
	if len(logs) > 0 {
		found, err := verifyLogs(dir, false)
		if err != nil {
			return err
		}
		if err := damageErr(found); err != nil {
			return err
		}
	}
	if !m.bloated(slack) {
		return nil
	}
	// Replayed again under the lock: the log may have grown since. A
	// rewrite that fails leaves the MANIFEST as it was (the new one
	// replaces it only once complete and synced), and the open goes on:
	// a long log is slow to replay, not wrong.
	if m, _, err = readManifest(dir); err == nil && m.bloated(slack) {
		_ = rewriteManifest(dir, d, m)
	}
	return nil
}

// rewriteManifest writes m as one change set, as Badger's own rewrite
// does (manifest.go, helpRewrite): the header, then the change set's
// length, its CRC-32C and the change set.
func rewriteManifest(dir string, d *os.File, m manifest) error {
	set := pb.ManifestChangeSet{Changes: make([]*pb.ManifestChange, 0, len(m.Tables))}
	for id, t := range m.Tables {
		set.Changes = append(set.Changes, &pb.ManifestChange{
			Id: id, Op: pb.ManifestChange_CREATE, Level: uint32(t.Level), KeyId: t.KeyID,
			EncryptionAlgo: pb.EncryptionAlgo_aes, Compression: uint32(t.Compression),
		})
	}
	body, err := proto.Marshal(&set)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, 16+len(body))
	buf = append(buf, m.header[:]...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(body)))
	buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	buf = append(buf, body...)

	tmp := filepath.Join(dir, "MANIFEST-REWRITE") // Badger's own name for it
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, badger.ManifestFilename))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return d.Sync()
}
