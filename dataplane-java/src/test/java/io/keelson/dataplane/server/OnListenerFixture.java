package io.keelson.dataplane.server;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.testing.ProxyHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** A test class whose every test gets a fresh {@link ListenerFixture}, closed after it. */
abstract class OnListenerFixture {
  ListenerFixture fixture;
  ProxyHarness proxy;
  /** The first listener routing to v1, and the same listener routing to v2. */
  ListenerConfig toV1;
  ListenerConfig toV2;

  @BeforeEach
  void startFixture() throws Exception {
    fixture = new ListenerFixture();
    proxy = fixture.proxy;
    toV1 = fixture.toV1;
    toV2 = fixture.toV2;
  }

  @AfterEach
  void closeFixture() throws Exception {
    fixture.close();
  }

  /** The base snapshot's first listener plus {@code extra}, as {@code version}. */
  ProxySnapshot with(String version, ListenerConfig... extra) {
    return fixture.with(version, extra);
  }
}
