package io.keelson.dataplane.filter.extauthz;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * The gRPC framing of {@code envoy.service.auth.v3.Authorization/Check}, shared by the HTTP and the network ext_authz
 * filters: the unary call's HTTP/2 request (length-prefixed, uncompressed CheckRequest; {@code grpc-timeout} from the
 * filter's timeout) and the CheckResponse of an answer (null for a failed call). Stateless.
 */
final class GrpcCheckCall {
  static final String PATH = "/envoy.service.auth.v3.Authorization/Check";

  private GrpcCheckCall() {}

  static FullHttpRequest request(CheckRequest check, String authority, long timeoutNanos) {
    byte[] message = check.toByteArray();
    ByteBuf body = Unpooled.buffer(5 + message.length);
    body.writeByte(0).writeInt(message.length).writeBytes(message); // gRPC length-prefixed message, uncompressed
    FullHttpRequest call = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, PATH, body);
    call.headers().set("host", authority).set("content-type", "application/grpc").set("te", "trailers")
        .set("grpc-timeout", Math.max(1, timeoutNanos / 1_000_000) + "m")
        .set("content-length", Integer.toString(body.readableBytes()));
    return call;
  }

  /** The answer's CheckResponse, or null when the call failed (HTTP status, grpc-status other than 0, bad message). */
  static CheckResponse response(UpstreamCalls.Response response) {
    String grpcStatus = response.trailers().get("grpc-status");
    if (grpcStatus == null) {
      grpcStatus = response.headers().get("grpc-status"); // trailers-only answer
    }
    if (response.status() != 200 || !"0".equals(grpcStatus) || response.body().length < 5) {
      return null;
    }
    ByteBuffer b = ByteBuffer.wrap(response.body());
    byte compressed = b.get();
    int length = b.getInt();
    if (compressed != 0 || length != b.remaining()) {
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
