package io.keelson.dataplane.config.envoy;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter;
import io.envoyproxy.envoy.config.accesslog.v3.ComparisonFilter;
import io.envoyproxy.envoy.config.accesslog.v3.ExtensionFilter;
import io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter;
import io.keelson.dataplane.accesslog.AccessLogFilters;
import io.keelson.dataplane.config.AccessLogFilterConfig;
import io.keelson.dataplane.route.HeaderMatch;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Translates an access log's {@code filter} ({@code envoy.config.accesslog.v3.AccessLogFilter}). Unsupported kinds
 * (runtime_filter, metadata_filter) and runtime keys are refused by path in {@link SupportedFields}; here the values
 * are read and a CEL expression is compiled to refuse it with its column. Stateless.
 */
final class AccessLogFilterTranslator {
  /** The extension name istiod and Envoy give the CEL filter. */
  static final String CEL = "envoy.access_loggers.extension_filters.cel";

  private AccessLogFilterTranslator() {}

  /** The filter, or null after reporting why it cannot be built. */
  static AccessLogFilterConfig translate(AccessLogFilter f, String path, Problems problems) {
    AccessLogFilterConfig c = filter(f, path, problems);
    if (c != null) {
      try {
        AccessLogFilters.check(c);
      } catch (IllegalArgumentException e) {
        problems.error(path, e.getMessage()); // a CEL expression in an and/or names itself and its column
        return null;
      }
    }
    return c;
  }

  private static AccessLogFilterConfig filter(AccessLogFilter f, String path, Problems problems) {
    return switch (f.getFilterSpecifierCase()) {
      case STATUS_CODE_FILTER -> {
        ComparisonFilter cmp = f.getStatusCodeFilter().getComparison();
        yield !compared(cmp, path + ".status_code_filter.comparison", problems) ? null : new AccessLogFilterConfig.StatusCode(op(cmp), cmp.getValue().getDefaultValue());
      }
      case DURATION_FILTER -> {
        ComparisonFilter cmp = f.getDurationFilter().getComparison();
        yield !compared(cmp, path + ".duration_filter.comparison", problems) ? null : new AccessLogFilterConfig.Duration(op(cmp), cmp.getValue().getDefaultValue());
      }
      case NOT_HEALTH_CHECK_FILTER -> new AccessLogFilterConfig.NotHealthCheck();
      case TRACEABLE_FILTER -> new AccessLogFilterConfig.Traceable();
      case HEADER_FILTER -> {
        if (!f.getHeaderFilter().hasHeader()) {
          problems.error(path + ".header_filter.header", "a header matcher is required");
          yield null;
        }
        HeaderMatch m = new MatchTranslator(problems).header(f.getHeaderFilter().getHeader(), path + ".header_filter.header");
        yield m == null ? null : new AccessLogFilterConfig.Header(m);
      }
      case RESPONSE_FLAG_FILTER -> new AccessLogFilterConfig.ResponseFlags(Set.copyOf(f.getResponseFlagFilter().getFlagsList()));
      case GRPC_STATUS_FILTER -> {
        Set<Integer> statuses = new HashSet<>(f.getGrpcStatusFilter().getStatusesValueList());
        yield new AccessLogFilterConfig.GrpcStatus(statuses, f.getGrpcStatusFilter().getExclude());
      }
      case LOG_TYPE_FILTER -> new AccessLogFilterConfig.LogType(Set.copyOf(f.getLogTypeFilter().getTypesValueList()),
          f.getLogTypeFilter().getExclude());
      case AND_FILTER -> {
        List<AccessLogFilterConfig> all = all(f.getAndFilter().getFiltersList(), path + ".and_filter.filters", problems);
        yield all == null ? null : new AccessLogFilterConfig.And(all);
      }
      case OR_FILTER -> {
        List<AccessLogFilterConfig> any = all(f.getOrFilter().getFiltersList(), path + ".or_filter.filters", problems);
        yield any == null ? null : new AccessLogFilterConfig.Or(any);
      }
      case EXTENSION_FILTER -> extension(f.getExtensionFilter(), path + ".extension_filter", problems);
      case FILTERSPECIFIER_NOT_SET -> {
        problems.error(path, "a filter needs one of status_code_filter, duration_filter, not_health_check_filter, "
            + "traceable_filter, header_filter, response_flag_filter, grpc_status_filter, log_type_filter, and_filter, "
            + "or_filter, extension_filter");
        yield null;
      }
      default -> null; // runtime_filter, metadata_filter: refused by SupportedFields
    };
  }

  private static List<AccessLogFilterConfig> all(List<AccessLogFilter> fs, String path, Problems problems) {
    if (fs.size() < 2) {
      problems.error(path, "expected at least 2 filters, got " + fs.size());
      return null;
    }
    List<AccessLogFilterConfig> out = new ArrayList<>();
    for (int i = 0; i < fs.size(); i++) {
      out.add(filter(fs.get(i), path + "[" + i + "]", problems)); // every child, to report all their problems
    }
    return out.contains(null) ? null : out;
  }

  /** A comparison needs its value (Envoy's validation: required). */
  private static boolean compared(ComparisonFilter c, String path, Problems problems) {
    if (!c.hasValue()) {
      problems.error(path + ".value", "a value is required; expected { default_value: N }");
      return false;
    }
    return true;
  }

  private static AccessLogFilterConfig.Op op(ComparisonFilter c) {
    return switch (c.getOp()) {
      case GE -> AccessLogFilterConfig.Op.GE;
      case LE -> AccessLogFilterConfig.Op.LE;
      default -> AccessLogFilterConfig.Op.EQ;
    };
  }

  private static AccessLogFilterConfig extension(ExtensionFilter e, String path, Problems problems) {
    if (!e.hasTypedConfig() || !e.getTypedConfig().is(ExpressionFilter.class)) {
      problems.error(path + ".typed_config", "expected " + ExpressionFilter.getDescriptor().getFullName() + " (" + CEL
          + "), the only access-log extension filter Keelson runs");
      return null;
    }
    try {
      String expression = e.getTypedConfig().unpack(ExpressionFilter.class).getExpression();
      try {
        AccessLogFilters.check(new AccessLogFilterConfig.Cel(expression));
      } catch (IllegalArgumentException bad) {
        problems.error(path + ".typed_config.expression", bad.getMessage());
        return null;
      }
      return new AccessLogFilterConfig.Cel(expression);
    } catch (InvalidProtocolBufferException bad) {
      problems.error(path + ".typed_config", "cannot read: " + bad.getMessage());
      return null;
    }
  }
}
