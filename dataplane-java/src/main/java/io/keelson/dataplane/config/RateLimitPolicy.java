package io.keelson.dataplane.config;

import io.keelson.dataplane.route.HeaderMatch;
import io.keelson.dataplane.route.QueryMatch;
import java.util.List;

/**
 * One Envoy route rate limit ({@code RouteAction.rate_limits[]} or {@code VirtualHost.rate_limits[]}): the actions
 * whose entries, in order, make one descriptor for the global rate limit filter of the same {@code stage}. A policy
 * one of whose actions cannot produce its entry produces no descriptor (Envoy's semantics). Immutable.
 *
 * @param stage      the filter stage this policy applies to (0 by default)
 * @param disableKey Envoy's runtime key to switch the policy off; kept for config dumps (Keelson has no runtime, so
 *                   the policy always applies, as with Envoy's runtime default)
 * @param limit      {@code limit.dynamic_metadata}: where a request's dynamic metadata may carry a limit for the
 *                   descriptor ({@code requests_per_unit}, {@code unit}), or null
 */
public record RateLimitPolicy(int stage, String disableKey, List<Action> actions, MetadataKey limit) {
  public RateLimitPolicy {
    actions = List.copyOf(actions);
  }

  public RateLimitPolicy(int stage, String disableKey, List<Action> actions) {
    this(stage, disableKey, actions, null);
  }

  /** Envoy's {@code MetadataKey}: a dynamic metadata namespace ({@code key}) and the path of keys under it. */
  public record MetadataKey(String filter, List<String> path) {
    public MetadataKey {
      path = List.copyOf(path);
    }

    /** The path as the array {@link io.keelson.dataplane.filter.DynamicMetadata#value} takes (a copy). */
    public String[] pathArray() {
      return path.toArray(String[]::new);
    }
  }

  /** One descriptor entry producer (Envoy's {@code RateLimit.Action}). */
  public sealed interface Action permits DestinationCluster, RequestHeader, RemoteAddress, MaskedRemoteAddress, GenericKey,
      HeaderValueMatch, QueryParameter, QueryParameterValueMatch, Metadata {}

  /** {@code ("destination_cluster", <the cluster the request is routed to>)}. */
  public record DestinationCluster() implements Action {}

  /**
   * {@code (descriptorKey, <the header's first value>)}; an absent header drops the whole descriptor, or with
   * {@code skipIfAbsent} only this entry.
   */
  public record RequestHeader(String lowerName, String descriptorKey, boolean skipIfAbsent) implements Action {}

  /** {@code ("remote_address", <the downstream address: the peer, or the trusted x-forwarded-for entry>)}. */
  public record RemoteAddress() implements Action {}

  /** {@code ("masked_remote_address", "<address masked to the prefix>/<prefix>")}. */
  public record MaskedRemoteAddress(int v4PrefixLength, int v6PrefixLength) implements Action {}

  /** {@code (descriptorKey, descriptorValue)} ({@code generic_key} when the key is not set). */
  public record GenericKey(String descriptorKey, String descriptorValue) implements Action {}

  /**
   * {@code (descriptorKey, descriptorValue)} ({@code header_match} when the key is not set) when the request's
   * headers match all {@code headers} == {@code expectMatch}; otherwise no descriptor.
   */
  public record HeaderValueMatch(String descriptorKey, String descriptorValue, boolean expectMatch, List<HeaderMatch> headers)
      implements Action {
    public HeaderValueMatch {
      headers = List.copyOf(headers);
    }
  }

  /**
   * {@code (descriptorKey, <the query parameter's first value, decoded>)}; an absent parameter drops the whole
   * descriptor, or with {@code skipIfAbsent} only this entry.
   */
  public record QueryParameter(String name, String descriptorKey, boolean skipIfAbsent) implements Action {}

  /**
   * {@code (descriptorKey, descriptorValue)} ({@code query_match} when the key is not set) when the request's query
   * parameters match all {@code parameters} == {@code expectMatch}; otherwise no descriptor.
   */
  public record QueryParameterValueMatch(String descriptorKey, String descriptorValue, boolean expectMatch,
      List<QueryMatch> parameters) implements Action {
    public QueryParameterValueMatch {
      parameters = List.copyOf(parameters);
    }
  }

  /**
   * {@code (descriptorKey, <the string at key in the request's dynamic metadata>)}; a missing, empty or non-string
   * value gives {@code defaultValue} when set, else drops the whole descriptor, or with {@code skipIfAbsent} only
   * this entry (Envoy's {@code metadata} action, {@code source: DYNAMIC}).
   *
   * @param path the key's path, as {@link io.keelson.dataplane.filter.DynamicMetadata#value} takes it (not to be
   *             changed)
   */
  public record Metadata(String descriptorKey, String filter, String[] path, String defaultValue, boolean skipIfAbsent)
      implements Action {}
}
