/**
 * {@code keelson bench}: the end-to-end comparison of BENCHMARKS.md §1 (direct, keelson, nginx and
 * HAProxy in turns on the same upstream and pinned cores) and the JMH launcher. Entry point:
 * {@link io.keelson.bench.e2e.BenchCommand}; a new scenario is an entry in {@code Scenarios}.
 */
package io.keelson.bench.e2e;
