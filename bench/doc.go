// Package bench holds Docket's benchmarks. The datasets come from
// bench/gen; the benchmarks themselves live in *_bench_test.go files and
// run only with `go test -bench`, so the default test run stays fast.
//
// DOCKET_BENCH_SIZE sets the casebook dataset size (default 100k; 1m for
// the published figures).
package bench
