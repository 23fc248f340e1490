package io.keelson.dataplane.accesslog;

import io.keelson.dataplane.config.AccessLogFilterConfig;
import java.util.List;

/**
 * Compiles an access log's {@link AccessLogFilterConfig} as Envoy evaluates it ({@code source/common/access_log}):
 * the status code is 0 without one, the duration is in whole milliseconds, a header filter reads the request headers,
 * a response-flag filter without flags matches any flag, a gRPC status filter infers the status from the HTTP status
 * when the response has none, and a CEL filter whose evaluation fails does not log. Stateless.
 */
public final class AccessLogFilters {
  private AccessLogFilters() {}

  /**
   * Checks that {@code c} compiles (the translators call it to refuse a bad config by its path).
   *
   * @throws io.keelson.dataplane.cel.CelSyntaxException for a CEL expression Keelson cannot evaluate
   */
  public static void check(AccessLogFilterConfig c) {
    compile(c, new LogFields());
  }

  /**
   * The filter {@code c} describes, adding what it reads to {@code fields} (shared with the logger's formats); null for
   * null (every entry is written).
   */
  static AccessLogFilter compile(AccessLogFilterConfig c, LogFields fields) {
    List<String> requestHeaders = fields.requestHeaders;
    if (c == null) {
      return null;
    }
    return switch (c) {
      case AccessLogFilterConfig.StatusCode s -> r -> compare(s.op(), Math.max(r.status, 0), s.value());
      case AccessLogFilterConfig.Duration d -> r -> compare(d.op(), r.durationNanos / 1_000_000, d.value());
      case AccessLogFilterConfig.NotHealthCheck n -> r -> !r.healthCheck; // marked by envoy.filters.http.health_check
      case AccessLogFilterConfig.Traceable t -> r -> false; // Keelson never forces a trace (x-envoy-force-trace), Envoy's only "traceable" reason
      case AccessLogFilterConfig.Header h -> {
        String name = h.match().name();
        if (!requestHeaders.contains(name)) {
          requestHeaders.add(name);
        }
        RecordHeaders view = new RecordHeaders(requestHeaders.toArray(String[]::new));
        yield r -> h.match().matches(view.of(r));
      }
      case AccessLogFilterConfig.ResponseFlags f -> {
        boolean any = f.flags().isEmpty();
        yield r -> any ? EnvoyResponseFlags.bit(r.flag) != 0 : f.flags().contains(r.flag.code);
      }
      case AccessLogFilterConfig.GrpcStatus g -> {
        fields.grpcStatus = true;
        yield r -> g.statuses().contains(GrpcStatusOf.orUnknown(r)) != g.exclude();
      }
      case AccessLogFilterConfig.LogType l -> r -> l.types().contains(r.logType) != l.exclude();
      case AccessLogFilterConfig.And a -> {
        AccessLogFilter[] all = compileAll(a.filters(), fields);
        yield r -> {
          for (AccessLogFilter f : all) {
            if (!f.test(r)) {
              return false;
            }
          }
          return true;
        };
      }
      case AccessLogFilterConfig.Or o -> {
        AccessLogFilter[] any = compileAll(o.filters(), fields);
        yield r -> {
          for (AccessLogFilter f : any) {
            if (f.test(r)) {
              return true;
            }
          }
          return false;
        };
      }
      case AccessLogFilterConfig.Cel e -> CelAccessLogFilter.compile(e.expression(), fields);
    };
  }

  private static AccessLogFilter[] compileAll(List<AccessLogFilterConfig> cs, LogFields fields) {
    AccessLogFilter[] out = new AccessLogFilter[cs.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = compile(cs.get(i), fields);
    }
    return out;
  }

  private static boolean compare(AccessLogFilterConfig.Op op, long actual, long value) {
    return switch (op) {
      case EQ -> actual == value;
      case GE -> actual >= value;
      case LE -> actual <= value;
    };
  }
}
