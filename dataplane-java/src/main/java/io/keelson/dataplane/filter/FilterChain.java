package io.keelson.dataplane.filter;

import io.keelson.dataplane.config.HttpConnectionManagerConfig;
import io.keelson.dataplane.config.HttpFilterConfig;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.VirtualHostConfig;
import io.keelson.dataplane.route.RouteTable;
import io.keelson.dataplane.route.WeightedPick;
import io.keelson.dataplane.stats.ResponseFlag;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A listener's compiled HTTP filters, in config order, with each route's and virtual host's
 * typed_per_filter_config overrides compiled up front (so a request costs one identity lookup).
 * When a filter clears the route cache ({@link FilterContext#clearRouteCache}), the route is chosen again from the
 * listener's route table with the headers and dynamic metadata the filters left, and the filters after it run with
 * the new route's overrides (Envoy's {@code clearRouteCache()}); a request no filter asks it of pays nothing.
 * Immutable; safe to run from any number of threads at once.
 */
public final class FilterChain {
  /**
   * The local reply's body when a filter after an external check cleared the route cache: the request was already
   * routed and balanced, so the route cannot be chosen again, and the old one was picked by headers the filter changed.
   */
  static final String ROUTE_CLEARED_AFTER_CHECK = "route cache cleared after an external check\n";

  public static final FilterChain EMPTY = new FilterChain(new HttpFilter[0], Map.of(), Map.of(), null);

  /** The connection manager's istio.stats metric overrides, or null for none. */
  private final io.keelson.dataplane.stats.IstioMetricsConfig istioMetrics;

  private final HttpFilter[] filters;
  private final Map<RouteEntry, HttpFilter[]> byRoute;
  private final Map<VirtualHostConfig, HttpFilter[]> byVirtualHost;
  /** The listener's routes, chosen again from when a filter clears the route cache; null = never chosen again. */
  private final RouteTable routes;

  private FilterChain(HttpFilter[] filters, Map<RouteEntry, HttpFilter[]> byRoute, Map<VirtualHostConfig, HttpFilter[]> byVirtualHost,
      RouteTable routes) {
    this.filters = filters;
    this.byRoute = byRoute;
    this.byVirtualHost = byVirtualHost;
    this.routes = routes;
    io.keelson.dataplane.stats.IstioMetricsConfig m = null;
    for (HttpFilter f : filters) {
      if (f instanceof io.keelson.dataplane.filter.istiostats.IstioStatsFilterFactory.IstioStatsFilter s) {
        m = s.config();
      }
    }
    this.istioMetrics = m;
  }

  /** The istio.stats filter's metric overrides (Istio's Telemetry {@code metrics}), or null when it has none. */
  public io.keelson.dataplane.stats.IstioMetricsConfig istioMetrics() {
    return istioMetrics;
  }

  /** Compiles the connection manager's filters, with its own route table for route re-selection; {@link #EMPTY} when it has none. */
  public static FilterChain compile(HttpConnectionManagerConfig hcm, FilterResources resources) {
    return compile(hcm, resources, null);
  }

  /**
   * Compiles the connection manager's filters; {@link #EMPTY} when it has none.
   *
   * @param routes the listener's compiled {@code hcm.routeConfig()} (the one the route stage uses), or null to compile it
   */
  public static FilterChain compile(HttpConnectionManagerConfig hcm, FilterResources resources, RouteTable routes) {
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
      defaults[i] = factories[i].create(c.settings(), resources.at(c.name()));
    }
    Map<RouteEntry, HttpFilter[]> byRoute = new IdentityHashMap<>();
    Map<VirtualHostConfig, HttpFilter[]> byVh = new IdentityHashMap<>();
    for (VirtualHostConfig vh : hcm.routeConfig().virtualHosts()) {
      HttpFilter[] vhFilters = overrides(configs, factories, defaults, Map.of(), vh.perFilterConfig(),
          resources, vh.name());
      if (vhFilters != defaults) {
        byVh.put(vh, vhFilters);
      }
      for (int r = 0; r < vh.routes().size(); r++) {
        RouteEntry route = vh.routes().get(r);
        HttpFilter[] routeFilters = overrides(configs, factories, vhFilters, vh.perFilterConfig(), route.perFilterConfig(),
            resources, vh.name() + "#" + r);
        if (routeFilters != defaults) {
          byRoute.put(route, routeFilters);
        }
      }
    }
    return new FilterChain(defaults, byRoute, byVh, routes != null ? routes : RouteTable.compile(hcm.routeConfig()));
  }

  /**
   * {@code base} with the filters that {@code perFilter} (a level inside {@code outer}: a route in its virtual host)
   * overrides; {@code place} names the level (the virtual host, and the route's index in it) for
   * {@link FilterResources#owner}.
   */
  private static HttpFilter[] overrides(List<HttpFilterConfig> configs, HttpFilterFactory[] factories, HttpFilter[] base,
      Map<String, Object> outer, Map<String, Object> perFilter, FilterResources resources, String place) {
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
        out[i] = factories[i].createOverride(configs.get(i).settings(), settings,
            resources.at(place + "/" + configs.get(i).name()));
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

  /**
   * Runs the filters for the request in {@code context} (inputs set, verdict cleared) until one replies locally. When
   * a filter cleared the route cache and the route changed, {@link FilterContext#rerouted()} says so and the context's
   * route, virtual host and upstream cluster are the new ones.
   */
  public void run(FilterContext context) {
    if (filters.length == 0) {
      return;
    }
    runFrom(chainFor(context.route, context.virtualHost), 0, context, this);
  }

  /** The filters with the overrides of {@code route} (else of {@code vh}; else the defaults). */
  private HttpFilter[] chainFor(RouteEntry route, VirtualHostConfig vh) {
    if (route != null) {
      HttpFilter[] r = byRoute.get(route);
      if (r != null) {
        return r;
      }
    }
    if (vh != null) {
      HttpFilter[] v = byVirtualHost.get(vh);
      return v != null ? v : filters;
    }
    return filters;
  }

  /**
   * Chooses the request's route again (a filter cleared the route cache): virtual host by the authority, then the
   * first route that matches the headers and dynamic metadata as the filters left them. A changed route gets its own
   * weighted pick and is recorded in the context. Returns the filters of the (maybe new) route.
   */
  private HttpFilter[] reselect(FilterContext c, HttpFilter[] current) {
    VirtualHostConfig vh = routes.virtualHost(c.head.authority());
    RouteEntry route = vh == null ? null : routes.route(vh, c.head, c.metadata);
    if (route == c.route && vh == c.virtualHost) {
      return current;
    }
    RouteAction.WeightedCluster picked = null;
    if (route != null && route.action() instanceof RouteAction.Forward f) {
      picked = f.clusters().size() == 1 ? f.clusters().getFirst()
          : WeightedPick.pick(f, java.util.concurrent.ThreadLocalRandom.current().nextInt(f.totalWeight()));
    }
    c.route = route;
    c.virtualHost = vh;
    c.upstreamCluster = picked == null ? null : picked.name();
    c.rerouted(route, vh, picked);
    return chainFor(route, vh);
  }

  /**
   * Runs {@code chain} from {@code from} until a filter replies locally, or asks for an external check: then the
   * filters after it wait for the check ({@link FilterContext#checkExternally}), kept in the context. After a filter
   * that cleared the route cache, {@code owner} chooses the route again and the rest runs from the new route's
   * filters (every route's filters are the listener's, in the same order). A null owner (the filters after an
   * external check, run once the request is routed and balanced) cannot choose again: the request is answered
   * locally ({@link #ROUTE_CLEARED_AFTER_CHECK}, 500, flag NR) rather than sent where the headers before the filter
   * chose. Translation refuses the configs that lead there (jwt_authn's clear_route_cache after ext_authz or
   * ratelimit), so this is a guard, not a path a valid config takes.
   */
  private static void runFrom(HttpFilter[] chain, int from, FilterContext context, FilterChain owner) {
    for (int i = from; i < chain.length; i++) {
      chain[i].onRequest(context);
      if (context.hasLocalReply()) {
        return;
      }
      if (context.takeRouteCacheCleared()) {
        if (owner == null) {
          context.localReply(500, ROUTE_CLEARED_AFTER_CHECK, null, ResponseFlag.NR);
          return;
        }
        chain = owner.reselect(context, chain);
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
    runFrom(p.rest(), p.from(), context, null);
    context.clearInputs();
  }
}
