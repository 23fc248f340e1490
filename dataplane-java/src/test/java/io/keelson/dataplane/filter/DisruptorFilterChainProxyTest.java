package io.keelson.dataplane.filter;

import io.keelson.dataplane.pipeline.PipelineMode;

/** The filter chain suite with the policy stage on the Disruptor ring. */
class DisruptorFilterChainProxyTest extends FilterChainProxySuite {
  @Override
  PipelineMode mode() {
    return PipelineMode.DISRUPTOR;
  }
}
