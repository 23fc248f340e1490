package io.keelson.dataplane.config.envoy;

import io.envoyproxy.envoy.config.route.v3.RateLimit;
import io.keelson.dataplane.config.RateLimitPolicy;
import io.keelson.dataplane.route.HeaderMatch;
import io.keelson.dataplane.route.QueryMatch;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Translates Envoy's route and virtual host {@code rate_limits} into {@link RateLimitPolicy} lists for the global
 * rate limit filter. Action kinds Keelson does not produce are refused by {@link SupportedFields}; this checks the
 * values. Not thread-safe (one translation).
 */
final class RateLimitTranslator {
  static final String SUPPORTED = "destination_cluster, request_headers, remote_address, masked_remote_address,"
      + " generic_key, header_value_match, query_parameters, query_parameter_value_match, metadata";
  private final Problems problems;
  private final MatchTranslator matches;

  RateLimitTranslator(Problems problems, MatchTranslator matches) {
    this.problems = problems;
    this.matches = matches;
  }

  /** The policies at {@code path} ({@code ...rate_limits}); a bad one is reported and left out. */
  List<RateLimitPolicy> translate(List<RateLimit> limits, String path) {
    List<RateLimitPolicy> out = new ArrayList<>(limits.size());
    for (int i = 0; i < limits.size(); i++) {
      RateLimitPolicy p = policy(limits.get(i), path + "[" + i + "]");
      if (p != null) {
        out.add(p);
      }
    }
    return out;
  }

  private RateLimitPolicy policy(RateLimit r, String path) {
    if (r.getActionsCount() == 0) {
      problems.error(path + ".actions", "at least one action is required");
      return null;
    }
    int stage = r.hasStage() ? r.getStage().getValue() : 0;
    if (stage > 10) {
      problems.error(path + ".stage", "expected a stage between 0 and 10, got " + Integer.toUnsignedString(stage));
      return null;
    }
    List<RateLimitPolicy.Action> actions = new ArrayList<>();
    boolean ok = true;
    for (int i = 0; i < r.getActionsCount(); i++) {
      RateLimitPolicy.Action a = action(r.getActions(i), path + ".actions[" + i + "]");
      if (a == null) {
        ok = false;
      } else {
        actions.add(a);
      }
    }
    RateLimitPolicy.MetadataKey limit = null;
    if (r.hasLimit()) {
      String at = path + ".limit.dynamic_metadata.metadata_key";
      if (!r.getLimit().hasDynamicMetadata()) {
        problems.error(path + ".limit", "expected dynamic_metadata");
        return null;
      }
      limit = metadataKey(r.getLimit().getDynamicMetadata().getMetadataKey(), at);
      if (limit == null) {
        return null;
      }
    }
    return ok ? new RateLimitPolicy(stage, r.getDisableKey(), actions, limit) : null;
  }

