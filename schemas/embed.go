// Package schemas embeds the seed schemas and their validation files, so
// that the playground can open them from the binary.
package schemas

import "embed"

// Files holds every seed schema (DIR/schema.rebac), validation file
// (DIR/*.yaml) and tuple file (DIR/*.tuples).
//
//go:embed */*.rebac */*.yaml */*.tuples
var Files embed.FS
