package io.keelson.control.xds;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession;
import io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState;
import io.envoyproxy.envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState;
import io.keelson.control.policy.Policy;
import java.util.Collection;

/**
 * Istio's persistent sessions ({@code istio.io/persistent-session} / {@code -header} Service labels) as istiod emits
 * them: the outbound and gateway connection managers carry {@value #FILTER} with an empty {@link StatefulSession}
 * before the router, and the labelled service's virtual host overrides it with a {@link StatefulSessionPerRoute}
 * (a session cookie, no ttl, or the header). On gateways, each route whose backends are the labelled service carries it
 * (istiod sets it on a gateway virtual host only when the host is the service's own name). Unlike istiod, no {@code PILOT_ENABLE_PERSISTENT_SESSION_FILTER} is
 * needed: the filter is added only to proxies that see a labelled service. Stateless.
 */
final class PersistentSessions {
  static final String FILTER = "envoy.filters.http.stateful_session";
  static final HttpFilter FILTER_ENTRY = HttpFilter.newBuilder().setName(FILTER)
      .setTypedConfig(Any.pack(StatefulSession.getDefaultInstance())).build();

  private PersistentSessions() {}

  /** True when one of {@code services} has a persistent session (then the connection managers need the filter). */
  static boolean anyOn(Collection<Policy.Service> services) {
    return services.stream().anyMatch(s -> s.session() != null);
  }

  /** The per-route (here per virtual host) config of a service's session. */
  static Any perRoute(Policy.PersistentSession s) {
    TypedExtensionConfig state = s.cookie() != null
        ? TypedExtensionConfig.newBuilder().setName("envoy.http.stateful_session.cookie")
            .setTypedConfig(Any.pack(CookieBasedSessionState.newBuilder()
                .setCookie(io.envoyproxy.envoy.type.http.v3.Cookie.newBuilder().setName(s.cookie()).setPath(s.path()))
                .build())).build()
        : TypedExtensionConfig.newBuilder().setName("envoy.http.stateful_session.header")
            .setTypedConfig(Any.pack(HeaderBasedSessionState.newBuilder().setName(s.header()).build())).build();
    return Any.pack(StatefulSessionPerRoute.newBuilder()
        .setStatefulSession(StatefulSession.newBuilder().setSessionState(state)).build());
  }

  /**
   * The session of a gateway route's backends: their one service's (or services' one shared) session, else null (no
   * backend with one, or backends with different ones: the route balances as it would without).
   */
  static Policy.PersistentSession ofRule(Policy.Rule rule, io.keelson.control.store.PolicySet state) {
    Policy.PersistentSession out = null;
    for (Policy.Backend b : rule.backends()) {
      Policy.Service svc = state.service(b.service());
      Policy.PersistentSession s = svc == null ? null : svc.session();
      if (s == null || out != null && !out.equals(s)) {
        return null;
      }
      out = s;
    }
    return out;
  }
}
