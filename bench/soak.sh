#!/usr/bin/env bash
# Soak test: oidcgate under load with nothing lost.
#
# Builds and runs bench/soak, one Go program that starts, in-process on
# loopback: the test OpenID provider (proxy/proxytest), a backend, and two
# oidcgate replicas (proxy.Run with TLS and an admin listener) sharing
# [session] keys. It signs in 200 distinct users through the whole flow,
# then drives authenticated traffic with wrk against both replicas, each
# request carrying the next user's cookie. A quarter of the way in the
# provider rotates its signing key and new users sign in; halfway, replica
# b restarts with a new first cookie key (the old one still listed) and new
# users sign in through it, whose cookies must work on both replicas.
#
# It prints requests, req/s, non-2xx answers, socket errors, p50/p90/p99
# latency per replica, and goroutines, heap (after GC) and RSS before and
# after the load. It exits non-zero on any non-2xx answer, failed sign-in or
# cookie check, warning logged by a replica, socket error other than the
# restart cutting an open connection, or growth of goroutines or heap.
#
# Usage:
#   bench/soak.sh                     # 60 s of load (the default)
#   bench/soak.sh -duration 10s       # the CI version, about 20 s overall
#   bench/soak.sh -duration 5m -users 1000 -conns 64 -threads 2
# Flags: -duration (60s), -users (200), -signins (4, after each event),
# -conns (32 per replica), -threads (1 per replica), -wrk (wrk), -v.
#
# Needs Go and wrk (Debian: apt-get install -y wrk). The report goes to
# stdout, progress to stderr.
set -euo pipefail

cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
	echo "bench/soak.sh: wrk is not installed (Debian: apt-get install -y wrk)" >&2
	exit 1
fi
# The module proxy as this machine is set up for it, without the direct
# fallback: only the proxy can be reached.
export GOPROXY="$(go env GOPROXY | sed 's/,direct$//')"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/soak" ./bench/soak
"$bin/soak" -wrk "$(command -v wrk)" "$@"
