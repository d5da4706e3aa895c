#!/usr/bin/env bash
# Reserves enough 2 MB huge pages for one more PostgreSQL cluster of the
# benchmarks (shared_buffers = 1 GB, see devdb), as a production database
# server is set up: PostgreSQL's huge_pages = try then maps its shared
# memory with them. Without them every backend maps each 4 kB page of
# shared buffers it touches on first use, which on the development VM cost
# a fresh connection 60–100 ms per 15 MB of gold it read, and parallel
# workers (fresh processes) paid it on every query (docs/PERFORMANCE.md).
# Needs root; otherwise it says so and the benchmarks run without them.
# Its argument is how many such clusters the benchmark starts (default 1;
# BENCH_DASH_REPLICA=1 starts a primary and a replica of its own beside
# the test cluster).
set -euo pipefail

clusters=${1:-1}
want=$(( 600 * clusters )) # 1.2 GB each: 1 GB of buffers plus PostgreSQL's other shared memory
file=/proc/sys/vm/nr_hugepages
read_meminfo() { awk -v k="$1:" '$1 == k {print $2}' /proc/meminfo; }

if [ ! -w "$file" ]; then
  echo "hugepages: cannot reserve huge pages (not root, or no $file); benchmarks run without them" >&2
  exit 0
fi
total=$(read_meminfo HugePages_Total)
free=$(( $(read_meminfo HugePages_Free) - $(read_meminfo HugePages_Rsvd) ))
if [ "$free" -lt "$want" ]; then
  echo $(( total + want - free )) > "$file" || true
fi
free=$(( $(read_meminfo HugePages_Free) - $(read_meminfo HugePages_Rsvd) ))
echo "hugepages: $free huge pages of 2 MB free for the benchmark's PostgreSQL (wanted $want)" >&2
