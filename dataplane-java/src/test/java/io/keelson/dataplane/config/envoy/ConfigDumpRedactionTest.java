package io.keelson.dataplane.config.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The admin config dump never shows an inline private key (an ingress gateway's arrive inline), as Envoy's. */
class ConfigDumpRedactionTest {
  private static TransportSocket tls(com.google.protobuf.Message context) {
    return TransportSocket.newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(context)).build();
  }

  private static CommonTlsContext common(DataSource key) {
    return CommonTlsContext.newBuilder().addTlsCertificates(TlsCertificate.newBuilder()
        .setCertificateChain(DataSource.newBuilder().setInlineString("-----BEGIN CERTIFICATE-----\nCERT\n"))
        .setPrivateKey(key)).build();
  }

  @Test
  void inlinePrivateKeysAreRedactedAndTheRestIsShown() {
    String pem = "-----BEGIN PRIVATE KEY-----\nTOP\"SECRET\\KEY\n-----END PRIVATE KEY-----\n";
    Listener listener = Listener.newBuilder().setName("0.0.0.0_443").addFilterChains(FilterChain.newBuilder()
        .setTransportSocket(tls(DownstreamTlsContext.newBuilder()
            .setCommonTlsContext(common(DataSource.newBuilder().setInlineString(pem).build())).build()))).build();
    Cluster bytes = Cluster.newBuilder().setName("upstream").setTransportSocket(tls(UpstreamTlsContext.newBuilder()
        .setCommonTlsContext(common(DataSource.newBuilder()
            .setInlineBytes(com.google.protobuf.ByteString.copyFromUtf8("BYTES-SECRET")).build())).build())).build();
    Cluster file = Cluster.newBuilder().setName("from-file").setTransportSocket(tls(UpstreamTlsContext.newBuilder()
        .setCommonTlsContext(common(DataSource.newBuilder().setFilename("/etc/certs/key.pem").build())).build())).build();

    String dump = XdsSnapshotTranslator.configDump("v1", List.of(listener), List.of(), List.of(bytes, file), List.of());

    assertThat(dump).doesNotContain("SECRET").doesNotContain(
        java.util.Base64.getEncoder().encodeToString("BYTES-SECRET".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    assertThat(dump.split(java.util.regex.Pattern.quote("\"private_key\":{\"inline_string\":\"[redacted]\"}"), -1))
        .hasSize(3); // both inline keys
    assertThat(dump).contains("CERT").contains("/etc/certs/key.pem").contains("0.0.0.0_443");
    // Still JSON: the admin endpoint serves it as is.
    assertThat(com.google.gson.JsonParser.parseString(dump).getAsJsonObject().get("clusters").getAsJsonArray()).hasSize(2);
  }
}
