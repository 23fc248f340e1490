package io.keelson.dataplane.filter.grpcweb;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.extensions.filters.http.grpc_web.v3.GrpcWeb;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.HttpFilterFactory;

/**
 * {@code envoy.filters.http.grpc_web}: GrpcWeb has no fields, so every listener shares one {@link GrpcWebFilter}.
 * The filter only marks gRPC-Web requests; the bridging itself is {@link GrpcWebUpstreamCodec}, in the upstream
 * HTTP/2 stream's pipeline. Stateless.
 */
public final class GrpcWebFilterFactory implements HttpFilterFactory {
  private static final Object SETTINGS = new Object();

  @Override
  public String filterName() {
    return "envoy.filters.http.grpc_web";
  }

  @Override
  public Class<? extends Message> configType() {
    return GrpcWeb.class;
  }

  @Override
  public Object translate(Message config, String path, ConfigErrors errors) {
    return SETTINGS; // GrpcWeb has no fields
  }

  @Override
  public HttpFilter create(Object settings, FilterResources resources) {
    return GrpcWebFilter.INSTANCE;
  }
}
