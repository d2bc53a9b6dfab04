package tuples

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentReaders reads snapshots while a writer commits: every
// snapshot must show exactly the writes up to its revision, however many
// commits land while it is read.
func TestConcurrentReaders(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := b.open(t, 1000)
			defer s.Close()
			base := setup(t, ctx, s) // revision of the schema write
			const writes = 150
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			done := make(chan struct{})
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(done)
				for i := 1; i <= writes; i++ {
					// Each revision adds one tuple and moves a marker
					// tuple, so a half-visible write would show.
					ops := []Op{
						{Kind: OpTouch, Tuple: Tuple{"doc", fmt.Sprint(i), "viewer", "user", "ana", ""}},
						{Kind: OpTouch, Tuple: Tuple{"doc", "marker", "viewer", "user", fmt.Sprint(i), ""}},
					}
					if i > 1 {
						ops = append(ops, Op{Kind: OpDelete, Tuple: Tuple{"doc", "marker", "viewer", "user", fmt.Sprint(i - 1), ""}})
					}
					if _, err := s.Write(ctx, Batch{Ops: ops}); err != nil {
						errs <- err
						return
					}
				}
			}()
			for r := 0; r < 4; r++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-done:
							return
						default:
						}
						sn, err := s.Snapshot(ctx, 0)
						if err != nil {
							errs <- err
							return
						}
						n := int(sn.Revision() - base)
						for pass := 0; pass < 2; pass++ {
							count := 0
							for _, err := range sn.Reverse(ctx, Subject{Type: "user", ID: "ana"}, "doc", "viewer") {
								if err != nil {
									errs <- err
									return
								}
								count++
							}
							markers := 0
							for sub, err := range sn.Subjects(ctx, Object{"doc", "marker"}, "viewer", SubjectFilter{}) {
								if err != nil || sub.ID != fmt.Sprint(n) {
									errs <- fmt.Errorf("revision %d: marker %v (%v)", sn.Revision(), sub, err)
									return
								}
								markers++
							}
							if count != n || (n > 0 && markers != 1) {
								errs <- fmt.Errorf("revision %d: %d tuples and %d markers, want %d and 1", sn.Revision(), count, markers, n)
								return
							}
						}
						sn.Close()
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}
