package io.keelson.dataplane.filter.rbac;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.HttpFilterFactory;
import io.keelson.dataplane.rbac.HttpRbacConfig;

/**
 * {@code envoy.filters.http.rbac}: translates the RBAC proto with {@link HttpRbacConfig} and compiles
 * {@link RbacFilter}. Stateless.
 */
public final class RbacFilterFactory implements HttpFilterFactory {
  @Override
  public String filterName() {
    return HttpRbacConfig.FILTER_NAME;
  }

  @Override
  public Class<? extends Message> configType() {
    return RBAC.class;
  }

  @Override
  public Object translate(Message config, String path, ConfigErrors errors) {
    try {
      return HttpRbacConfig.from((RBAC) config);
    } catch (ConfigException e) {
      errors.error(path, e.getMessage());
      return null;
    }
  }

  @Override
  public HttpFilter create(Object settings, FilterResources resources) {
    return new RbacFilter((HttpRbacConfig) settings);
  }
}
