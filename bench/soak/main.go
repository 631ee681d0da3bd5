// Command soak holds oidcgate under load for a while and checks that
// nothing is lost: no request fails, no goroutine or memory is left behind,
// while the provider rotates its signing key and one of two replicas is
// restarted with a new cookie key.
//
// Everything runs in this one process, on loopback: the test OpenID
// provider of proxy/proxytest (interactive, one account per user), a small
// backend that answers 500 to any request without an identity, and two
// oidcgate replicas (proxy.Run, real TLS, admin listener) whose
// configurations come from config.Parse and share [session] keys. Its
// steps:
//
//  1. sign in -users distinct users through the whole flow (sign-in form
//     included), half of them through each replica, and check that every
//     cookie also works on the other replica;
//  2. run wrk against both replicas for -duration, each request with the
//     cookie of the next user in turn;
//  3. at a quarter of the run, the provider rotates its signing key (the
//     old one leaves its key set) and -signins new users sign in, half
//     through each replica;
//  4. at half of the run, replica b restarts with a new first cookie key,
//     the old one still listed (replica a listed the new one from the
//     start: keys are rotated by adding the new key everywhere first, then
//     putting it first). Its listening socket passes to the new instance,
//     as with systemd socket activation. -signins new users sign in through
//     the new b, and their cookies must work on a and b;
//  5. compare goroutines and memory (heap after GC, resident set) with
//     those before the load, idle connections closed both times.
//
// It reports total requests, requests per second, non-2xx answers and
// socket errors per replica, p50/p90/p99 latency, and memory and goroutines
// before and after; it exits 1 if any request got a non-2xx answer, any
// sign-in or cookie check failed, any replica logged a warning or an error,
// wrk saw socket errors other than those of the connections open when
// replica b was restarted (at most one each), or goroutines or heap grew.
//
// Usage (bench/soak.sh builds and runs it):
//
//	soak [-duration 60s] [-users 200] [-signins 4] [-conns 32] [-threads 1] [-wrk wrk]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"
)

type options struct {
	duration time.Duration
	users    int
	signIns  int
	conns    int
	threads  int
	wrk      string
	verbose  bool
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "how long wrk drives traffic")
	flag.IntVar(&o.users, "users", 200, "distinct users signed in before the load")
	flag.IntVar(&o.signIns, "signins", 4, "users signed in after the key rotation, and again after the restart")
	flag.IntVar(&o.conns, "conns", 32, "wrk connections per replica")
	flag.IntVar(&o.threads, "threads", 1, "wrk threads per replica")
	flag.StringVar(&o.wrk, "wrk", "wrk", "the wrk binary")
	flag.BoolVar(&o.verbose, "v", false, "log the replicas' info lines too")
	flag.Parse()
	if o.duration < 4*time.Second || o.users < 2 || o.signIns < 2 || o.conns < 1 || o.threads < 1 || o.threads > o.conns {
		fmt.Fprintln(os.Stderr, "soak: need -duration >= 4s, -users >= 2, -signins >= 2, 1 <= -threads <= -conns")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failures, err := run(ctx, o, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "soak: %v\n", err)
		os.Exit(1)
	}
	if len(failures) > 0 {
		fmt.Println("\nFAILED:")
		for _, f := range failures {
			fmt.Println("  -", f)
		}
		os.Exit(1)
	}
	fmt.Println("\nPASS")
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "soak %s: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// run sets everything up, drives the load and returns what went wrong.
func run(ctx context.Context, o options, out io.Writer) ([]string, error) {
	st, err := startStack(ctx, o)
	if err != nil {
		return nil, err
	}
	defer st.close()
	var failures []string
	fail := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		progress("FAIL: %s", msg)
		failures = append(failures, msg)
	}

	progress("signing in %d users", o.users)
	start := time.Now()
	users, err := st.signInMany(ctx, 0, o.users, []*replica{st.a, st.b})
	if err != nil {
		return nil, fmt.Errorf("sign-in before the load: %w", err)
	}
	signInTime := time.Since(start)
	for _, u := range users {
		other := st.a
		if u.via == st.a {
			other = st.b
		}
		if err := st.check(ctx, u, other); err != nil {
			return nil, fmt.Errorf("before the load: %w", err)
		}
	}
	before := st.measure()
	progress("before: %s", before)

	progress("wrk: %s against each replica, %d connections each", o.duration, o.conns)
	script, err := writeScript(st.dir, users)
	if err != nil {
		return nil, err
	}
	results := make(chan wrkRun, 2)
	for _, r := range []*replica{st.a, st.b} {
		go func() {
			res, err := runWrk(ctx, o, script, r.public+"/Administration/soak")
			results <- wrkRun{replica: r.name, res: res, err: err}
		}()
	}

	events := st.events(ctx, o, fail)

	runs := map[string]wrkResult{}
	for range 2 {
		w := <-results
		if w.err != nil {
			return nil, fmt.Errorf("wrk against replica %s: %w", w.replica, w.err)
		}
		runs[w.replica] = w.res
	}
	ev := <-events
	after := st.measure()
	progress("after: %s", after)
	if after.goroutines > before.goroutines+goroutineSlack {
		pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
	}

	report(out, o, st, runs, ev, before, after, signInTime)
	for _, name := range []string{"a", "b"} {
		r := runs[name]
		if r.NonOK > 0 {
			fail("replica %s: %d non-2xx answers", name, r.NonOK)
		}
		if r.Timeout > 0 {
			fail("replica %s: %d requests timed out", name, r.Timeout)
		}
		allowed := int64(0)
		if name == "b" {
			allowed = int64(o.conns) // each connection open at the restart may be cut once
		}
		if n := r.socketErrors(); n > allowed {
			fail("replica %s: %d socket errors (connect %d, read %d, write %d); at most %d allowed", name, n, r.Connect, r.Read, r.Write, allowed)
		}
		if r.Requests == 0 {
			fail("replica %s: no requests", name)
		}
	}
	if n := st.logged.Load(); n > 0 {
		fail("the replicas logged %d warnings or errors (see above)", n)
	}
	if after.goroutines > before.goroutines+goroutineSlack {
		fail("goroutines grew from %d to %d", before.goroutines, after.goroutines)
	}
	if after.heap > before.heap+heapSlack {
		fail("heap after GC grew from %s to %s", mib(before.heap), mib(after.heap))
	}
	return failures, nil
}

// Leak thresholds: a goroutine or two may be on its way out; the heap holds
// a few pools sized by the peak load.
const (
	goroutineSlack = 3
	heapSlack      = 64 << 20
)

type wrkRun struct {
	replica string
	res     wrkResult
	err     error
}
