package io.keelson.dataplane.filter.extauthz;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.netty.handler.codec.http.FullHttpRequest;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * {@code envoy.service.auth.v3.Authorization/Check} as a unary gRPC call ({@link io.keelson.dataplane.filter.GrpcUnary}'s
 * framing), shared by the HTTP and the network ext_authz filters: the request for a CheckRequest and the CheckResponse
 * of an answer (null for a failed call). Stateless.
 */
final class GrpcCheckCall {
  static final String PATH = "/envoy.service.auth.v3.Authorization/Check";

  private GrpcCheckCall() {}

  static FullHttpRequest request(CheckRequest check, String authority, long timeoutNanos) {
    return io.keelson.dataplane.filter.GrpcUnary.request(PATH, authority, timeoutNanos, check.toByteArray());
  }

  /** The answer's CheckResponse, or null when the call failed (HTTP status, grpc-status other than 0, bad message). */
  static CheckResponse response(UpstreamCalls.Response response) {
    ByteBuffer b = io.keelson.dataplane.filter.GrpcUnary.message(response);
    if (b == null) {
      return null;
    }
    try {
      return CheckResponse.parseFrom(b);
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  static Address address(InetSocketAddress a) {
    return Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
        .setAddress(a.getAddress().getHostAddress()).setPortValue(a.getPort())).build();
  }
}
