package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.PathWithEscapedSlashesAction;
import java.util.List;

/**
 * Istio's meshConfig {@code pathNormalization.normalization}: how every sidecar and gateway connection manager
 * normalizes request paths before its filters (AuthorizationPolicy's RBAC among them) and routes see them, set as
 * istiod's {@code buildHTTPConnectionManager} does: {@code path_with_escaped_slashes_action: KEEP_UNCHANGED} always,
 * then NONE {@code normalize_path: false}; BASE (Istio's default, also spelled DEFAULT) {@code normalize_path: true};
 * MERGE_SLASHES that and {@code merge_slashes: true}; DECODE_AND_MERGE_SLASHES that and {@code UNESCAPE_AND_FORWARD}.
 * Immutable.
 */
public enum PathNormalizationLevel {
  NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES;

  /** Istio's default (its {@code DEFAULT} value means BASE). */
  public static final PathNormalizationLevel DEFAULT = BASE;
  private static final String HCM = "envoy.filters.network.http_connection_manager";

  /**
   * The level named {@code value} (as in Istio's meshConfig, {@code DEFAULT} meaning BASE).
   *
   * @throws IllegalArgumentException naming the value and the expected ones
   */
  public static PathNormalizationLevel parse(String value) {
    if ("DEFAULT".equals(value)) {
      return DEFAULT;
    }
    for (PathNormalizationLevel l : values()) {
      if (l.name().equals(value)) {
        return l;
      }
    }
    throw new IllegalArgumentException("'" + value + "' is not a path normalization; expected NONE, BASE (the default),"
        + " MERGE_SLASHES or DECODE_AND_MERGE_SLASHES");
  }

  /** {@code hcm} with this level's fields, as istiod sets them. */
  HttpConnectionManager.Builder applyTo(HttpConnectionManager.Builder hcm) {
    hcm.setPathWithEscapedSlashesAction(this == DECODE_AND_MERGE_SLASHES
        ? PathWithEscapedSlashesAction.UNESCAPE_AND_FORWARD : PathWithEscapedSlashesAction.KEEP_UNCHANGED);
    hcm.setNormalizePath(BoolValue.of(this != NONE));
    return hcm.setMergeSlashes(this == MERGE_SLASHES || this == DECODE_AND_MERGE_SLASHES);
  }

  /**
   * {@code resources} with every connection manager of its listeners at this level. Translators start theirs at
   * {@link #DEFAULT} ({@link MeshConnectionManagers}); only another level needs this rewrite.
   */
  public MeshResources apply(MeshResources resources) {
    if (this == DEFAULT) {
      return resources;
    }
    List<Listener> listeners = resources.listeners().stream().map(this::apply).toList();
    return resources.withListeners(listeners);
  }

  private Listener apply(Listener l) {
    Listener.Builder b = l.toBuilder();
    for (int i = 0; i < b.getFilterChainsCount(); i++) {
      b.setFilterChains(i, apply(b.getFilterChains(i)));
    }
    if (b.hasDefaultFilterChain()) {
      b.setDefaultFilterChain(apply(b.getDefaultFilterChain()));
    }
    return b.build();
  }

  private FilterChain apply(FilterChain c) {
    FilterChain.Builder b = c.toBuilder();
    for (int i = 0; i < b.getFiltersCount(); i++) {
      Filter f = b.getFilters(i);
      if (f.getName().equals(HCM) && f.getTypedConfig().is(HttpConnectionManager.class)) {
        try {
          HttpConnectionManager.Builder hcm = f.getTypedConfig().unpack(HttpConnectionManager.class).toBuilder();
          b.setFilters(i, f.toBuilder().setTypedConfig(Any.pack(applyTo(hcm).build())));
        } catch (InvalidProtocolBufferException e) {
          throw new IllegalStateException("the translation wrote an unreadable " + f.getName(), e); // our own config
        }
      }
    }
    return b.build();
  }
}
