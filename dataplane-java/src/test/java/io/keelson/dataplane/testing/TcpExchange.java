package io.keelson.dataplane.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/** One client exchange with a TCP listener on 127.0.0.1 (plaintext or TLS with SNI), for echo peers. Stateless. */
public final class TcpExchange {
  /** What an exchange returns when the proxy closed or reset the connection instead of relaying. */
  public static final String CLOSED = "<closed>";

  private TcpExchange() {}

  /** Sends, half-closes and reads everything; {@link #CLOSED} when the proxy reset the connection. */
  public static String plain(int port, String send) throws Exception {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setSoTimeout(10_000);
      try {
        s.getOutputStream().write(send.getBytes(StandardCharsets.US_ASCII));
        s.shutdownOutput(); // half-close: an echo server answers "|bye" only after our FIN
        return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      } catch (SocketException e) {
        return CLOSED; // reset: the proxy closed with our bytes unread
      }
    }
  }

  /**
   * A TLS handshake asking for {@code sni}, then "hi" and the 4-byte echo.
   *
   * @return the certificate the client saw and the echo; the echo is {@link #CLOSED} (and the
   *         subject null when the handshake failed) when the proxy closed instead of relaying
   */
  public static TlsReply tls(SSLContext client, int port, String sni) throws Exception {
    try (SSLSocket s = (SSLSocket) client.getSocketFactory().createSocket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      SSLParameters params = s.getSSLParameters();
      params.setServerNames(sni == null ? List.of() : List.of(new SNIHostName(sni))); // null: no SNI
      s.setSSLParameters(params);
      String subject = null;
      try {
        s.startHandshake();
        subject = ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
        s.getOutputStream().write("hi".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        byte[] reply = s.getInputStream().readNBytes(4);
        return new TlsReply(subject, reply.length == 4 ? new String(reply, StandardCharsets.US_ASCII) : CLOSED);
      } catch (IOException e) {
        return new TlsReply(subject, CLOSED);
      }
    }
  }

  /** @param peerSubject the subject of the certificate the proxy presented, or null when the handshake failed */
  public record TlsReply(String peerSubject, String echo) {}
}
