package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/docketdb/docket/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// OpenScratch makes a new, empty store in a schema (namespace) of its own
// in the database at url, and drops the schema, with everything in it,
// when the store is closed. Validation runs use one per file, so that
// files never see each other's tuples and the database is left as it was.
// The URL's user needs the CREATE privilege on the database.
func OpenScratch(ctx context.Context, url string) (store.Store, error) {
	admin, err := Pool(ctx, url)
	if err != nil {
		return nil, err
	}
	var b [8]byte
	rand.Read(b[:])
	name := "docket_scratch_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize()); err != nil {
		admin.Close()
		return nil, classify("create a scratch schema", err)
	}
	drop := func() error {
		_, err := admin.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE")
		admin.Close()
		if err != nil {
			return classify("drop scratch schema "+name, err)
		}
		return nil
	}
	cfg, err := Config(url)
	if err != nil {
		return nil, errors.Join(err, drop())
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = name
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, errors.Join(classify("connect to the datastore", err), drop())
	}
	be, err := NewBackend(ctx, pool, Options{Migrate: true})
	if err != nil {
		pool.Close()
		return nil, errors.Join(fmt.Errorf("scratch schema %s: %w", name, err), drop())
	}
	be.ownPool = true
	return scratch{Store: store.New(be, store.Options{}), drop: drop}, nil
}

type scratch struct {
	store.Store
	drop func() error
}

func (s scratch) Close() error { return errors.Join(s.Store.Close(), s.drop()) }
