package io.keelson.dataplane.tls.offload;

import io.netty.handler.ssl.SslContext;
import io.netty.internal.tcnative.KeyLogCallback;
import io.netty.internal.tcnative.SSL;
import io.netty.internal.tcnative.SSLContext;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Captures the TLS 1.3 application traffic secrets BoringSSL derives for the connections that asked for them,
 * through its key-log callback ({@code SSL_CTX_set_keylog_callback}, via netty-tcnative's
 * {@code SSLContext.setKeyLogCallback}). BoringSSL calls it during the handshake with lines in NSS key-log
 * form ({@code CLIENT_TRAFFIC_SECRET_0 <client random hex> <secret hex>}); only connections registered with
 * {@link #expect} are kept, everything else is ignored, so nothing accumulates for connections nobody will
 * take over. Nothing is written anywhere.
 *
 * <p>Threading: {@link #handle} runs on the thread driving the handshake (the connection's event loop);
 * entries are per connection (keyed by the engine's {@code SSL*}) and the map is concurrent.
 */
public final class TrafficSecretLog implements KeyLogCallback {
  static final String CLIENT_TRAFFIC_SECRET_0 = "CLIENT_TRAFFIC_SECRET_0";
  static final String SERVER_TRAFFIC_SECRET_0 = "SERVER_TRAFFIC_SECRET_0";
  private final ConcurrentHashMap<Long, Secrets> bySsl = new ConcurrentHashMap<>();

  /**
   * Installs this log on a BoringSSL context. False when the context is not BoringSSL's or tcnative refuses the
   * callback. Connections of the context that are never {@link #expect}ed are not affected.
   */
  public boolean install(SslContext context) {
    long ctx = TcnativeContextHandle.of(context); // not sslCtxPointer(): see TcnativeContextHandle
    return ctx != 0 && SSLContext.setKeyLogCallback(ctx, this);
  }

  /**
   * Starts keeping the secrets of the connection whose engine is {@code ssl} (before its handshake) and turns
   * its session tickets off: a TLS 1.3 ticket is a record under the application key that the kernel would not
   * know was sent. Per connection because Netty's engine clears {@code SSL_OP_NO_TICKET} on each {@code SSL}
   * it creates, and tcnative's {@code SSLContext.setNumTickets} answers false on BoringSSL (2.0.84);
   * TrafficSecretLogTest checks that the first application record is then sequence 0.
   */
  public void expect(long ssl) {
    SSL.setOptions(ssl, SSL.SSL_OP_NO_TICKET);
    bySsl.put(ssl, new Secrets());
  }

  /** The secrets captured for {@code ssl} (complete or not), no longer kept here; null if not expected. */
  public Secrets take(long ssl) {
    return bySsl.remove(ssl);
  }

  /** Connections expected and not yet taken (for tests and leak checks). */
  public int pending() {
    return bySsl.size();
  }

  @Override
  public void handle(long ssl, byte[] line) {
    Secrets s = bySsl.get(ssl);
    if (s == null) {
      return;
    }
    String text = new String(line, StandardCharsets.US_ASCII).trim();
    int a = text.indexOf(' ');
    int b = a < 0 ? -1 : text.indexOf(' ', a + 1);
    if (b < 0) {
      return;
    }
    String label = text.substring(0, a);
    boolean client = label.equals(CLIENT_TRAFFIC_SECRET_0);
    if (!client && !label.equals(SERVER_TRAFFIC_SECRET_0)) {
      return;
    }
    try {
      byte[] random = HexFormat.of().parseHex(text, a + 1, b);
      byte[] secret = HexFormat.of().parseHex(text, b + 1, text.length());
      s.set(client, random, secret);
    } catch (IllegalArgumentException e) {
      // not hex: BoringSSL never writes that; ignore the line rather than fail a handshake
    }
  }

  /**
   * One connection's captured secrets: the ClientHello random they were logged under and the client/server
   * application traffic secrets (null until logged). Confined to the connection's event loop once taken.
   */
  public static final class Secrets {
    private volatile byte[] clientRandom;
    private volatile byte[] clientTraffic;
    private volatile byte[] serverTraffic;

    void set(boolean client, byte[] random, byte[] secret) {
      clientRandom = random;
      if (client) {
        clientTraffic = secret;
      } else {
        serverTraffic = secret;
      }
    }

    public byte[] clientRandom() {
      return clientRandom;
    }

    /** CLIENT_TRAFFIC_SECRET_0: what the client encrypts with (the server's receive direction). */
    public byte[] clientTraffic() {
      return clientTraffic;
    }

    /** SERVER_TRAFFIC_SECRET_0: what the server encrypts with (its transmit direction). */
    public byte[] serverTraffic() {
      return serverTraffic;
    }

    public boolean complete() {
      return clientTraffic != null && serverTraffic != null;
    }

    public void wipe() {
      if (clientTraffic != null) {
        java.util.Arrays.fill(clientTraffic, (byte) 0);
      }
      if (serverTraffic != null) {
        java.util.Arrays.fill(serverTraffic, (byte) 0);
      }
    }
  }
}
