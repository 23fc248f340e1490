package io.keelson.dataplane.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.keelson.dataplane.testing.TestCa;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCounted;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The BoringSSL engine choice measured in docs/security.md (benchmark). */
class TlsEnginesTest {
  @TempDir
  static Path dir;
  static Path cert;
  static Path key;

  @BeforeAll
  static void certificates() throws Exception {
    TestCa ca = new TestCa("engines-ca");
    cert = ca.issue("proxy.test", "localhost").write(dir, "server");
    key = dir.resolve("server.key");
  }

  @AfterEach
  void clearProperties() {
    System.clearProperty(TlsEngines.PROPERTY);
  }

  private static DownstreamTlsConfig config() {
    return new DownstreamTlsConfig(PemSource.file(cert.toString()), PemSource.file(key.toString()), null, false, List.of(),
        TlsParams.DEFAULT);
  }

  @Test
  void boringSslConnectionsGetTheReferenceCountedEngineWhichTheirHandlerFrees() throws Exception {
    assumeTrue(OpenSsl.isAvailable(), "tcnative");
    ServerTls tls = TlsContexts.server(config(), SslProvider.OPENSSL);
    assertThat(tls.provider()).as("what was asked for is what the record says").isEqualTo(SslProvider.OPENSSL);
    SslHandler h = tls.newHandler(ByteBufAllocator.DEFAULT);
    assertThat(h.engine().getClass().getSimpleName()).isEqualTo("ReferenceCountedOpenSslEngine");
    ReferenceCounted engine = (ReferenceCounted) h.engine();
    var channel = new io.netty.channel.embedded.EmbeddedChannel(h);
    assertThat(engine.refCnt()).isEqualTo(1);
    channel.pipeline().remove(h);
    assertThat(engine.refCnt()).as("the handler releases the engine when it leaves the pipeline").isZero();
    channel.finishAndReleaseAll();
  }

  @Test
  void theFinalizedEngineStaysAvailableByProperty() throws Exception {
    assumeTrue(OpenSsl.isAvailable(), "tcnative");
    System.setProperty(TlsEngines.PROPERTY, "finalized");
    ServerTls tls = TlsContexts.server(config(), SslProvider.OPENSSL);
    SslHandler h = tls.newHandler(ByteBufAllocator.DEFAULT);
    assertThat(h.engine().getClass().getSimpleName()).isEqualTo("OpenSslEngine");
    assertThat(TlsContexts.server(config(), SslProvider.JDK).newHandler(ByteBufAllocator.DEFAULT).engine().getClass().getName())
        .as("the JDK provider is left alone").doesNotContain("OpenSsl");
  }
}
