#!/bin/sh
# Runs bio's benchmarks in interleaved rounds and summarizes them with
# benchstat. On a shared machine, interleaving spreads the noise over every
# sub-benchmark alike, so the ratios inside a family stay comparable.
#
# usage: bio/testdata/bench.sh [rounds]     (from the module root; default 6)
set -eu
rounds=${1:-6}
out=${TMPDIR:-/tmp}/bio-interleaved.bench
: > "$out"
i=0
while [ "$i" -lt "$rounds" ]; do
	go test -run '^$' -bench . -benchmem -count 1 ./bio/ >> "$out"
	i=$((i + 1))
done
benchstat=$(command -v benchstat || echo "$HOME/go/bin/benchstat")
"$benchstat" "$out"
