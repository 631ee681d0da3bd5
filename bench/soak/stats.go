package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// snapshot is the process's state with idle connections closed.
type snapshot struct {
	goroutines int
	heap       uint64 // HeapAlloc after GC
	rss        uint64 // VmRSS
}

func (s snapshot) String() string {
	return fmt.Sprintf("%d goroutines, heap %s after GC, RSS %s", s.goroutines, mib(s.heap), mib(s.rss))
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// measure closes idle connections everywhere (browsers, the replicas'
// outbound and upstream connections, closed from the servers' end), lets
// the goroutine count settle, and reads it with the memory.
func (st *stack) measure() snapshot {
	quiesce := func() {
		st.checker.CloseIdleConnections()
		st.opSrv.Client().CloseIdleConnections()
		st.opSrv.Config.SetKeepAlivesEnabled(false)
		st.opSrv.Config.SetKeepAlivesEnabled(true)
		st.backendConns.closeIdle()
	}
	n := runtime.NumGoroutine()
	for i, still := 0, 0; i < 500 && still < 10; i++ {
		quiesce()
		time.Sleep(10 * time.Millisecond)
		if m := runtime.NumGoroutine(); m == n {
			still++
		} else {
			n, still = m, 0
		}
	}
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return snapshot{goroutines: runtime.NumGoroutine(), heap: m.HeapAlloc, rss: rss()}
}

func rss() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func report(out io.Writer, o options, st *stack, runs map[string]wrkResult, ev eventLog, before, after snapshot, signInTime time.Duration) {
	ms := func(us int64) string { return fmt.Sprintf("%.2f ms", float64(us)/1000) }
	fmt.Fprintf(out, "\noidcgate soak: 2 replicas, %d users, %s of wrk (%d threads × %d connections per replica), %d CPUs, %s\n",
		o.users, o.duration, o.threads, o.conns, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(out, "\n%-14s %10s %10s %8s %14s %10s %10s %10s %10s\n", "replica", "requests", "req/s", "non-2xx", "socket errors", "p50", "p90", "p99", "max")
	var total wrkResult
	for _, name := range []string{"a", "b"} {
		r := runs[name]
		label := name
		if name == "b" {
			label = "b (restarted)"
		}
		fmt.Fprintf(out, "%-14s %10d %10.0f %8d %14d %10s %10s %10s %10s\n", label, r.Requests, r.perSecond(), r.NonOK, r.socketErrors(), ms(r.P50US), ms(r.P90US), ms(r.P99US), ms(r.MaxUS))
		total.Requests += r.Requests
		total.NonOK += r.NonOK
		total.Connect, total.Read, total.Write = total.Connect+r.Connect, total.Read+r.Read, total.Write+r.Write
		total.DurationUS = max(total.DurationUS, r.DurationUS)
		total.P99US = max(total.P99US, r.P99US)
	}
	fmt.Fprintf(out, "%-14s %10d %10.0f %8d %14d %10s %10s %10s %10s\n", "total", total.Requests, total.perSecond(), total.NonOK, total.socketErrors(), "", "", ms(total.P99US)+"*", "")
	fmt.Fprintln(out, "  * the higher of the two replicas' p99")
	if b := runs["b"]; b.socketErrors() > 0 {
		fmt.Fprintf(out, "  replica b's socket errors (connect %d, read %d, write %d) are requests sent on connections its restart closed; allowed: at most one per connection (%d)\n",
			b.Connect, b.Read, b.Write, o.conns)
	}
	fmt.Fprintf(out, "\nsign-ins: %d before the load (%v), %d after the provider's key rotation (%v), %d through replica b after its restart (%v to ready); cookies made with the new key accepted %d of %d times\n",
		o.users, signInTime.Round(time.Millisecond), ev.rotationSignIns, ev.afterRotation.Round(time.Millisecond),
		ev.restartSignIns, ev.restart.Round(time.Millisecond), ev.newKeyChecks, 2*o.signIns)
	fmt.Fprintf(out, "replica log lines at warning or above: %d\n", st.logged.Load())
	fmt.Fprintf(out, "\n%-8s %12s %16s %12s   (the whole process: provider, backend and both replicas)\n", "", "goroutines", "heap after GC", "RSS")
	fmt.Fprintf(out, "%-8s %12d %16s %12s\n", "before", before.goroutines, mib(before.heap), mib(before.rss))
	fmt.Fprintf(out, "%-8s %12d %16s %12s\n", "after", after.goroutines, mib(after.heap), mib(after.rss))
}
