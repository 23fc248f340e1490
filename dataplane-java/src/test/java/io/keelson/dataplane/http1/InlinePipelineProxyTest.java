package io.keelson.dataplane.http1;

import io.keelson.dataplane.pipeline.PipelineMode;

/** The proxy suite with routing stages run inline on the event loop. */
class InlinePipelineProxyTest extends ProxyConformanceSuite {
  @Override
  PipelineMode mode() {
    return PipelineMode.INLINE;
  }
}
