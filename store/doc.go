// Package store keeps tuples and the schema at revisions, on a Backend:
// store/badger (persistent, the default), store/memory, or store/postgres
// (a SQL database several processes share).
//
// # Stores
//
// Store has three backends with one behaviour, held to it by the
// conformance suite of store/storetest: badger.Open (persistent, the
// default), memory.New (go-memdb) and postgres.Open (PostgreSQL, and by
// design CockroachDB and YugabyteDB; see that package). Every successful write is a new revision, one more than the
// last; a Snapshot reads at the latest revision or at any revision still
// held, and never sees part of a write. A revision above the latest is
// refused with ErrFutureRevision.
//
// The logic that does not depend on the backend is written once, in this
// package (store.go, schema_write.go, import.go), over the Backend
// interface (backend.go): every tuple is validated against the schema in
// force, and batches are planned (ErrExists, preconditions, the net effect
// of several operations on one tuple) inside the backend's write
// transaction, against the revision it builds on. The latest revision and
// the schema in force at a revision are read from the backend, never kept
// in the process (compiled schemas are cached by the revision that wrote
// them). A backend only stores tuples and schema texts at revisions and
// reads them back.
//
// # Keys
//
// Each tuple is stored twice, as a forward key (object, relation,
// subject) and a reverse key (subject, object type, relation, object id),
// the fields joined by 0x00 (store/kv, shared by both backends). Has is one point lookup of the
// forward key; Subjects and Reverse are prefix scans that touch only keys.
// Read serves a filter from the forward index when the object type is
// given, from the reverse index when the subject type is, and otherwise
// scans; its cursor is the last key returned.
//
// The membership index of nesting relations (index.go) is kept by the
// key-value backends as keys without values of two more tags: G (the
// index of a relation is maintained) and g (a group, a group above it,
// the shortest chain), written in the revision of the tuples they derive
// from.
//
// # Badger
//
// Badger runs in managed mode: a revision is the commit timestamp of its
// entries, and a snapshot at revision R reads at timestamp R, so deleting
// a tuple writes a delete marker that older snapshots do not see. The key
// m/latest holds the latest published revision; readers never read past
// it. Small writes are one Badger transaction including m/latest. Writes
// too large for a transaction (imports, wide deletes) write their entries
// at the new timestamp first, through a WriteBatch, or, when the store
// holds no tuples yet, a StreamWriter that builds tables from sorted keys,
// and publish them by committing m/latest last. If the process dies in
// between, the entries above m/latest are orphans: on open, every version
// above m/latest is overwritten, at that same version, with the key's
// state at m/latest, so the next write, which reuses that revision
// number, cannot expose them. Re-running the import then writes it whole.
//
// An import larger than a few hundred thousand tuples is not held in
// memory: each chunk's keys are sorted into run files in the database
// directory, and only once the whole input is read and valid are the
// runs merged into one StreamWriter load at the new revision, which is
// then published. A bad line costs only the files; a crash leaves files,
// removed on open, and perhaps unpublished tables, rolled back as above.
// Tables are 2 MB at every level, which keeps a stream load's memory low.
//
// Old versions are kept for badger.Options.KeepRevisions revisions; below
// that the discard timestamp lets compaction drop them, and a new snapshot
// there is refused with ErrRevisionGone. An open snapshot pins its
// revision: the discard timestamp never rises above the lowest revision an
// open snapshot reads, so a long read answers as of its revision however
// many writes and compactions happen meanwhile; Close releases the pin.
//
// # Memory
//
// go-memdb's radix trees are persistent: a snapshot after each commit is
// one root pointer and never changes, so revisions are a list of them.
// Each commit is one memdb transaction. Rows are indexed by their forward
// and reverse keys through a custom indexer, which also sidesteps memdb's
// string indexers refusing empty values (a plain subject has no subject
// relation).
//
// # Import, export, changes
//
// Import reads its input in chunks, validating each line, and hands the
// chunks to the backend, which keeps them invisible until the input ends;
// it then writes them as one revision. A bad line anywhere means nothing
// is written: the backend drops what it holds, the rest of the input is
// only checked, and up to 20 errors are reported as NAME:LINE[:COL] with
// the rest counted. Tuples are written as touches, so importing again is
// harmless. The store's writer lock is held for the whole import. Export writes every tuple at a revision in the text
// or JSON-lines format, which Import reads back. The change log records
// each revision's writes and deletes, 512 to an entry, and Changes returns
// whole revisions. TrimChanges drops the entries below a revision in a
// revision of its own and records where the log starts (m/changes), so
// that Changes refuses, with ErrChangesTrimmed, to start earlier.
package store
