package io.keelson.dataplane.server;

import static io.keelson.dataplane.server.StandInListeners.listener;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.transport.Transport;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Errors;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link ListenerSet#describe}: a bind to an address in use reads the same on every transport (NIO's
 * {@link BindException}, epoll's and io_uring's native {@code bind(..)} failure), other errors keep their message.
 */
class ListenerSetDescribeTest {
  private static final String ADDRESS_UNUSABLE = "address already in use or not local";

  static Stream<Transport> transports() {
    return StandInListeners.transports();
  }

  @Test
  void theJdksBindExceptionIsDescribed() {
    assertThat(ListenerSet.describe(new BindException("Address already in use"))).isEqualTo(ADDRESS_UNUSABLE);
  }

  @Test
  void theNativeTransportsAddressInUseAndNotLocalAreDescribedTheSame() {
    // Errors formats the message with the native library's strerror: it must be loaded.
    assumeTrue(Epoll.isAvailable(), "epoll's native library: " + Epoll.unavailabilityCause());
    Errors.NativeIoException inUse = new Errors.NativeIoException("bind", -98);
    assertThat(inUse).hasMessage("bind(..) failed with error(-98): Address already in use");
    assertThat(ListenerSet.describe(inUse)).isEqualTo(ADDRESS_UNUSABLE);
    assertThat(ListenerSet.describe(new Errors.NativeIoException("bind", -99))).as("EADDRNOTAVAIL")
        .isEqualTo(ADDRESS_UNUSABLE);
  }

  @Test
  void otherErrorsKeepTheirMessage() {
    assertThat(ListenerSet.describe(new IOException("boom"))).isEqualTo("boom");
    assertThat(ListenerSet.describe(new IllegalStateException())).isEqualTo("null");
    assumeTrue(Epoll.isAvailable(), "epoll's native library: " + Epoll.unavailabilityCause());
    Errors.NativeIoException denied = new Errors.NativeIoException("bind", -13); // EACCES
    assertThat(ListenerSet.describe(denied)).isEqualTo(denied.getMessage()).contains("error(-13)");
  }

  /** A real bind, on each transport this machine has, to a port another socket listens on. */
  @ParameterizedTest
  @MethodSource("transports")
  void aBindToAPortInUseSaysSoOnEveryTransport(Transport transport) throws Exception {
    try (StandInListeners stand = new StandInListeners(transport, "describe-test");
        ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      int busy = taken.getLocalPort();
      assertThatThrownBy(() -> stand.set.reconcile(List.of(listener("b", "127.0.0.1", busy))))
          .isInstanceOf(ConfigException.class)
          .hasMessage("listener 'b' cannot bind 127.0.0.1:" + busy + ": " + ADDRESS_UNUSABLE)
          .cause()
          .isInstanceOf(transport == Transport.NIO ? BindException.class : Errors.NativeIoException.class);
      assertThat(stand.set.addresses()).doesNotContainKey("b");
    }
  }
}
