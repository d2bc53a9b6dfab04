// Package tuples is the vocabulary of relation tuples, free of any
// storage engine: tuples, objects and subjects, their parsing, validation
// against a schema and text and JSON-lines forms, the Snapshot interface
// the checker reads through, and Overlay. Package store keeps tuples at
// revisions; the checker and a library user of it link no backend.
//
// # Tuples
//
// A tuple is object#relation@subject in text form: doc:1#viewer@user:ana,
// doc:1#viewer@team:east#member, doc:1#viewer@user:*. An id is 1 to 1024
// bytes of printable UTF-8 without whitespace or `#`; the first `#` ends
// the object and the next `@` ends the relation, so e-mail addresses and
// URNs are ids. Parse reports the column of the first bad character;
// Validate checks a tuple against a schema and says why it may not be
// written.
package tuples
