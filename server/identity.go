package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// idFile holds a Badger database's store id, beside Badger's own files,
// so that the id moves with the database when it is copied or restored.
const idFile = "DOCKET-STORE-ID"

// NewStoreID returns a fresh random store id (for a store that lives as
// long as the process, such as an in-memory one).
func NewStoreID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// DirStoreID returns the store id of the database in dir, creating it on
// first use. The server holds the database's lock while it runs, so no
// other process races to create it.
func DirStoreID(dir string) (string, error) {
	path := filepath.Join(dir, idFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		id := strings.TrimSpace(string(b))
		if len(id) != 32 {
			return "", fmt.Errorf("%s is damaged: it should hold the 32-digit store id written when the server first ran", path)
		}
		if _, err := hex.DecodeString(id); err != nil {
			return "", fmt.Errorf("%s is damaged: it should hold the 32-digit store id written when the server first ran", path)
		}
		return id, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("read store id: %w", err)
	}
	id := NewStoreID()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write store id: %w", err)
	}
	if f, err := os.Open(tmp); err == nil {
		_ = f.Sync()
		f.Close()
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write store id: %w", err)
	}
	return id, nil
}
