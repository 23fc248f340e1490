package io.keelson.dataplane.config.envoy;

import io.keelson.dataplane.config.HttpFilterConfig;
import io.keelson.dataplane.config.RouteConfig;
import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.VirtualHostConfig;
import io.keelson.dataplane.filter.HttpFilterFactories;
import io.keelson.dataplane.filter.HttpFilterFactory;
import java.util.List;

/**
 * One streamed body per direction: a connection streams a request (or response) body through one filter's
 * StreamedBodyCheck, so a chain where two filters may stream the same direction (ext_proc STREAMED, or a mode_override
 * that may ask for it, and bandwidth_limit) is refused, naming both, rather than one silently not seeing the body.
 * A filter may stream a direction by its own config or by a virtual host's or route's typed_per_filter_config.
 * Stateless.
 */
final class StreamedBodyFilters {
  private StreamedBodyFilters() {}

  /** False after reporting each direction two filters of {@code filters} may stream. */
  static boolean check(List<HttpFilterConfig> filters, RouteConfig routes, String path, Problems problems) {
    boolean ok = true;
    for (int bit : new int[] {HttpFilterFactory.STREAMS_REQUEST, HttpFilterFactory.STREAMS_RESPONSE}) {
      String first = null;
      for (int i = 0; i < filters.size(); i++) {
        HttpFilterConfig f = filters.get(i);
        if ((streamed(f, routes) & bit) == 0) {
          continue;
        }
        if (first == null) {
          first = f.name();
          continue;
        }
        String direction = bit == HttpFilterFactory.STREAMS_REQUEST ? "request" : "response";
        problems.error(path + ".http_filters[" + i + "]", "'" + f.name() + "' and '" + first + "' both stream the "
            + direction + " body (ext_proc STREAMED, or a mode_override allowed to ask for it, and bandwidth_limit: "
            + "by their own or a route's config), and a body streams through one filter only; expected at most one of "
            + "them on the " + direction + " direction (e.g. bandwidth_limit enable_mode without it, or the ext_proc "
            + direction + "_body_mode not STREAMED and allowed_override_modes without STREAMED)");
        ok = false;
      }
    }
    return ok;
  }

  /** The directions {@code f} may stream: by its own settings or any route's or virtual host's. */
  private static int streamed(HttpFilterConfig f, RouteConfig routes) {
    HttpFilterFactory factory = HttpFilterFactories.forType(f.typeName());
    if (factory == null) {
      return 0;
    }
    int bits = factory.streamedBodies(f.settings());
    if (routes == null) {
      return bits;
    }
    for (VirtualHostConfig vh : routes.virtualHosts()) {
      bits |= perRoute(factory, vh.perFilterConfig().get(f.name()));
      for (RouteEntry r : vh.routes()) {
        bits |= perRoute(factory, r.perFilterConfig().get(f.name()));
      }
    }
    return bits;
  }

  private static int perRoute(HttpFilterFactory factory, Object settings) {
    return settings == null ? 0 : factory.streamedBodies(settings);
  }
}
