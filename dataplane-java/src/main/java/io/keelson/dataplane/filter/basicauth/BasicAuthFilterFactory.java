package io.keelson.dataplane.filter.basicauth;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.filters.http.basic_auth.v3.BasicAuth;
import io.envoyproxy.envoy.extensions.filters.http.basic_auth.v3.BasicAuthPerRoute;
import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.config.envoy.DataSources;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.HttpFilterFactory;
import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code envoy.filters.http.basic_auth}: BasicAuth's users (htpasswd from inline text or a file, read once at config
 * load), forward_username_header and authentication_header; a route's or virtual host's BasicAuthPerRoute replaces the
 * users only (the header settings stay the listener's, as in Envoy). Counters {@code http.<stat_prefix>.basic_auth.
 * allowed / denied}, shared by the connection manager's filters. Stateless.
 */
public final class BasicAuthFilterFactory implements HttpFilterFactory {
  @Override
  public String filterName() {
    return "envoy.filters.http.basic_auth";
  }

  @Override
  public Class<? extends Message> configType() {
    return BasicAuth.class;
  }

  @Override
  public Class<? extends Message> perRouteConfigType() {
    return BasicAuthPerRoute.class;
  }

  @Override
  public Object translate(Message config, String path, ConfigErrors errors) {
    BasicAuth c = (BasicAuth) config;
    Htpasswd users = users(c.getUsers(), path + ".users", errors);
    boolean ok = headerName(c.getForwardUsernameHeader(), path + ".forward_username_header", errors);
    ok &= headerName(c.getAuthenticationHeader(), path + ".authentication_header", errors);
    if (users == null || !ok) {
      return null;
    }
    String credential = lowerOrNull(c.getAuthenticationHeader());
    return new BasicAuthConfig(users, lowerOrNull(c.getForwardUsernameHeader()),
        credential == null ? BasicAuthConfig.AUTHORIZATION : credential);
  }

  @Override
  public Object translatePerRoute(Message config, String path, ConfigErrors errors) {
    BasicAuthPerRoute c = (BasicAuthPerRoute) config;
    if (!c.hasUsers()) {
      errors.error(path + ".users", "required (Envoy requires it): the route's htpasswd users");
      return null;
    }
    return users(c.getUsers(), path + ".users", errors);
  }

  @Override
  public HttpFilter createOverride(Object listenerSettings, Object settings, FilterResources resources) {
    return create(((BasicAuthConfig) listenerSettings).withUsers((Htpasswd) settings), resources);
  }

  @Override
  public HttpFilter create(Object settings, FilterResources resources) {
    String p = "http." + resources.statPrefix() + ".basic_auth.";
    LongAdder allowed = resources.stats().counter(p + "allowed");
    LongAdder denied = resources.stats().counter(p + "denied");
    return new BasicAuthFilter((BasicAuthConfig) settings, allowed, denied);
  }

  private static Htpasswd users(DataSource source, String path, ConfigErrors errors) {
    String text = source.getSpecifierCase() == DataSource.SpecifierCase.SPECIFIER_NOT_SET ? ""
        : DataSources.text(source, path, errors);
    if (text == null) {
      return null;
    }
    String at = path + (source.hasFilename() ? " (" + source.getFilename() + ")" : "");
    return Htpasswd.parse(text, at, errors);
  }

  /** Whether a header name field is empty (unset) or an HTTP token (Envoy's HTTP_HEADER_NAME rule); reports it otherwise. */
  private static boolean headerName(String name, String path, ConfigErrors errors) {
    if (name.isEmpty() || HeaderMutations.isToken(name)) {
      return true;
    }
    errors.error(path, "'" + name + "' is not a header name; expected token characters only (letters, digits, !#$%&'*+-.^_`|~)");
    return false;
  }

  private static String lowerOrNull(String name) {
    return name.isEmpty() ? null : name.toLowerCase(Locale.ROOT);
  }
}
