package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// wrkResult is what the script's done() prints, one replica's run.
type wrkResult struct {
	Requests   int64 `json:"requests"`
	DurationUS int64 `json:"duration_us"`
	Bytes      int64 `json:"bytes"`
	NonOK      int64 `json:"non2xx"`
	Connect    int64 `json:"connect"`
	Read       int64 `json:"read"`
	Write      int64 `json:"write"`
	Status     int64 `json:"status"`
	Timeout    int64 `json:"timeout"`
	P50US      int64 `json:"p50_us"`
	P90US      int64 `json:"p90_us"`
	P99US      int64 `json:"p99_us"`
	MaxUS      int64 `json:"max_us"`
}

func (r wrkResult) socketErrors() int64 { return r.Connect + r.Read + r.Write }

func (r wrkResult) perSecond() float64 {
	if r.DurationUS == 0 {
		return 0
	}
	return float64(r.Requests) / (float64(r.DurationUS) / 1e6)
}

// script sends each request with the next user's cookies, counts every
// answer that is not a 2xx (wrk's own count lets 3xx pass: a redirect to
// sign-in would be a lost session), and prints the totals as JSON.
const script = `
local cookies = {
%s}
local path = "/Administration/soak"
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  i = (id * 37) %% #cookies
  bad = 0
end

function request()
  i = i %% #cookies + 1
  return wrk.format("GET", path, {["Cookie"] = cookies[i], ["Accept"] = "text/html"})
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("bad")
  end
  local e = summary.errors
  io.write(string.format('SOAK {"requests":%%d,"duration_us":%%d,"bytes":%%d,"non2xx":%%d,"connect":%%d,"read":%%d,"write":%%d,"status":%%d,"timeout":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d}\n',
    summary.requests, summary.duration, summary.bytes, bad, e.connect, e.read, e.write, e.status, e.timeout,
    math.floor(latency:percentile(50)), math.floor(latency:percentile(90)), math.floor(latency:percentile(99)), latency.max))
end
`

func writeScript(dir string, users []user) (string, error) {
	var b strings.Builder
	for _, u := range users {
		fmt.Fprintf(&b, "  %q,\n", u.cookie)
	}
	path := filepath.Join(dir, "soak.lua")
	return path, os.WriteFile(path, []byte(fmt.Sprintf(script, b.String())), 0o600)
}

func runWrk(ctx context.Context, o options, scriptPath, url string) (wrkResult, error) {
	secs := max(1, int(o.duration.Round(time.Second)/time.Second))
	cmd := exec.CommandContext(ctx, o.wrk,
		"-t", fmt.Sprint(o.threads), "-c", fmt.Sprint(o.conns), "-d", fmt.Sprintf("%ds", secs),
		"--timeout", "5s", "-s", scriptPath, url)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return wrkResult{}, fmt.Errorf("%w: %s%s", err, errOut.String(), out.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if js, ok := strings.CutPrefix(line, "SOAK "); ok {
			var r wrkResult
			if err := json.Unmarshal([]byte(js), &r); err != nil {
				return wrkResult{}, fmt.Errorf("wrk summary %q: %w", js, err)
			}
			return r, nil
		}
	}
	return wrkResult{}, fmt.Errorf("no summary in wrk's output:\n%s%s", out.String(), errOut.String())
}
