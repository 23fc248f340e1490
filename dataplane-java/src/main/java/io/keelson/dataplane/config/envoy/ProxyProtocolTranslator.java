package io.keelson.dataplane.config.envoy;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.ProxyProtocolConfig.Version;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol;
import io.keelson.dataplane.config.ProxyProtocolConfig;
import java.time.Duration;

/** Envoy's {@code envoy.filters.listener.proxy_protocol} listener filter to {@link ProxyProtocolConfig}. Stateless. */
final class ProxyProtocolTranslator {
  static final String NAME = "envoy.filters.listener.proxy_protocol";

  private ProxyProtocolTranslator() {}

  /** The filter's config (the default one when it has no typed_config), or null after reporting why not. */
  static ProxyProtocol unpack(ListenerFilter f, String path, Problems problems) {
    if (!f.hasTypedConfig()) {
      return ProxyProtocol.getDefaultInstance();
    }
    try {
      return f.getTypedConfig().unpack(ProxyProtocol.class);
    } catch (InvalidProtocolBufferException e) {
      problems.error(path + ".typed_config", "not a valid " + SupportedTypes.PROXY_PROTOCOL + ": " + e.getMessage());
      return null;
    }
  }

  /**
   * The translated filter, or null (reported) when both versions are disallowed or the timeout was bad.
   *
   * @param timeout the listener's listener_filters_timeout (null: already reported as bad)
   */
  static ProxyProtocolConfig translate(ProxyProtocol p, Duration timeout, Problems problems, String path) {
    boolean v1 = false;
    boolean v2 = false;
    for (int i = 0; i < p.getDisallowedVersionsCount(); i++) {
      Version v = p.getDisallowedVersions(i);
      if (v == Version.V1) {
        v1 = true;
      } else if (v == Version.V2) {
        v2 = true;
      } else {
        problems.error(path + ".disallowed_versions[" + i + "]", "unknown version; expected V1 or V2");
        return null;
      }
    }
    if (v1 && v2) {
      problems.error(path + ".disallowed_versions", "disallows both V1 and V2; expected at most one of them");
      return null;
    }
    return timeout == null ? null
        : new ProxyProtocolConfig(p.getAllowRequestsWithoutProxyProtocol(), v1, v2, p.getStatPrefix(), timeout);
  }
}