  private RateLimitPolicy.Action action(RateLimit.Action a, String path) {
    return switch (a.getActionSpecifierCase()) {
      case DESTINATION_CLUSTER -> new RateLimitPolicy.DestinationCluster();
      case REMOTE_ADDRESS -> new RateLimitPolicy.RemoteAddress();
      case REQUEST_HEADERS -> {
        var h = a.getRequestHeaders();
        String at = path + ".request_headers";
        if (h.getHeaderName().isEmpty() || !io.keelson.dataplane.route.HeaderMatch.isSupportedName(h.getHeaderName())) {
          problems.error(at + ".header_name", "expected a header name or :path, :method or :authority, got '"
              + h.getHeaderName() + "'");
          yield null;
        }
        if (h.getDescriptorKey().isEmpty()) {
          problems.error(at + ".descriptor_key", "a descriptor key is required");
          yield null;
        }
        yield new RateLimitPolicy.RequestHeader(h.getHeaderName().toLowerCase(Locale.ROOT), h.getDescriptorKey(),
            h.getSkipIfAbsent());
      }
      case GENERIC_KEY -> {
        var g = a.getGenericKey();
        if (g.getDescriptorValue().isEmpty()) {
          problems.error(path + ".generic_key.descriptor_value", "a descriptor value is required");
          yield null;
        }
        yield new RateLimitPolicy.GenericKey(g.getDescriptorKey().isEmpty() ? "generic_key" : g.getDescriptorKey(),
            g.getDescriptorValue());
      }
      case HEADER_VALUE_MATCH -> {
        var m = a.getHeaderValueMatch();
        String at = path + ".header_value_match";
        if (m.getDescriptorValue().isEmpty()) {
          problems.error(at + ".descriptor_value", "a descriptor value is required");
          yield null;
        }
        if (m.getHeadersCount() == 0) {
          problems.error(at + ".headers", "at least one header matcher is required");
          yield null;
        }
        List<HeaderMatch> headers = new ArrayList<>();
        for (int i = 0; i < m.getHeadersCount(); i++) {
          HeaderMatch h = matches.header(m.getHeaders(i), at + ".headers[" + i + "]");
          if (h == null) {
            yield null;
          }
          headers.add(h);
        }
        yield new RateLimitPolicy.HeaderValueMatch(m.getDescriptorKey().isEmpty() ? "header_match" : m.getDescriptorKey(),
            m.getDescriptorValue(), !m.hasExpectMatch() || m.getExpectMatch().getValue(), headers);
      }
      case MASKED_REMOTE_ADDRESS -> {
        var m = a.getMaskedRemoteAddress();
        String at = path + ".masked_remote_address";
        int v4 = m.hasV4PrefixMaskLen() ? m.getV4PrefixMaskLen().getValue() : 32;
        int v6 = m.hasV6PrefixMaskLen() ? m.getV6PrefixMaskLen().getValue() : 128;
        if (v4 < 0 || v4 > 32) {
          problems.error(at + ".v4_prefix_mask_len", "expected 0 to 32, got " + Integer.toUnsignedString(v4));
          yield null;
        }
        if (v6 < 0 || v6 > 128) {
          problems.error(at + ".v6_prefix_mask_len", "expected 0 to 128, got " + Integer.toUnsignedString(v6));
          yield null;
        }
        yield new RateLimitPolicy.MaskedRemoteAddress(v4, v6);
      }
      case QUERY_PARAMETERS -> {
        var q = a.getQueryParameters();
        String at = path + ".query_parameters";
        if (q.getQueryParameterName().isEmpty()) {
          problems.error(at + ".query_parameter_name", "a query parameter name is required");
          yield null;
        }
        if (q.getDescriptorKey().isEmpty()) {
          problems.error(at + ".descriptor_key", "a descriptor key is required");
          yield null;
        }
        yield new RateLimitPolicy.QueryParameter(q.getQueryParameterName(), q.getDescriptorKey(), q.getSkipIfAbsent());
      }
      case QUERY_PARAMETER_VALUE_MATCH -> {
        var m = a.getQueryParameterValueMatch();
        String at = path + ".query_parameter_value_match";
        if (m.getDescriptorValue().isEmpty()) {
          problems.error(at + ".descriptor_value", "a descriptor value is required");
          yield null;
        }
        if (m.getQueryParametersCount() == 0) {
          problems.error(at + ".query_parameters", "at least one query parameter matcher is required");
          yield null;
        }
        List<QueryMatch> parameters = new ArrayList<>();
        for (int i = 0; i < m.getQueryParametersCount(); i++) {
          QueryMatch q = matches.query(m.getQueryParameters(i), at + ".query_parameters[" + i + "]");
          if (q == null) {
            yield null;
          }
          parameters.add(q);
        }
        yield new RateLimitPolicy.QueryParameterValueMatch(m.getDescriptorKey().isEmpty() ? "query_match"
            : m.getDescriptorKey(), m.getDescriptorValue(), !m.hasExpectMatch() || m.getExpectMatch().getValue(),
            parameters);
      }
      case METADATA -> {
        var m = a.getMetadata();
        String at = path + ".metadata";
        if (m.getDescriptorKey().isEmpty()) {
          problems.error(at + ".descriptor_key", "a descriptor key is required");
          yield null;
        }
        if (m.getSource() != RateLimit.Action.MetaData.Source.DYNAMIC) {
          problems.error(at + ".source", "only DYNAMIC (the request's dynamic metadata) is supported; Keelson's routes"
              + " carry no metadata");
          yield null;
        }
        RateLimitPolicy.MetadataKey key = metadataKey(m.getMetadataKey(), at + ".metadata_key");
        yield key == null ? null : new RateLimitPolicy.Metadata(m.getDescriptorKey(), key.filter(), key.pathArray(),
            m.getDefaultValue(), m.getSkipIfAbsent());
      }
      case ACTIONSPECIFIER_NOT_SET -> {
        problems.error(path, "an action is required; expected one of " + SUPPORTED);
        yield null;
      }
      default -> {
        if (!problems.reportedAt(path + "." + fieldName(a))) {
          problems.error(path + "." + fieldName(a), "this rate limit action is not supported; expected one of "
              + SUPPORTED);
        }
        yield null;
      }
    };
  }

  /** A MetadataKey with a {@code key} and at least one path {@code key}, or null (reported). */
  private RateLimitPolicy.MetadataKey metadataKey(io.envoyproxy.envoy.type.metadata.v3.MetadataKey k, String at) {
    if (k.getKey().isEmpty()) {
      problems.error(at + ".key", "the metadata namespace is required (e.g. envoy.filters.http.jwt_authn)");
      return null;
    }
    if (k.getPathCount() == 0) {
      problems.error(at + ".path", "at least one path segment is required");
      return null;
    }
    List<String> path = new ArrayList<>();
    for (int i = 0; i < k.getPathCount(); i++) {
      if (k.getPath(i).getKey().isEmpty()) {
        problems.error(at + ".path[" + i + "].key", "a key is required");
        return null;
      }
      path.add(k.getPath(i).getKey());
    }
    return new RateLimitPolicy.MetadataKey(k.getKey(), path);
  }

  private static String fieldName(RateLimit.Action a) {
    return RateLimit.Action.getDescriptor().findFieldByNumber(a.getActionSpecifierCase().getNumber()).getName();
  }
}
