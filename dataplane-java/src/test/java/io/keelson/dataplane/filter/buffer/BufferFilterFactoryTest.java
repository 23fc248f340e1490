package io.keelson.dataplane.filter.buffer;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.extensions.filters.http.buffer.v3.Buffer;
import io.envoyproxy.envoy.extensions.filters.http.buffer.v3.BufferPerRoute;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.RecordedConfigErrors;
import io.keelson.dataplane.stats.StatsRegistry;
import org.junit.jupiter.api.Test;

class BufferFilterFactoryTest {
  private final BufferFilterFactory factory = new BufferFilterFactory();
  private final RecordedConfigErrors sink = new RecordedConfigErrors();

  private long limitAsked(Object settings) {
    FilterContext c = new FilterContext();
    factory.create(settings, FilterResources.of(new StatsRegistry(), "p")).onRequest(c);
    return c.bufferLimit();
  }

  @Test
  void asksTheConnectionToBufferUpToMaxRequestBytes() {
    Buffer b = Buffer.newBuilder().setMaxRequestBytes(UInt32Value.of(1024)).build();
    assertThat(limitAsked(factory.translate(b, "f", sink))).isEqualTo(1024);
    assertThat(limitAsked(factory.translatePerRoute(BufferPerRoute.newBuilder().setBuffer(
        Buffer.newBuilder().setMaxRequestBytes(UInt32Value.of(7))).build(), "r", sink))).isEqualTo(7);
    assertThat(limitAsked(factory.translatePerRoute(BufferPerRoute.newBuilder().setDisabled(true).build(), "r", sink)))
        .isZero();
    assertThat(sink.errors).isEmpty();
  }

  @Test
  void refusesWhatEnvoyRefusesByPath() {
    assertThat(factory.translate(Buffer.getDefaultInstance(), "f", sink)).isNull();
    assertThat(factory.translatePerRoute(BufferPerRoute.getDefaultInstance(), "r", sink)).isNull();
    assertThat(factory.translatePerRoute(BufferPerRoute.newBuilder().setBuffer(Buffer.getDefaultInstance()).build(), "r",
        sink)).isNull();
    assertThat(sink.errorPaths()).containsExactly("f.max_request_bytes", "r", "r.buffer.max_request_bytes");
  }
}
