#!/bin/sh
# smoke.sh FUZZER WORKDIR SEED_CORPUS: a short libFuzzer run (2000 inputs)
# starting from the committed seed corpus; new inputs go to WORKDIR, never
# into the committed corpus. Any crash, leak or timeout fails the test.
set -eu
fuzzer=$1 work=$2 seeds=$3
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
exec nice -n 19 "$fuzzer" -runs=2000 -max_len=65536 -timeout=60 -rss_limit_mb=4096 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds"
