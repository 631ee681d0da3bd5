#!/usr/bin/env bash
# Builds oidcgate and the load test, then measures oidcgate against a bare
# httputil.ReverseProxy on this machine (see bench/README.md).
#
#   bench/run.sh            # the full run, about 5 minutes
#   bench/run.sh -quick     # a smoke run, about 30 seconds
#   bench/run.sh -profile /tmp/prof -conns 64   # any loadtest flag
#
# Needs wrk (Debian: apt-get install wrk). The report goes to stdout in
# Markdown; progress to stderr.
set -euo pipefail

cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
	echo "bench/run.sh: wrk is not installed (Debian: apt-get install wrk)" >&2
	exit 1
fi
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/oidcgate" ./cmd/oidcgate
go build -o "$bin/loadtest" ./bench/loadtest
"$bin/loadtest" -oidcgate "$bin/oidcgate" "$@"
