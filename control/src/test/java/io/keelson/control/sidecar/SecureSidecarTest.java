package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.ca.Pem;
import io.keelson.dataplane.security.ControlPlaneCredentials;
import io.keelson.dataplane.server.ProxyOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A sidecar on the secure port: xDS over TLS with its join token, and a workload certificate by CSR. */
class SecureSidecarTest {
  @TempDir
  Path dir;

  @Test
  void aSidecarWithATokenGetsConfigAndItsIdentityAndOneWithoutIsRefused() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
        CaOptions.selfSigned(null), 0))) {
      Path root = Files.writeString(dir.resolve("root.pem"), Pem.encode(cp.security.ca().roots().getFirst()));
      String token = cp.security.tokens().create("shop", "product", null).token();
      int port = cp.security.securePort().port();
      SidecarBootstrap b = new SidecarBootstrap("127.0.0.1", port, "product-service", Map.of("version", "v1"), 1, 0, 0,
          "127.0.0.1", 0);
      try (Sidecar s = Sidecar.start(b, ProxyOptions.defaults().withConcurrency(1), Duration.ofMillis(500),
          new ControlPlaneCredentials(root, token))) {
        await().atMost(Duration.ofSeconds(15)).until(() -> cp.xds.registeredWorkloads().containsKey(s.nodeId()));
        await().atMost(Duration.ofSeconds(15)).until(() -> s.xds().lastSnapshot() != null);
        assertThat(s.identity().source().current().spiffeUri()).isEqualTo("spiffe://cluster.local/ns/shop/sa/product");
      }
      SidecarBootstrap intruder = new SidecarBootstrap("127.0.0.1", port, "product-service", Map.of(), 1, 0, 0,
          "127.0.0.1", 0);
      assertThatThrownBy(() -> Sidecar.start(intruder, ProxyOptions.defaults().withConcurrency(1),
          Duration.ofMillis(500), new ControlPlaneCredentials(root, "kjt.000000000000.forged")))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
      assertThat(cp.xds.registeredWorkloads()).isEmpty();
    }
  }
}
