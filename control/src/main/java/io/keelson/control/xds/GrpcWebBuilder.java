package io.keelson.control.xds;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.extensions.filters.http.grpc_web.v3.GrpcWeb;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.keelson.control.policy.Policy;
import java.util.Collection;

/**
 * envoy.filters.http.grpc_web where istiod puts it: in the HTTP connection managers that serve a port whose protocol
 * is GRPC-Web (a Service or ServiceEntry port named {@code grpc-web*}, or with protocol / appProtocol {@code GRPC-Web}), sidecar
 * inbound and outbound alike, after the authentication and authorization filters and before fault, CORS and the
 * router. Its config has no fields; the filter leaves every request that is not gRPC-Web untouched, so one shared
 * outbound connection manager runs it for all its services once any of them is GRPC-Web. Stateless.
 */
final class GrpcWebBuilder {
  static final String FILTER = "envoy.filters.http.grpc_web";
  static final HttpFilter FILTER_ENTRY = HttpFilter.newBuilder().setName(FILTER)
      .setTypedConfig(Any.pack(GrpcWeb.getDefaultInstance())).build();

  private GrpcWebBuilder() {}

  /** True when one of {@code services} has a GRPC-Web port: {@code port}, or any port when {@code port} is negative. */
  static boolean anyOn(Collection<Policy.Service> services, int port) {
    for (Policy.Service svc : services) {
      for (int p : svc.ports()) {
        if ((port < 0 || p == port) && svc.protocol(p) == Policy.Protocol.GRPC_WEB) {
          return true;
        }
      }
    }
    return false;
  }

  /** True when one of {@code entries} has a GRPC-Web port: {@code port}, or any port when {@code port} is negative. */
  static boolean anyEntryOn(Collection<Policy.ServiceEntry> entries, int port) {
    for (Policy.ServiceEntry e : entries) {
      for (Policy.EntryPort p : e.ports()) {
        if ((port < 0 || p.number() == port) && p.protocol() == Policy.Protocol.GRPC_WEB) {
          return true;
        }
      }
    }
    return false;
  }
}
