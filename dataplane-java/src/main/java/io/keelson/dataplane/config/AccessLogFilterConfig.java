package io.keelson.dataplane.config;

import io.keelson.dataplane.route.HeaderMatch;
import java.util.List;
import java.util.Set;

/**
 * An access log's {@code filter} (Envoy's {@code envoy.config.accesslog.v3.AccessLogFilter}): which finished requests
 * or connections the log writes. Compiled by {@code accesslog.AccessLogFilters}; evaluated on the access-log writer
 * thread. Immutable.
 */
public sealed interface AccessLogFilterConfig {
  /** ComparisonFilter's op. */
  enum Op { EQ, GE, LE }

  /** {@code status_code_filter}: the response code (0 when there is none, as Envoy) compared with {@code value}. */
  record StatusCode(Op op, long value) implements AccessLogFilterConfig {}

  /** {@code duration_filter}: the duration in milliseconds compared with {@code value}. */
  record Duration(Op op, long value) implements AccessLogFilterConfig {}

  /** {@code not_health_check_filter}. */
  record NotHealthCheck() implements AccessLogFilterConfig {}

  /** {@code traceable_filter}: the request's trace was forced (Envoy's ServiceForced reason). */
  record Traceable() implements AccessLogFilterConfig {}

  /** {@code header_filter}: the route HeaderMatcher on the request headers. */
  record Header(HeaderMatch match) implements AccessLogFilterConfig {}

  /** {@code response_flag_filter}: any of {@code flags} (Envoy's short codes) is set; empty: any flag is set. */
  record ResponseFlags(Set<String> flags) implements AccessLogFilterConfig {
    public ResponseFlags {
      flags = Set.copyOf(flags);
    }
  }

  /** {@code grpc_status_filter}: the gRPC status (inferred from the HTTP status without one) is in, or with {@code exclude} not in, {@code statuses}. */
  record GrpcStatus(Set<Integer> statuses, boolean exclude) implements AccessLogFilterConfig {
    public GrpcStatus {
      statuses = Set.copyOf(statuses);
    }
  }

  /** {@code log_type_filter}: the entry's {@code envoy.data.accesslog.v3.AccessLogType} number is (or is not) in {@code types}. */
  record LogType(Set<Integer> types, boolean exclude) implements AccessLogFilterConfig {
    public LogType {
      types = Set.copyOf(types);
    }
  }

  /** {@code and_filter}. */
  record And(List<AccessLogFilterConfig> filters) implements AccessLogFilterConfig {
    public And {
      filters = List.copyOf(filters);
    }
  }

  /** {@code or_filter}. */
  record Or(List<AccessLogFilterConfig> filters) implements AccessLogFilterConfig {
    public Or {
      filters = List.copyOf(filters);
    }
  }

  /** {@code extension_filter} {@code envoy.access_loggers.extension_filters.cel}: a CEL expression, true to log. */
  record Cel(String expression) implements AccessLogFilterConfig {}
}
