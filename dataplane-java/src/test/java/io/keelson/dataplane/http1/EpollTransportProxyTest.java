package io.keelson.dataplane.http1;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.transport.Transport;
import org.junit.jupiter.api.condition.EnabledIf;

/** The proxy suite on the epoll transport, named explicitly (the fallback where io_uring is unavailable). */
@EnabledIf("available")
class EpollTransportProxyTest extends ProxyConformanceSuite {
  static boolean available() {
    return Transport.EPOLL.unavailabilityCause() == null;
  }

  @Override
  PipelineMode mode() {
    return PipelineMode.INLINE;
  }

  @Override
  Transport transport() {
    return Transport.EPOLL;
  }
}
