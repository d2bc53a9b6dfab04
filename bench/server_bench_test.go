package bench

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/docketdb/docket/bench/gen"
	"github.com/docketdb/docket/check"
	"github.com/docketdb/docket/client"
	pb "github.com/docketdb/docket/gen/docket/v1"
	"github.com/docketdb/docket/internal/logsink"
	"github.com/docketdb/docket/server"
)

const benchKey = "bench-key-0123456789"

// serve starts a server over d's store on 127.0.0.1 with checker c and
// one bearer key, and returns its URL.
func serve(b *testing.B, d *dataset, c *check.Checker) string {
	return serveLogging(b, d, c, nil)
}

// serveLogging is serve with the request log, one JSON line a request as
// `docket serve` writes it, going to log (nil: none).
func serveLogging(b *testing.B, d *dataset, c *check.Checker, log io.Writer) string {
	b.Helper()
	keys, err := server.ParseKeys("keys", []byte(benchKey+"\n"))
	if err != nil {
		b.Fatal(err)
	}
	var logger *slog.Logger
	if log != nil {
		logger = slog.New(slog.NewJSONHandler(log, nil))
	}
	srv, err := server.New(server.Options{Store: d.store, StoreID: server.NewStoreID(), Keys: keys, Checker: c, Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, "", "", 5*time.Second) }()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	return "http://" + ln.Addr().String()
}

// bareHTTP starts a net/http server on 127.0.0.1 that reads a request's
// body and answers 16 bytes, and returns its URL.
func bareHTTP(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	answer := bytes.Repeat([]byte("y"), 16)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/proto")
		_, _ = w.Write(answer)
	})}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/"
}

// protocols are the client's two ways of calling: gRPC (HTTP/2, h2c) and
// Connect's protocol with protobuf (HTTP/1.1, the client's default).
var protocols = []struct {
	name string
	grpc bool
}{{"grpc", true}, {"connect", false}}

// connClient is a client with a transport of its own, so its calls use
// connections no other client shares.
func connClient(b *testing.B, url string, grpc bool) *client.Client {
	b.Helper()
	c, err := client.New(url, client.Options{Token: benchKey, GRPC: grpc})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func checkRequest(q check.Query) *connect.Request[pb.CheckRequest] {
	return connect.NewRequest(&pb.CheckRequest{
		Object:   &pb.ObjectRef{Type: q.Object.Type, Id: q.Object.ID},
		Relation: q.Relation,
		Subject:  &pb.SubjectRef{Type: q.Subject.Type, Id: q.Subject.ID, Relation: q.Subject.Relation},
	})
}

// BenchmarkServer times the server over loopback gRPC on the casebook in
// Badger: one check at a time over one connection, in process and through
// the server alike, with the checker's cache off (so that both walk the
// graph); checks from 16 connections at once with the default cache
// (ns/op is per check, checks/s the throughput); and a CheckBatch of
// 1,000 checks.
func BenchmarkServer(b *testing.B) {
	spec := gen.Spec{Shape: gen.ShapeCasebook, Size: benchSize(b), Seed: 1}
	be := backends()[1]
	d := load(b, be, spec)
	d.verify(b, check.New(check.Options{CacheSize: -1}))
	settle(b)
	ctx := context.Background()
	nocache := check.New(check.Options{CacheSize: -1})
	url := serve(b, d, nocache)

	// The transport's own floor on this machine: a bare net/http server
	// answering a POST of a check's size with a few bytes, over one
	// HTTP/1.1 keep-alive connection, as the client's Connect calls go.
	// What a check through the server costs above this and above the
	// in-process check is Docket's (Connect, middleware, snapshot).
	b.Run("baseline/http1", func(b *testing.B) {
		bare := bareHTTP(b)
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
		body := bytes.Repeat([]byte("x"), 64)
		cpu := cpuTime()
		latency(b, func(int) error {
			res, err := hc.Post(bare, "application/proto", bytes.NewReader(body))
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			return err
		})
		reportCPU(b, cpu, b.N)
	})

	// The floor of a call: Stats opens a snapshot and walks nothing, so
	// its cost is the protocol's, the middleware's and the store's
	// per-request work.
	for _, p := range protocols {
		one := connClient(b, url, p.grpc)
		b.Run("stats/"+p.name, func(b *testing.B) {
			cpu := cpuTime()
			latency(b, func(int) error {
				_, err := one.Stats(ctx, connect.NewRequest(&pb.StatsRequest{}))
				return err
			})
			reportCPU(b, cpu, b.N)
		})
	}
	for _, label := range []string{"direct", "negative"} {
		qs := d.checks(label)
		b.Run("check/"+label+"/inprocess/nocache", func(b *testing.B) {
			cpu := cpuTime()
			latency(b, func(i int) error {
				_, err := nocache.Check(ctx, d.snap, qs[i%len(qs)])
				return err
			})
			reportCPU(b, cpu, b.N)
		})
		// As the server does: a snapshot of the latest revision opened
		// for each check, and closed after it.
		b.Run("check/"+label+"/inprocess-snapshot/nocache", func(b *testing.B) {
			cpu := cpuTime()
			latency(b, func(i int) error {
				sn, err := d.store.Snapshot(ctx, 0)
				if err != nil {
					return err
				}
				defer sn.Close()
				_, err = nocache.Check(ctx, sn, qs[i%len(qs)])
				return err
			})
			reportCPU(b, cpu, b.N)
		})
		for _, p := range protocols {
			one := connClient(b, url, p.grpc)
			b.Run("check/"+label+"/"+p.name+"/nocache", func(b *testing.B) {
				cpu := cpuTime()
				latency(b, func(i int) error {
					_, err := one.DocketServiceClient.Check(ctx, checkRequest(qs[i%len(qs)]))
					return err
				})
				reportCPU(b, cpu, b.N)
			})
		}
	}

	// The request log as `docket serve` keeps it, into a file: each line
	// written in the request's path, or handed to logsink's goroutine.
	for _, sink := range []bool{false, true} {
		name := "check/direct/connect/nocache-log-inline"
		if sink {
			name = "check/direct/connect/nocache-log-sink"
		}
		b.Run(name, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "requests.log"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			var w io.Writer = f
			if sink {
				ls := logsink.New(f)
				defer ls.Close()
				w = ls
			}
			one := connClient(b, serveLogging(b, d, nocache, w), false)
			qs := d.checks("direct")
			cpu := cpuTime()
			latency(b, func(i int) error {
				_, err := one.DocketServiceClient.Check(ctx, checkRequest(qs[i%len(qs)]))
				return err
			})
			reportCPU(b, cpu, b.N)
		})
	}

	all := d.checks("")
	for _, p := range protocols {
		b.Run("check/all/"+p.name+"-16conn/cache", func(b *testing.B) {
			parallelChecks(b, d, all, p.grpc)
		})
	}

	// CheckBatch of 1,000 checks of every label: in process and through
	// the server, cache off; and through a server with the default cache,
	// warmed by the same batch, as a busy server's would be.
	items := make([]*pb.CheckBatchItem, 1000)
	batch := make([]check.Query, len(items))
	for i := range items {
		q := all[i%len(all)]
		batch[i] = q
		items[i] = &pb.CheckBatchItem{
			Object: &pb.ObjectRef{Type: q.Object.Type, Id: q.Object.ID}, Relation: q.Relation,
			Subject: &pb.SubjectRef{Type: q.Subject.Type, Id: q.Subject.ID, Relation: q.Subject.Relation},
		}
	}
	req := &pb.CheckBatchRequest{Items: items}
	b.Run("batch-1000/inprocess/nocache", func(b *testing.B) {
		cpu := cpuTime()
		latency(b, func(int) error {
			_, err := nocache.CheckBatch(ctx, d.snap, batch)
			return err
		})
		reportCPU(b, cpu, b.N)
	})
	cached := serve(b, d, check.New(check.Options{}))
	for _, p := range protocols {
		one := connClient(b, url, p.grpc)
		b.Run("batch-1000/"+p.name+"/nocache", func(b *testing.B) {
			cpu := cpuTime()
			latency(b, func(int) error {
				_, err := one.CheckBatch(ctx, connect.NewRequest(req))
				return err
			})
			reportCPU(b, cpu, b.N)
		})
		b.Run("batch-1000/"+p.name+"/cache", func(b *testing.B) {
			c := connClient(b, cached, p.grpc)
			if _, err := c.CheckBatch(ctx, connect.NewRequest(req)); err != nil {
				b.Fatal(err)
			}
			cpu := cpuTime()
			latency(b, func(int) error {
				_, err := c.CheckBatch(ctx, connect.NewRequest(req))
				return err
			})
			reportCPU(b, cpu, b.N)
		})
	}
}

