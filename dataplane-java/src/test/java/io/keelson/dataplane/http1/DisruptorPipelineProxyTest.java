package io.keelson.dataplane.http1;

import io.keelson.dataplane.pipeline.PipelineMode;

/** The proxy suite with routing stages on the Disruptor ring. */
class DisruptorPipelineProxyTest extends ProxyConformanceSuite {
  @Override
  PipelineMode mode() {
    return PipelineMode.DISRUPTOR;
  }
}
