package io.keelson.dataplane.filter.buffer;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.extensions.filters.http.buffer.v3.Buffer;
import io.envoyproxy.envoy.extensions.filters.http.buffer.v3.BufferPerRoute;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.HttpFilterFactory;
import io.keelson.dataplane.filter.PerRouteOverride;

/**
 * {@code envoy.filters.http.buffer}: the settings are max_request_bytes (a {@link Long}), or {@link PerRouteOverride#DISABLED} from a
 * BufferPerRoute {@code disabled: true}. The filter only asks the connection to buffer
 * ({@link io.keelson.dataplane.filter.FilterContext#bufferBody}); the connection reads the body, answers 413 over the
 * limit and forwards the whole body with a content-length. Stateless.
 */
public final class BufferFilterFactory implements HttpFilterFactory {
  @Override
  public String filterName() {
    return "envoy.filters.http.buffer";
  }

  @Override
  public Class<? extends Message> configType() {
    return Buffer.class;
  }

  @Override
  public Class<? extends Message> perRouteConfigType() {
    return BufferPerRoute.class;
  }

  @Override
  public Object translate(Message config, String path, ConfigErrors errors) {
    Buffer b = (Buffer) config;
    if (!b.hasMaxRequestBytes() || b.getMaxRequestBytes().getValue() == 0) {
      errors.error(path + ".max_request_bytes", "expected a limit of at least 1 byte (Envoy requires it)");
      return null;
    }
    return Integer.toUnsignedLong(b.getMaxRequestBytes().getValue());
  }

  @Override
  public Object translatePerRoute(Message config, String path, ConfigErrors errors) {
    BufferPerRoute r = (BufferPerRoute) config;
    return PerRouteOverride.translate(r.getOverrideCase().name(), r.getDisabled(), "buffer",
        () -> translate(r.getBuffer(), path + ".buffer", errors), path, errors);
  }

  @Override
  public HttpFilter create(Object settings, FilterResources resources) {
    if (settings == PerRouteOverride.DISABLED) {
      return context -> {};
    }
    long max = (Long) settings;
    return context -> context.bufferBody(max);
  }
}
