package io.keelson.dataplane.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TransportTest {
  @Test
  void autoPrefersIoUringThenEpollThenNio() {
    assertThat(Transport.auto(true, true)).isEqualTo(Transport.IO_URING);
    assertThat(Transport.auto(false, true)).isEqualTo(Transport.EPOLL);
    assertThat(Transport.auto(false, false)).isEqualTo(Transport.NIO);
  }

  @Test
  void autoPicksAnAvailableTransport() {
    Transport t = Transport.select("auto");
    assertThat(t.unavailabilityCause()).isNull();
    assertThat(Transport.select(null)).isEqualTo(t);
    if (Transport.IO_URING.unavailabilityCause() == null) {
      assertThat(t).isEqualTo(Transport.IO_URING);
    }
  }

  @Test
  void unknownTransportIsNamedInTheError() {
    assertThatThrownBy(() -> Transport.select("kqueue"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("kqueue")
        .hasMessageContaining("io_uring");
  }
}
