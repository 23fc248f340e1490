package io.keelson.dataplane.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.dataplane.config.Http2Options;
import io.keelson.dataplane.security.ControlPlaneCredentials;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** One canonical constructor; the factories fill in the defaults the removed convenience constructors did. */
class XdsClientConfigTest {
  private static final Node NODE = Node.newBuilder().setId("n1").build();

  @Test
  void ofDefaultsToPlaintextEnvoysBackoffNoStaticResourcesAndNoLocalSecrets() {
    XdsClientConfig c = XdsClientConfig.of("127.0.0.1", 18000, true, NODE);
    assertThat(c).isEqualTo(new XdsClientConfig("127.0.0.1", 18000, true, NODE, Bootstrap.StaticResources.getDefaultInstance(),
        Duration.ofMillis(500), Duration.ofSeconds(30), XdsClientConfig.PLAINTEXT, null, Http2Options.DEFAULT, null));
  }

  @Test
  void withMethodsChangeOnlyTheirComponent() {
    XdsClientConfig c = XdsClientConfig.of("127.0.0.1", 18000, false, NODE);
    ControlPlaneCredentials tls = new ControlPlaneCredentials(java.nio.file.Path.of("/ca.pem"), "token");
    XdsClientConfig changed = c.withBackoff(Duration.ofMillis(10), Duration.ofMillis(20)).withCredentials(tls);
    assertThat(changed.initialBackoff()).isEqualTo(Duration.ofMillis(10));
    assertThat(changed.maxBackoff()).isEqualTo(Duration.ofMillis(20));
    assertThat(changed.credentials()).isEqualTo(tls);
    assertThat(changed.withBackoff(c.initialBackoff(), c.maxBackoff()).withCredentials(XdsClientConfig.PLAINTEXT)).isEqualTo(c);
  }

  @Test
  void aBackoffWhoseInitialExceedsItsMaximumIsRefusedByName() {
    XdsClientConfig c = XdsClientConfig.of("127.0.0.1", 18000, false, NODE);
    assertThatThrownBy(() -> c.withBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("backoff");
  }
}
