package io.keelson.dataplane.filter;

import io.keelson.dataplane.config.HttpConnectionManagerConfig;
import io.keelson.dataplane.config.HttpFilterConfig;
import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.VirtualHostConfig;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A listener's compiled HTTP filters, in config order, with each route's and virtual host's
 * typed_per_filter_config overrides compiled up front (so a request costs one identity lookup).
 * Immutable; safe to run from any number of threads at once.
 */
public final class FilterChain {
  public static final FilterChain EMPTY = new FilterChain(new HttpFilter[0], Map.of(), Map.of());

  private final HttpFilter[] filters;
  private final Map<RouteEntry, HttpFilter[]> byRoute;
  private final Map<VirtualHostConfig, HttpFilter[]> byVirtualHost;

  private FilterChain(HttpFilter[] filters, Map<RouteEntry, HttpFilter[]> byRoute, Map<VirtualHostConfig, HttpFilter[]> byVirtualHost) {
    this.filters = filters;
    this.byRoute = byRoute;
    this.byVirtualHost = byVirtualHost;
  }

  /** Compiles the connection manager's filters; {@link #EMPTY} when it has none. */
  public static FilterChain compile(HttpConnectionManagerConfig hcm, FilterResources resources) {
    List<HttpFilterConfig> configs = hcm.httpFilters();
    if (configs.isEmpty()) {
      return EMPTY;
    }
    int n = configs.size();
    HttpFilterFactory[] factories = new HttpFilterFactory[n];
    HttpFilter[] defaults = new HttpFilter[n];
    for (int i = 0; i < n; i++) {
      HttpFilterConfig c = configs.get(i);
      factories[i] = HttpFilterFactories.forType(c.typeName());
      if (factories[i] == null) {
        throw new IllegalArgumentException("http filter '" + c.name() + "': no factory for " + c.typeName());
      }
      defaults[i] = factories[i].create(c.settings(), resources);
    }
    Map<RouteEntry, HttpFilter[]> byRoute = new IdentityHashMap<>();
    Map<VirtualHostConfig, HttpFilter[]> byVh = new IdentityHashMap<>();
    for (VirtualHostConfig vh : hcm.routeConfig().virtualHosts()) {
      HttpFilter[] vhFilters = overrides(configs, factories, defaults, Map.of(), vh.perFilterConfig(), resources);
      if (vhFilters != defaults) {
        byVh.put(vh, vhFilters);
      }
      for (RouteEntry route : vh.routes()) {
        HttpFilter[] routeFilters =
            overrides(configs, factories, vhFilters, vh.perFilterConfig(), route.perFilterConfig(), resources);
        if (routeFilters != defaults) {
          byRoute.put(route, routeFilters);
        }
      }
    }
    return new FilterChain(defaults, byRoute, byVh);
  }

  /** {@code base} with the filters that {@code perFilter} (a level inside {@code outer}: a route in its virtual host) overrides. */
  private static HttpFilter[] overrides(List<HttpFilterConfig> configs, HttpFilterFactory[] factories, HttpFilter[] base,
      Map<String, Object> outer, Map<String, Object> perFilter, FilterResources resources) {
    if (perFilter.isEmpty()) {
      return base;
    }
    HttpFilter[] out = base;
    for (int i = 0; i < base.length; i++) {
      Object settings = settings(factories[i], configs.get(i).name(), outer, perFilter);
      if (settings != null) {
        if (out == base) {
          out = base.clone();
        }
        out[i] = factories[i].createOverride(configs.get(i).settings(), settings, resources);
      }
    }
    return out;
  }

  /**
   * One filter's settings at a level, or null to keep the enclosing level's filter: its typed_per_filter_config,
   * merged over the enclosing level's when both have one; else (no typed config at either level) the settings
   * from the built-in route field ({@link HttpFilterFactory#routeFieldKey}), likewise merged.
   */
  private static Object settings(HttpFilterFactory factory, String name, Map<String, Object> outer, Map<String, Object> inner) {
    Object own = inner.get(name);
    Object outerOwn = outer.get(name);
    if (own != null) {
      return outerOwn == null ? own : factory.mergePerRoute(outerOwn, own);
    }
    String key = factory.routeFieldKey();
    if (key == null || outerOwn != null) {
      return null;
    }
    Object field = inner.get(key);
    Object outerField = outer.get(key);
    if (field == null) {
      return null;
    }
    return outerField == null ? field : factory.mergePerRoute(outerField, field);
  }

  public boolean isEmpty() {
    return filters.length == 0;
  }

  /** Runs the filters for the request in {@code context} (inputs set, verdict cleared) until one replies locally. */
  public void run(FilterContext context) {
    HttpFilter[] chain = filters;
    if (chain.length == 0) {
      return;
    }
    if (context.route != null) {
      HttpFilter[] r = byRoute.get(context.route);
      if (r != null) {
        chain = r;
      } else if (context.virtualHost != null) {
        HttpFilter[] v = byVirtualHost.get(context.virtualHost);
        chain = v != null ? v : chain;
      }
    } else if (context.virtualHost != null) {
      HttpFilter[] v = byVirtualHost.get(context.virtualHost);
      chain = v != null ? v : chain;
    }
    runFrom(chain, 0, context);
  }

  /**
   * Runs {@code chain} from {@code from} until a filter replies locally, or asks for an external check: then the
   * filters after it wait for the check ({@link FilterContext#checkExternally}), kept in the context.
   */
  private static void runFrom(HttpFilter[] chain, int from, FilterContext context) {
    for (int i = from; i < chain.length; i++) {
      chain[i].onRequest(context);
      if (context.hasLocalReply()) {
        return;
      }
      if (context.externalCheck() != null) {
        if (i + 1 < chain.length) {
          context.pause(PausedChain.of(chain, i + 1, context));
        }
        return;
      }
    }
  }

  /**
   * Runs the filters that waited for {@code context}'s external check, which allowed the request: on the connection's
   * event loop (filters' shared state is thread-safe), with the inputs they had and the request's headers as the check
   * left them; their verdict adds to the context's. A later filter may ask for another check ({@link
   * FilterContext#externalCheck} is then set again). Does nothing when no filter waited.
   */
  public static void resume(FilterContext context) {
    PausedChain p = context.takePaused();
    context.checkExternally(null);
    if (p == null) {
      return;
    }
    p.restore(context);
    runFrom(p.rest(), p.from(), context);
    context.clearInputs();
  }
}
