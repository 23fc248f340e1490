package io.keelson.dataplane.filter.statefulsession;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute;
import io.envoyproxy.envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState;
import io.envoyproxy.envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.HttpFilterFactory;
import io.keelson.dataplane.filter.PerRouteOverride;

/**
 * {@code envoy.filters.http.stateful_session} with the cookie and header session states. The filter only hands its
 * config and the request's encoded host to the balance stage ({@link io.keelson.dataplane.filter.FilterContext#stickTo});
 * the balance stage picks that host when the cluster has it and may use it, and writes the cookie or header when the
 * host changes. Stateless.
 */
public final class StatefulSessionFilterFactory implements HttpFilterFactory {
  static final String COOKIE = "envoy.http.stateful_session.cookie";
  static final String HEADER = "envoy.http.stateful_session.header";
  private static final StatefulSession EMPTY = new StatefulSession(null, false);

  @Override
  public String filterName() {
    return "envoy.filters.http.stateful_session";
  }

  @Override
  public Class<? extends Message> configType() {
    return io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession.class;
  }

  @Override
  public Class<? extends Message> perRouteConfigType() {
    return StatefulSessionPerRoute.class;
  }

  @Override
  public Object translate(Message config, String path, ConfigErrors errors) {
    var s = (io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession) config;
    if (!s.hasSessionState()) {
      return s.getStrict() ? new StatefulSession(null, true) : EMPTY;
    }
    SessionState state = sessionState(s.getSessionState(), path + ".session_state", errors);
    return state == null ? null : new StatefulSession(state, s.getStrict());
  }

  @Override
  public Object translatePerRoute(Message config, String path, ConfigErrors errors) {
    var r = (StatefulSessionPerRoute) config;
    return PerRouteOverride.translate(r.getOverrideCase().name(), r.getDisabled(), "stateful_session",
        () -> translate(r.getStatefulSession(), path + ".stateful_session", errors), path, errors);
  }

  @Override
  public HttpFilter create(Object settings, FilterResources resources) {
    if (settings == PerRouteOverride.DISABLED || ((StatefulSession) settings).state() == null) {
      return context -> {};
    }
    StatefulSession session = (StatefulSession) settings;
    SessionState state = session.state();
    return context -> context.stickTo(session, state.requestValue(context.head));
  }

  private static SessionState sessionState(io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig ext, String path,
      ConfigErrors errors) {
    Any any = ext.getTypedConfig();
    String type = any.getTypeUrl().substring(any.getTypeUrl().lastIndexOf('/') + 1);
    try {
      if (type.equals(CookieBasedSessionState.getDescriptor().getFullName())) {
        return cookie(any.unpack(CookieBasedSessionState.class), path + ".typed_config", errors);
      }
      if (type.equals(HeaderBasedSessionState.getDescriptor().getFullName())) {
        String name = any.unpack(HeaderBasedSessionState.class).getName();
        if (name.isEmpty() || !io.keelson.dataplane.http1.codec.Http1Headers.isFieldName(name)) {
          errors.error(path + ".typed_config.name", "\"" + name + "\" is not a header name");
          return null;
        }
        String reserved = SessionState.Header.reservedProblem(name);
        if (reserved != null) {
          errors.error(path + ".typed_config.name", "\"" + name + "\" " + reserved + "; expected a header of its own"
              + " such as x-session-host");
          return null;
        }
        return new SessionState.Header(name.toLowerCase(java.util.Locale.ROOT));
      }
    } catch (InvalidProtocolBufferException e) {
      errors.error(path + ".typed_config", "cannot read " + type + ": " + e.getMessage());
      return null;
    }
    errors.error(path + ".typed_config", "session state " + (type.isEmpty() ? "(none)" : type) + " is not supported; expected "
        + CookieBasedSessionState.getDescriptor().getFullName() + " (" + COOKIE + ") or "
        + HeaderBasedSessionState.getDescriptor().getFullName() + " (" + HEADER + ")");
    return null;
  }

  private static SessionState cookie(CookieBasedSessionState c, String path, ConfigErrors errors) {
    var cookie = c.getCookie();
    if (!c.hasCookie() || cookie.getName().isEmpty()) {
      errors.error(path + ".cookie.name", "a cookie name is required");
      return null;
    }
    if (!io.keelson.dataplane.http1.codec.Http1Headers.isFieldName(cookie.getName())) {
      errors.error(path + ".cookie.name", "\"" + cookie.getName() + "\" is not a cookie name (RFC 6265 token)");
      return null;
    }
    if (cookie.getTtl().getSeconds() < 0 || cookie.getTtl().getNanos() < 0) {
      errors.error(path + ".cookie.ttl", "expected a ttl of 0 or more");
      return null;
    }
    return new SessionState.Cookie(cookie.getName(), cookie.getPath(), cookie.getTtl().getSeconds());
  }
}
