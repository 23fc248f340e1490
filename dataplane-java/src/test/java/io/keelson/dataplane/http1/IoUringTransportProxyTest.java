package io.keelson.dataplane.http1;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.transport.Transport;
import org.junit.jupiter.api.condition.EnabledIf;

/** The proxy suite on the io_uring transport, named explicitly (skipped where the kernel does not offer it). */
@EnabledIf("available")
class IoUringTransportProxyTest extends ProxyConformanceSuite {
  static boolean available() {
    return Transport.IO_URING.unavailabilityCause() == null;
  }

  @Override
  PipelineMode mode() {
    return PipelineMode.INLINE;
  }

  @Override
  Transport transport() {
    return Transport.IO_URING;
  }
}
