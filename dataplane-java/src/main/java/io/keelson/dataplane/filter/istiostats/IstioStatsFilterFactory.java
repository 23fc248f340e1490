package io.keelson.dataplane.filter.istiostats;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.HttpFilterFactory;
import io.keelson.dataplane.stats.IstioMetricsConfig;
import io.keelson.dataplane.stats.IstioTagExpression;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Istio's {@code istio.stats} HTTP filter, as istiod sends it: a {@code xds.type.v3.TypedStruct} whose
 * {@code type_url} is {@value #PLUGIN_CONFIG} (istio/proxy's {@code stats.PluginConfig}, whose proto Keelson does not
 * carry) and whose {@code value} holds its {@code metrics[]}: {@code name} (a standard metric's PluginConfig name, empty
 * for all), {@code drop}, {@code tags_to_remove} and {@code dimensions} (tag to value expression,
 * {@link IstioTagExpression}); the other PluginConfig fields as {@link #pluginField} says. Unknown fields and metric names,
 * unsupported expressions, a per-route config and a second istio.stats filter in one chain are refused by path. The filter does nothing per request itself: the connection manager's handlers read its
 * {@link IstioMetricsConfig} ({@link io.keelson.dataplane.filter.FilterChain#istioMetrics()}) and record Istio's
 * metrics with it. Stateless.
 */
public final class IstioStatsFilterFactory implements HttpFilterFactory {
  /** The type_url of istio/proxy's stats filter config. */
  public static final String PLUGIN_CONFIG = "type.googleapis.com/stats.PluginConfig";
  private static final Set<String> METRIC_FIELDS = Set.of("name", "drop", "tags_to_remove", "dimensions");

  /** The filter: its config, read by the handlers. */
  public record IstioStatsFilter(IstioMetricsConfig config) implements HttpFilter {
    @Override
    public void onRequest(io.keelson.dataplane.filter.FilterContext context) {}
  }

  @Override
  public String filterName() {
    return "istio.stats";
  }

  @Override
  public Class<? extends Message> configType() {
    return TypedStruct.class;
  }

  @Override
  public Object translate(Message config, String path, ConfigErrors errors) {
    TypedStruct ts = (TypedStruct) config;
    if (!ts.getTypeUrl().equals(PLUGIN_CONFIG)) {
      errors.error(path + ".type_url", "'" + ts.getTypeUrl() + "' is not supported in a TypedStruct http filter; expected "
          + PLUGIN_CONFIG + " (istio.stats)");
      return null;
    }
    boolean ok = true;
    List<IstioMetricsConfig.Override> out = new ArrayList<>();
    for (var e : new java.util.TreeMap<>(ts.getValue().getFieldsMap()).entrySet()) {
      ok &= pluginField(e.getKey(), e.getValue(), path + ".value." + e.getKey(), errors);
    }
    Value metrics = ts.getValue().getFieldsOrDefault("metrics", Value.getDefaultInstance());
    for (int i = 0; i < metrics.getListValue().getValuesCount(); i++) {
      String at = path + ".value.metrics[" + i + "]";
      IstioMetricsConfig.Override o = override(metrics.getListValue().getValues(i).getStructValue(), at, errors);
      ok &= o != null;
      if (o != null) {
        out.add(o);
      }
    }
    if (ok) {
      try {
        IstioMetricsConfig.check(out);
      } catch (IllegalArgumentException tooMany) {
        errors.error(path + ".value.metrics", tooMany.getMessage());
        ok = false;
      }
    }
    return ok ? List.copyOf(out) : null;
  }

  /**
   * A PluginConfig field besides {@code metrics}: the reporting and scope rotation intervals are accepted and ignored
   * (Keelson's istio_* counters are read live at scrape time and never rotated); {@code disable_host_header_fallback}
   * true is what Keelson always does (destination_service comes from the cluster, never the Host header), so false is
   * refused, as are a {@code SERVER_GATEWAY} reporter and custom metric {@code definitions}.
   */
  private static boolean pluginField(String name, Value v, String at, ConfigErrors errors) {
    switch (name) {
      case "metrics", "tcp_reporting_duration", "rescoping_duration", "scope_grace_period_duration" -> {
        return true;
      }
      case "disable_host_header_fallback" -> {
        if (v.getBoolValue()) {
          return true;
        }
        errors.error(at, "false is not supported: Keelson never falls back to the Host header for destination_service;"
            + " expected true or the field left out");
        return false;
      }
      case "reporter" -> {
        if (v.getStringValue().equals("UNSPECIFIED") || (v.hasNumberValue() && v.getNumberValue() == 0)) {
          return true;
        }
        errors.error(at, "'" + (v.hasNumberValue() ? String.valueOf(v.getNumberValue()) : v.getStringValue())
            + "' is not supported; expected UNSPECIFIED (the reporter follows the listener's direction)");
        return false;
      }
      default -> {
        errors.error(at, "is not supported; expected metrics (drop, tags_to_remove, dimensions of the standard metrics),"
            + " disable_host_header_fallback, reporter, or the ignored tcp_reporting_duration, rescoping_duration, "
            + "scope_grace_period_duration");
        return false;
      }
    }
  }

  /** istio.stats has no per-route config (its overrides apply per connection manager): refused, not ignored. */
  @Override
  public Object translatePerRoute(Message config, String path, ConfigErrors errors) {
    errors.error(path, "istio.stats has no per-route config; expected its metric overrides in the connection manager's "
        + "istio.stats http filter (Istio's Telemetry applies per workload, not per route)");
    return null;
  }

  private static IstioMetricsConfig.Override override(Struct m, String at, ConfigErrors errors) {
    boolean ok = true;
    for (String k : m.getFieldsMap().keySet()) {
      if (!METRIC_FIELDS.contains(k)) {
        errors.error(at + "." + k, "is not supported; expected one of " + METRIC_FIELDS);
        ok = false;
      }
    }
    String name = m.getFieldsOrDefault("name", Value.getDefaultInstance()).getStringValue();
    if (!name.isEmpty() && !IstioMetricsConfig.NAMES.contains(name)) {
      errors.error(at + ".name", "'" + name + "' is not a standard metric; expected one of "
          + new java.util.TreeSet<>(IstioMetricsConfig.NAMES) + " or empty for all");
      ok = false;
    }
    List<String> remove = new ArrayList<>();
    for (Value v : m.getFieldsOrDefault("tags_to_remove", Value.getDefaultInstance()).getListValue().getValuesList()) {
      remove.add(v.getStringValue());
    }
    Map<String, IstioTagExpression> dims = new LinkedHashMap<>();
    for (var d : m.getFieldsOrDefault("dimensions", Value.getDefaultInstance()).getStructValue().getFieldsMap().entrySet()) {
      IstioTagExpression e = IstioTagExpression.parse(d.getValue().getStringValue());
      if (e == null) {
        errors.error(at + ".dimensions." + d.getKey(), "'" + d.getValue().getStringValue() + "' is not supported; "
            + "expected " + IstioTagExpression.SUPPORTED);
        ok = false;
      } else {
        dims.put(d.getKey(), e);
        if (e.kind() == IstioTagExpression.Kind.SOURCE_ADDRESS) {
          errors.warn(at + ".dimensions." + d.getKey(), "source.address is the client's address with its ephemeral "
              + "port: every connection is a new value, and past " + IstioMetricsConfig.MAX_VALUES + " of them the tag "
              + "reports unknown until the proxy restarts");
        }
      }
    }
    boolean drop = m.getFieldsOrDefault("drop", Value.getDefaultInstance()).getBoolValue();
    return ok ? new IstioMetricsConfig.Override(name, drop, remove, dims) : null;
  }

  @Override
  @SuppressWarnings("unchecked")
  public HttpFilter create(Object settings, FilterResources resources) {
    return new IstioStatsFilter(resources.stats().istioMetrics((List<IstioMetricsConfig.Override>) settings));
  }
}
