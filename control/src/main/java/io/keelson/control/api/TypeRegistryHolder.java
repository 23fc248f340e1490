package io.keelson.control.api;

import com.google.protobuf.TypeRegistry;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;

/** The Any types the control plane packs, so proxy-config can print them as JSON. Immutable. */
final class TypeRegistryHolder {
  static final TypeRegistry REGISTRY = TypeRegistry.newBuilder()
      .add(HttpConnectionManager.getDescriptor())
      .add(Router.getDescriptor())
      .build();

  private TypeRegistryHolder() {}
}
