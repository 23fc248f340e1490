/** Keelson's benchmarks: JMH micro-benchmarks and the end-to-end comparison with peers. */
package io.keelson.bench;
