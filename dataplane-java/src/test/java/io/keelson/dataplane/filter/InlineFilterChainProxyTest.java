package io.keelson.dataplane.filter;

import io.keelson.dataplane.pipeline.PipelineMode;

/** The filter chain suite with the policy stage run inline on the event loop. */
class InlineFilterChainProxyTest extends FilterChainProxySuite {
  @Override
  PipelineMode mode() {
    return PipelineMode.INLINE;
  }
}
