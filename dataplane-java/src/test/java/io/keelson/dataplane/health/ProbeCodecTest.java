package io.keelson.dataplane.health;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import org.junit.jupiter.api.Test;

/** The hand-encoded gRPC health messages match protobuf's, and status lines parse. */
class ProbeCodecTest {
  @Test
  void encodesTheRequestAsProtobufDoes() throws Exception {
    byte[] ours = GrpcProbe.CHECK.streamRequest("svc.v1").readAllBytes();
    assertThat(ours).isEqualTo(HealthCheckRequest.newBuilder().setService("svc.v1").build().toByteArray());
    assertThat(GrpcProbe.CHECK.streamRequest("").readAllBytes()).isEmpty();
  }

  @Test
  void decodesTheServingStatus() {
    for (HealthCheckResponse.ServingStatus s : new HealthCheckResponse.ServingStatus[] {
        HealthCheckResponse.ServingStatus.SERVING, HealthCheckResponse.ServingStatus.NOT_SERVING}) {
      assertThat(GrpcProbe.status(HealthCheckResponse.newBuilder().setStatus(s).build().toByteArray())).isEqualTo(s.getNumber());
    }
    assertThat(GrpcProbe.status(new byte[0])).isZero();
  }

  @Test
  void readsTheStatusOfAStatusLine() {
    assertThat(SocketProbe.status("HTTP/1.1 503 Service Unavailable")).isEqualTo(503);
    assertThat(SocketProbe.status("HTTP/1.0 200 OK")).isEqualTo(200);
    assertThat(SocketProbe.status("SSH-2.0")).isEqualTo(-1);
  }
}