// parallelChecks times checks from 16 clients at once, each on its own
// connection, against a server with the default cache, warmed by one
// pass over the checks as a running server's would be.
func parallelChecks(b *testing.B, d *dataset, all []check.Query, grpc bool) {
	ctx := context.Background()
	cached := serve(b, d, check.New(check.Options{}))
	const conns = 16
	clients := make([]*client.Client, conns)
	for i := range clients {
		clients[i] = connClient(b, cached, grpc)
	}
	// Warm the cache as a running server's would be.
	for _, q := range all {
		if _, err := clients[0].DocketServiceClient.Check(ctx, checkRequest(q)); err != nil {
			b.Fatal(err)
		}
	}
	var next, conn atomic.Int64
	b.SetParallelism(conns / max(1, runtimeProcs()))
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		c := clients[int(conn.Add(1)-1)%conns]
		for pb.Next() {
			q := all[int(next.Add(1))%len(all)]
			if _, err := c.DocketServiceClient.Check(ctx, checkRequest(q)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "checks/s")
	reportCPU(b, cpu, b.N)
}

// settle waits, up to a minute, until the process is nearly idle: after a
// large import Badger goes on compacting in the background for a while,
// and its CPU would count in every cpu-us/call (and take a core from the
// calls timed).
func settle(b *testing.B) {
	b.Helper()
	const window = 250 * time.Millisecond
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		before := cpuTime()
		time.Sleep(window)
		if cpuTime()-before < window/20 {
			return
		}
	}
	b.Logf("the process was still busy after a minute; CPU figures include the store's background work")
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// cpuTime is the CPU time (user and system) the process has used. On a
// machine shared with other work, wall-clock throughput says more about
// the neighbours than about the code; CPU time per call does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports CPU microseconds per call since start, client and
// server together (they share the process), and the calls per second
// that this costs on two dedicated cores.
func reportCPU(b *testing.B, start time.Duration, calls int) {
	used := cpuTime() - start
	if calls == 0 || used <= 0 {
		return
	}
	per := float64(used.Microseconds()) / float64(calls)
	b.ReportMetric(per, "cpu-us/call")
	b.ReportMetric(2e6/per, "calls/s-on-2-cores")
}
