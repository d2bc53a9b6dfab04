package badger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/fb"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/y"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/proto"

	"github.com/docketdb/docket/store"
)

// Badger checks a table's block checksums only as it reads the blocks,
// and a block that fails is not an error anywhere Docket can see it: an
// iterator simply ends there, and a point read finds nothing. A damaged
// table would so change answers without a word (a grant or a deny-list
// entry gone). And a table whose footer is damaged or cut short makes
// Badger panic in a goroutine of its own while opening, which no caller
// can recover. So every table is checked here, before Badger opens the
// directory: its footer and index with bounds checks, and every block
// against its checksum. Tables are immutable once written, so what
// passes here is what Badger reads.

// store.ErrDamaged marks a database whose files fail their checks.

// DamageError names the file of a database that fails its checks.
type DamageError struct {
	Path string // the database directory
	File string // the file's name inside it
	What string // what is wrong with it
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("database damaged: %s %s (in %s); restore a backup or re-import an export", e.File, e.What, e.Path)
}

func (e *DamageError) Unwrap() error { return store.ErrDamaged }

// tableCheck is what is checked of each table.
type tableCheck int

const (
	checkFooter tableCheck = iota // footer and index only
	checkBlocks                   // and every block's checksum
)

// verifyTables checks every table the manifest lists, returning one
// DamageError per damaged table.
func verifyTables(dir string, depth tableCheck) ([]*DamageError, error) {
	man, ok, err := readManifest(dir)
	var de *DamageError
	if errors.As(err, &de) {
		return []*DamageError{de}, nil
	}
	if err != nil || !ok {
		return nil, err
	}
	return checkTables(dir, man.Manifest, depth)
}

// checkTables checks every table man lists.
func checkTables(dir string, man badger.Manifest, depth tableCheck) ([]*DamageError, error) {
	ids := make([]uint64, 0, len(man.Tables))
	for id := range man.Tables {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var out []*DamageError
	for _, id := range ids {
		name := fmt.Sprintf("%06d.sst", id)
		data, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			out = append(out, &DamageError{Path: dir, File: name, What: "is missing"})
			continue
		}
		if err != nil {
			return out, fmt.Errorf("read %s: %w", name, err)
		}
		if what := checkTable(data, man.Tables[id].Compression, depth); what != "" {
			out = append(out, &DamageError{Path: dir, File: "table " + name, What: what})
		}
	}
	return out, nil
}

// checkTable returns what is wrong with a table's bytes, or "". The
// layout (Badger's table/builder.go): blocks, then the index, its length
// (4 bytes), its checksum and the checksum's length (4 bytes); each block
// holds entries, their offsets (4 bytes each), their count (4 bytes), its
// checksum and the checksum's length (4 bytes).
func checkTable(data []byte, comp options.CompressionType, depth tableCheck) string {
	const truncated = "is truncated or damaged: its index cannot be read"
	end := len(data)
	u32 := func(at int) (int, bool) {
		if at < 0 || at+4 > len(data) {
			return 0, false
		}
		return int(binary.BigEndian.Uint32(data[at:])), true
	}
	chkLen, ok := u32(end - 4)
	if !ok || chkLen > end-8 {
		return truncated
	}
	chk := &pb.Checksum{}
	if err := proto.Unmarshal(data[end-4-chkLen:end-4], chk); err != nil {
		return truncated
	}
	idxLen, ok := u32(end - 8 - chkLen)
	idxStart := end - 8 - chkLen - idxLen
	if !ok || idxStart < 0 {
		return truncated
	}
	index := data[idxStart : idxStart+idxLen]
	if !verifySum(index, chk) {
		return "fails its checksum (index)"
	}
	ti, ok := tableIndex(index)
	if !ok {
		return truncated
	}
	if depth == checkFooter {
		return ""
	}
	var bo fb.BlockOffset
	var zdec *zstd.Decoder
	defer func() {
		if zdec != nil {
			zdec.Close()
		}
	}()
	for i := 0; i < ti.OffsetsLength(); i++ {
		if !ti.Offsets(&bo, i) {
			return truncated
		}
		off, n := int(bo.Offset()), int(bo.Len())
		if off < 0 || n <= 0 || off+n > idxStart {
			return fmt.Sprintf("is truncated or damaged: block %d lies outside the file", i)
		}
		blk := data[off : off+n]
		switch comp {
		case options.None:
		case options.Snappy:
			var err error
			if blk, err = snappy.Decode(nil, blk); err != nil {
				return fmt.Sprintf("fails its checksum (block %d cannot be decompressed)", i)
			}
		case options.ZSTD:
			var err error
			if zdec == nil {
				if zdec, err = zstd.NewReader(nil); err != nil {
					return fmt.Sprintf("cannot be checked: %v", err)
				}
			}
			if blk, err = zdec.DecodeAll(blk, nil); err != nil {
				return fmt.Sprintf("fails its checksum (block %d cannot be decompressed)", i)
			}
		default:
			return fmt.Sprintf("cannot be checked: unknown compression %d", comp)
		}
		if len(blk) < 4 {
			return fmt.Sprintf("fails its checksum (block %d)", i)
		}
		cl := int(binary.BigEndian.Uint32(blk[len(blk)-4:]))
		if cl > len(blk)-4 {
			return fmt.Sprintf("fails its checksum (block %d)", i)
		}
		bc := &pb.Checksum{}
		if err := proto.Unmarshal(blk[len(blk)-4-cl:len(blk)-4], bc); err != nil || !verifySum(blk[:len(blk)-4-cl], bc) {
			return fmt.Sprintf("fails its checksum (block %d)", i)
		}
	}
	return ""
}

func verifySum(data []byte, chk *pb.Checksum) bool {
	switch chk.Algo {
	case pb.Checksum_CRC32C, pb.Checksum_XXHash64:
		return y.VerifyChecksum(data, chk) == nil
	}
	return false
}

// tableIndex reads the index's flatbuffer; its checksum has passed, so
// only a bug could make it malformed, and that is caught here rather than
// taking the process down.
func tableIndex(index []byte) (ti *fb.TableIndex, ok bool) {
	defer func() {
		if recover() != nil {
			ti, ok = nil, false
		}
	}()
	ti = fb.GetRootAsTableIndex(index, 0)
	_ = ti.OffsetsLength()
	return ti, true
}

// damageErr joins the damage found into one error, naming each file.
func damageErr(found []*DamageError) error {
	if len(found) == 0 {
		return nil
	}
	if len(found) == 1 {
		return found[0]
	}
	names := make([]string, len(found))
	for i, d := range found {
		names[i] = d.File[strings.LastIndexByte(d.File, ' ')+1:] // the file's name, without its kind
	}
	return &DamageError{Path: found[0].Path, File: fmt.Sprintf("%d files (%s)", len(found), strings.Join(names, ", ")),
		What: "fail their checks"}
}
