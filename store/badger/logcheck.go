package badger

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Badger logs every write in its memtable's write-ahead log (a .mem file)
// before it reaches a table, and keeps large values in value-log files
// (.vlog) of the same format: a 20-byte header, then records, each a
// header (meta, user meta, and key length, value length and expiry as
// varints), the key, the value and a CRC-32C of all three. Replaying a
// log, Badger stops at the first record that fails its checksum and takes
// it for the torn end of a log cut short by a crash: on a writable open it
// truncates the log there and goes on, so a flipped byte in the middle of
// a memtable's log silently drops every write logged after it.
//
// A crash can only leave the last record torn, with nothing but zeros
// after it. So a record that fails, or a stretch of zeros where a record
// should be, is damage when a sound record follows it; otherwise it is the
// end of the log.

// logHeaderSize is the size of a log file's header (Badger's
// vlogHeaderSize: an encryption key id and a base IV).
const logHeaderSize = 20

// recordHeaderMax is the largest encoded record header (Badger's
// maxHeaderSize); a record whose header is all zeros marks the end.
const recordHeaderMax = 22

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// verifyLogs checks every memtable log in dir, and every value log too
// when values is set, returning one DamageError per damaged file.
func verifyLogs(dir string, values bool) ([]*DamageError, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	var out []*DamageError
	for _, ent := range entries {
		name := ent.Name()
		var kind string
		switch {
		case strings.HasSuffix(name, ".mem"):
			kind = "memtable log"
		case values && strings.HasSuffix(name, ".vlog"):
			kind = "value log"
		default:
			continue
		}
		data, err := readLogData(filepath.Join(dir, name))
		if err != nil {
			return out, fmt.Errorf("read %s: %w", name, err)
		}
		if at, ok := checkLog(data); !ok {
			out = append(out, &DamageError{Path: dir, File: kind + " " + name,
				What: fmt.Sprintf("fails its checksum at byte %d, and writes logged after it would be lost", at)})
		}
	}
	return out, nil
}

// logFiles counts the memtable and value-log files in dir.
func logFiles(dir string) int {
	mem, _ := filepath.Glob(filepath.Join(dir, "*.mem"))
	vlog, _ := filepath.Glob(filepath.Join(dir, "*.vlog"))
	return len(mem) + len(vlog)
}

// checkLog walks a log's records and reports where it is damaged: at the
// first record that fails, when a sound record follows it.
func checkLog(data []byte) (at int, ok bool) {
	if len(data) < logHeaderSize {
		return 0, true // created and not yet sized; Badger starts it afresh
	}
	at = logHeaderSize
	for at < len(data) {
		head := data[at:min(at+recordHeaderMax, len(data))]
		if !slices.ContainsFunc(head, func(b byte) bool { return b != 0 }) {
			break
		}
		n, sound := recordAt(data, at)
		if !sound {
			break
		}
		at += n
	}
	// Zeros only after it: the end of the log, or its torn last record.
	last := len(bytes.TrimRight(data, "\x00"))
	for next := at + 1; next < last; next++ {
		if _, sound := recordAt(data[:last], next); sound {
			return at, false
		}
	}
	return 0, true
}

// recordAt decodes the record at off, returning its length and whether it
// is sound: a header of plausible lengths, and its checksum matching.
func recordAt(data []byte, off int) (int, bool) {
	p := off + 2 // meta and user meta
	if p >= len(data) {
		return 0, false
	}
	klen, n := binary.Uvarint(data[p:])
	if n <= 0 {
		return 0, false
	}
	p += n
	vlen, n := binary.Uvarint(data[p:])
	if n <= 0 {
		return 0, false
	}
	p += n
	if _, n = binary.Uvarint(data[p:]); n <= 0 {
		return 0, false
	}
	p += n
	// Keys end in an 8-byte version and are at most 64 KiB.
	if klen < 8 || klen > 1<<16 || vlen > uint64(len(data)) {
		return 0, false
	}
	end := p + int(klen) + int(vlen)
	if end+4 > len(data) {
		return 0, false
	}
	if crc32.Checksum(data[off:end], castagnoli) != binary.BigEndian.Uint32(data[end:]) {
		return 0, false
	}
	return end + 4 - off, true
}

// readLogData reads a log file up to the end of its last written extent:
// Badger sizes its logs up front (a value log to 2 GiB), and what lies
// beyond what was written is a hole, never read.
func readLogData(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	end := dataEnd(f, fi.Size())
	data := make([]byte, end)
	if _, err := f.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return data, nil
}

// seekData and seekHole are lseek's SEEK_DATA and SEEK_HOLE.
const seekData, seekHole = 3, 4

// dataEnd is where the last stretch of written data of f ends, or size
// where the filesystem cannot say.
func dataEnd(f *os.File, size int64) int64 {
	var end, pos int64
	for pos < size {
		d, err := f.Seek(pos, seekData)
		if errors.Is(err, syscall.ENXIO) {
			break // only a hole follows
		}
		if err != nil {
			return size
		}
		h, err := f.Seek(d, seekHole)
		if err != nil {
			return size
		}
		end, pos = h, h
	}
	return min(end, size)
}
