package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// throughput drives the bare proxy and oidcgate with wrk in pairs of runs,
// back to back, so that whatever else the machine does falls on both alike;
// the order within a pair alternates (bare first, then oidcgate first), so
// neither is always the one that runs after the other. It prints the
// medians of each target's rounds and, for the ratios, the median and
// range of the pairs' own ratios.
func (b *bench) throughput(ctx context.Context) error {
	header := b.requestHeader() // both get the same request
	type key struct {
		target string
		conns  int
	}
	results := map[key][]wrkResult{}
	progress("warming up")
	for _, target := range []string{"bare/tls", "oidcgate/tls", "bare/plain", "oidcgate/plain"} {
		if _, err := runWrk(ctx, b.o.wrk, b.urls[target], b.o.threads, 64, 2*time.Second, header); err != nil {
			return err
		}
	}
	profileConns := b.o.conns[0]
	if slices.Contains(b.o.conns, 64) {
		profileConns = 64
	}
	steal0, err := readSteal()
	if err != nil {
		return err
	}
	start := time.Now()
	for _, conns := range b.o.conns {
		for _, transport := range []string{"tls", "plain"} {
			for round := 1; round <= b.o.rounds; round++ {
				order := []string{"bare", "oidcgate"}
				if round%2 == 0 {
					order = []string{"oidcgate", "bare"}
				}
				for _, who := range order {
					target := who + "/" + transport
					progress("wrk %s, %d connections, round %d of %d", target, conns, round, b.o.rounds)
					var profileDone chan error
					if b.o.profileDir != "" && target == "oidcgate/plain" && conns == profileConns && round == 1 {
						profileDone = make(chan error, 1)
						go func() { profileDone <- b.saveProfile(b.o.duration - time.Second) }()
					}
					r, err := b.measuredWrk(ctx, target, conns, header)
					if err != nil {
						return err
					}
					if profileDone != nil {
						if err := <-profileDone; err != nil {
							return err
						}
					}
					if r.Bad*100 > r.Requests {
						progress("%s: %d of %d requests failed or were refused", target, r.Bad, r.Requests)
					}
					k := key{target, conns}
					results[k] = append(results[k], r)
				}
			}
		}
	}
	steal1, err := readSteal()
	if err != nil {
		return err
	}
	stolen := float64(steal1-steal0) / float64(time.Since(start)) / float64(runtime.NumCPU())

	fmt.Fprintf(b.out, "## Throughput and latency\n\nwrk -t%d -d%s --latency, %d pair(s) of runs per row, bare and oidcgate back to back (the order alternates from pair to pair). Each target's row shows the medians of its runs; the ratio row shows the median of the pairs' own ratios, and their range. Both proxies get the same request (%s) and both terminate TLS with the same certificate; the backend answers a %d-byte page.\n\n",
		b.o.threads, b.o.duration, b.o.rounds, b.requestDescription(), len(backendBody))
	fmt.Fprintf(b.out, "The CPU columns are the proxy's and the backend's processes' user+system time over the wrk run (from /proc) divided by the requests served. The host took %.0f%% of this machine's CPU time (steal, from /proc/stat) while these ran.\n\n", 100*stolen)
	fmt.Fprintf(b.out, "| transport | conns | target | req/s | p50 | p99 | proxy CPU/req | backend CPU/req | errors (all runs) |\n|---|---:|---|---:|---:|---:|---:|---:|---:|\n")
	for _, transport := range []string{"tls", "plain"} {
		for _, conns := range b.o.conns {
			bare, gate := results[key{"bare/" + transport, conns}], results[key{"oidcgate/" + transport, conns}]
			mb, mg := median(bare), median(gate)
			for _, row := range []struct {
				name string
				m    wrkResult
			}{{"bare", mb}, {"oidcgate", mg}} {
				fmt.Fprintf(b.out, "| %s | %d | %s | %.0f | %s | %s | %s | %s | %d |\n", transport, conns, row.name, row.m.ReqPerSec, ms(row.m.P50), ms(row.m.P99), us(row.m.ProxyCPU), us(row.m.BackendCPU), row.m.Bad)
			}
			pair := func(f func(wrkResult) float64) (med, lo, hi float64) {
				v := make([]float64, len(bare))
				for i := range bare {
					v[i] = f(gate[i]) / f(bare[i])
				}
				slices.Sort(v)
				return medianOf(v), v[0], v[len(v)-1]
			}
			rate, rateLo, rateHi := pair(func(r wrkResult) float64 { return r.ReqPerSec })
			p50, _, _ := pair(func(r wrkResult) float64 { return float64(r.P50) })
			p99, p99Lo, p99Hi := pair(func(r wrkResult) float64 { return float64(r.P99) })
			cpu, _, _ := pair(func(r wrkResult) float64 { return float64(r.ProxyCPU) })
			backend, _, _ := pair(func(r wrkResult) float64 { return float64(r.BackendCPU) })
			fmt.Fprintf(b.out, "| %s | %d | **oidcgate / bare** | **%.2f×** (%.2f–%.2f) | **%.2f×** | **%.2f×** (%.2f–%.2f) | **%.2f×** | %.2f× | |\n", transport, conns,
				rate, rateLo, rateHi, p50, p99, p99Lo, p99Hi, cpu, backend)
			if transport == "tls" && conns == 64 {
				b.check("throughput oidcgate / bare, TLS, 64 connections", "≥ 0.95×", fmt.Sprintf("%.2f× (pairs %.2f–%.2f)", rate, rateLo, rateHi), rate >= 0.95)
				b.check("p99 oidcgate / bare, TLS, 64 connections", "≤ 1.1×", fmt.Sprintf("%.2f× (pairs %.2f–%.2f)", p99, p99Lo, p99Hi), p99 <= 1.1)
			}
		}
	}
	fmt.Fprintln(b.out)
	return nil
}

