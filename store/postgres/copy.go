package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"

	"github.com/docketdb/docket/tuples"
	"github.com/jackc/pgx/v5"
)

// An import's chunks are COPYed in PostgreSQL's binary format, encoded
// here rather than through pgx's CopyFrom: its per-value encoding (a
// type lookup and an interface conversion for each of a row's eleven
// values) was most of the import's CPU on the Go side. A chunk that
// carries no payload leaves out the payload and expires_at columns,
// which then take their defaults ('' and NULL), as a plain tuple's are.

// copyRows is one COPY's rows in the binary format.
type copyRows struct {
	buf     []byte
	columns int
}

// copySignature starts every binary COPY stream, followed by the flags
// and the header extension's length (both zero).
const copySignature = "PGCOPY\n\xff\r\n\x00"

func (c *copyRows) reset(columns int) {
	c.columns = columns
	c.buf = append(c.buf[:0], copySignature...)
	c.buf = binary.BigEndian.AppendUint32(c.buf, 0)
	c.buf = binary.BigEndian.AppendUint32(c.buf, 0)
}

func (c *copyRows) row() { c.buf = binary.BigEndian.AppendUint16(c.buf, uint16(c.columns)) }

func (c *copyRows) text(s string) {
	c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(len(s)))
	c.buf = append(c.buf, s...)
}

func (c *copyRows) int64(v int64) {
	c.buf = binary.BigEndian.AppendUint32(c.buf, 8)
	c.buf = binary.BigEndian.AppendUint64(c.buf, uint64(v))
}

func (c *copyRows) int32(v int32) {
	c.buf = binary.BigEndian.AppendUint32(c.buf, 4)
	c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(v))
}

func (c *copyRows) int16(v int16) {
	c.buf = binary.BigEndian.AppendUint32(c.buf, 2)
	c.buf = binary.BigEndian.AppendUint16(c.buf, uint16(v))
}

// payload appends the payload and expires_at columns of p.
func (c *copyRows) payload(p tuples.Payload) {
	at := len(c.buf)
	c.buf = binary.BigEndian.AppendUint32(c.buf, 0)
	c.buf = tuples.AppendPayload(c.buf, p)
	binary.BigEndian.PutUint32(c.buf[at:], uint32(len(c.buf)-at-4))
	if e := expiresAt(p); e != nil {
		c.int64(*e)
	} else {
		c.buf = binary.BigEndian.AppendUint32(c.buf, 0xffffffff) // NULL
	}
}

// tupleFields appends a tuple's six fields.
func (c *copyRows) tupleFields(t *tuples.Tuple) {
	c.text(t.ObjectType)
	c.text(t.ObjectID)
	c.text(t.Relation)
	c.text(t.SubjectType)
	c.text(t.SubjectID)
	c.text(t.SubjectRelation)
}

// send COPYs the rows into table's columns through tx's connection.
func (c *copyRows) send(ctx context.Context, tx pgx.Tx, table string, columns []string) error {
	c.buf = binary.BigEndian.AppendUint16(c.buf, 0xffff) // the trailer: -1 fields
	sql := "COPY " + pgx.Identifier{table}.Sanitize() + " (" + strings.Join(columns, ", ") + ") FROM STDIN (FORMAT binary)"
	_, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(c.buf), sql)
	return err
}

// encodeChanges encodes changes as docket_changes rows at rev from
// sequence number seq+1 on, and returns the columns they fill.
func (c *copyRows) encodeChanges(rev int64, seq int, changes []tuples.Change, payloads bool) []string {
	cols := changeColumns
	if !payloads {
		cols = cols[:len(cols)-2]
	}
	c.reset(len(cols))
	for i := range changes {
		ch := &changes[i]
		seq++
		c.row()
		c.int64(rev)
		c.int32(int32(seq))
		c.int16(int16(ch.Kind))
		c.tupleFields(&ch.Tuple)
		if payloads {
			c.payload(ch.Tuple.Payload)
		}
	}
	return cols
}

// encodeTuples encodes changes' tuples as docket_tuples rows created at
// rev, and returns the columns they fill.
func (c *copyRows) encodeTuples(rev int64, changes []tuples.Change, payloads bool) []string {
	cols := tupleColumns
	if !payloads {
		cols = cols[:len(cols)-2]
	}
	c.reset(len(cols))
	for i := range changes {
		t := &changes[i].Tuple
		c.row()
		c.tupleFields(t)
		c.int64(rev)
		if payloads {
			c.payload(t.Payload)
		}
	}
	return cols
}

// carriesPayloads reports whether a change of the chunk carries a
// payload.
func carriesPayloads(changes []tuples.Change) bool {
	for i := range changes {
		if !changes[i].Tuple.Payload.IsZero() {
			return true
		}
	}
	return false
}
