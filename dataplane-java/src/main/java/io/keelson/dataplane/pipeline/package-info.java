/**
 * The routing pipeline: a list of {@link io.keelson.dataplane.pipeline.Stage}s over one pre-allocated
 * mutable event, wired by {@link io.keelson.dataplane.pipeline.PipelineFactory} either inline on the
 * publishing thread (run to completion) or onto an LMAX Disruptor ring (each stage on its own thread).
 * Both wirings run the same stage objects and pass the same tests; the benchmarks pick the default.
 */
package io.keelson.dataplane.pipeline;
