package io.keelson.dataplane.security;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * A key manager that answers every handshake with the {@link CertificateSource}'s current
 * certificate. Plug it into a Netty {@code SslContextBuilder.forServer(keyManager)} / {@code
 * keyManager(...)} (JDK or OpenSSL provider): rotation then needs no new SslContext, new handshakes
 * pick up the new key and chain, and established connections are untouched. Thread-safe (reads one
 * volatile per call; key and chain come from the same generation).
 */
public final class RotatingKeyManager extends X509ExtendedKeyManager {
  static final String ALIAS = "workload";
  private final CertificateSource source;

  public RotatingKeyManager(CertificateSource source) {
    this.source = source;
  }

  // Generations handed out lately: a handshake that chose an alias just before a rotation still gets
  // the key and the chain of the same generation. Benign races: both fields only move forward.
  private volatile WorkloadCertificate lastHanded;
  private volatile WorkloadCertificate previousHanded;

  // The alias names a generation, so a handshake that asks for key and chain separately gets a matching pair.
  private String alias() {
    WorkloadCertificate c = source.current();
    if (c == null) {
      return null;
    }
    if (c != lastHanded) {
      previousHanded = lastHanded;
      lastHanded = c;
    }
    return alias(c);
  }

  private static String alias(WorkloadCertificate c) {
    return ALIAS + ":" + Integer.toHexString(System.identityHashCode(c));
  }

  private WorkloadCertificate forAlias(String alias) {
    if (alias == null) {
      return null;
    }
    for (WorkloadCertificate c : new WorkloadCertificate[] {source.current(), lastHanded, previousHanded}) {
      if (c != null && alias(c).equals(alias)) {
        return c;
      }
    }
    return null;
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    String a = alias();
    return a == null ? null : new String[] {a};
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return alias();
  }

  @Override
  public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
    return alias();
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    String a = alias();
    return a == null ? null : new String[] {a};
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return alias();
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return alias();
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    WorkloadCertificate c = forAlias(alias);
    return c == null ? null : c.chain().toArray(X509Certificate[]::new);
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    WorkloadCertificate c = forAlias(alias);
    return c == null ? null : c.key();
  }
}