// requestHeader is what wrk sends besides the request line and Host: the
// headers Chrome sends with a page request over HTTP/1.1, the session
// cookie among the site's others; with -minimal-request, the Cookie header
// alone.
func (b *bench) requestHeader() []string {
	cookie := "Cookie: ai_user=q1w2e3; " + b.cookie
	if b.o.minimalRequest {
		return []string{cookie}
	}
	return []string{
		`sec-ch-ua: "Chromium";v="131", "Not_A Brand";v="24"`,
		"sec-ch-ua-mobile: ?0",
		`sec-ch-ua-platform: "Windows"`,
		"Upgrade-Insecure-Requests: 1",
		"User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
		"Sec-Fetch-Site: same-origin",
		"Sec-Fetch-Mode: navigate",
		"Sec-Fetch-Dest: document",
		"Accept-Encoding: gzip, deflate, br, zstd",
		"Accept-Language: en-US,en;q=0.9",
		cookie,
	}
}

func (b *bench) requestDescription() string {
	if b.o.minimalRequest {
		return "a Cookie header with the session cookie, nothing else"
	}
	return "the headers Chrome sends with a page request, the session cookie among the Cookie header's others"
}

// readSteal is the CPU time the hypervisor gave to others, over all CPUs,
// since boot: the eighth figure of /proc/stat's "cpu" line, in USER_HZ.
func readSteal() (time.Duration, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	ticks, err := strconv.ParseInt(f[8], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/stat steal %q: %w", f[8], err)
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// median takes each figure's median over the rounds on its own.
func median(rs []wrkResult) wrkResult {
	pick := func(f func(wrkResult) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return medianOf(v)
	}
	return wrkResult{
		ReqPerSec:  pick(func(r wrkResult) float64 { return r.ReqPerSec }),
		P50:        time.Duration(pick(func(r wrkResult) float64 { return float64(r.P50) })),
		P99:        time.Duration(pick(func(r wrkResult) float64 { return float64(r.P99) })),
		Bad:        sumBad(rs),
		ProxyCPU:   time.Duration(pick(func(r wrkResult) float64 { return float64(r.ProxyCPU) })),
		BackendCPU: time.Duration(pick(func(r wrkResult) float64 { return float64(r.BackendCPU) })),
	}
}

// medianOf is the median of sorted values.
func medianOf(v []float64) float64 {
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// sumBad adds up the failed requests of every round: one is one too many.
func sumBad(rs []wrkResult) int {
	n := 0
	for _, r := range rs {
		n += r.Bad
	}
	return n
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// saveProfile fetches a CPU profile of the plain-HTTP oidcgate.
func (b *bench) saveProfile(d time.Duration) error {
	c := &http.Client{Timeout: d + 10*time.Second}
	resp, err := c.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", b.pprof, int(d.Seconds())))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := os.MkdirAll(b.o.profileDir, 0o755); err != nil {
		return err
	}
	name := filepath.Join(b.o.profileDir, "oidcgate-plain-cpu.pprof")
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		return err
	}
	progress("CPU profile saved in %s", name)
	return nil
}

// measuredWrk runs wrk against target and reads how much CPU the proxy's
// and the backend's processes spent on each request it made.
func (b *bench) measuredWrk(ctx context.Context, target string, conns int, header []string) (wrkResult, error) {
	proxy := b.procs[target]
	p0, err1 := proxy.cpu()
	b0, err2 := b.backend.cpu()
	r, err := runWrk(ctx, b.o.wrk, b.urls[target], b.o.threads, conns, b.o.duration, header)
	if err != nil {
		return r, err
	}
	p1, err3 := proxy.cpu()
	b1, err4 := b.backend.cpu()
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return r, err
	}
	if r.Requests > 0 {
		r.ProxyCPU = (p1 - p0) / time.Duration(r.Requests)
		r.BackendCPU = (b1 - b0) / time.Duration(r.Requests)
	}
	return r, nil
}
