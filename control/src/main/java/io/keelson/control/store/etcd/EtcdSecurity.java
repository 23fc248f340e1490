package io.keelson.control.store.etcd;

import io.keelson.control.ca.Pem;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * How a replica proves itself to etcd and checks etcd's certificate, as etcdctl's flags say it: {@code --cacert}
 * (the CA that signed etcd's serving certificate; null: the JDK's default trust), {@code --cert}/{@code --key} (a
 * client certificate for etcd's {@code --client-cert-auth}; both or neither) and {@code --user} with a password read
 * from a file (etcd's role-based auth: the replica trades them for a token at {@code /v3/auth/authenticate}).
 * Files are read when {@link #sslContext} or {@link #password} is called; every error names the file and the flag.
 * Immutable.
 */
public record EtcdSecurity(Path caFile, Path certFile, Path keyFile, String user, Path passwordFile) {
  /** Plain http endpoints, no auth. */
  public static final EtcdSecurity NONE = new EtcdSecurity(null, null, null, null, null);

  public EtcdSecurity {
    if ((certFile == null) != (keyFile == null)) {
      throw new IllegalArgumentException(certFile == null
          ? "--etcd-key needs --etcd-cert (the client certificate that goes with the key)"
          : "--etcd-cert needs --etcd-key (the client certificate's private key)");
    }
    if ((user == null) != (passwordFile == null)) {
      throw new IllegalArgumentException(user == null
          ? "--etcd-password-file needs --etcd-user (the etcd user whose password it holds)"
          : "--etcd-user needs --etcd-password-file (a file holding that user's password)");
    }
    if (user != null && (user.isBlank() || user.contains(":"))) {
      throw new IllegalArgumentException("--etcd-user '" + user + "': expected an etcd user name (not empty, no ':')");
    }
  }

  /** Whether any TLS setting was given (they need https endpoints). */
  public boolean hasTlsFiles() {
    return caFile != null || certFile != null;
  }

  public boolean hasAuth() {
    return user != null;
  }

  /**
   * The TLS context for https endpoints: trusting {@link #caFile} (or the JDK's defaults), presenting the client
   * certificate when one is set.
   *
   * @throws IOException naming the file (and the flag) that is missing or not what was expected
   */
  public SSLContext sslContext() throws IOException {
    try {
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      if (caFile == null) {
        tmf.init((KeyStore) null);
      } else {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        int i = 0;
        for (X509Certificate c : certificates(caFile, "--etcd-cacert")) {
          trust.setCertificateEntry("ca-" + i++, c);
        }
        tmf.init(trust);
      }
      KeyManagerFactory kmf = null;
      if (certFile != null) {
        List<X509Certificate> chain = certificates(certFile, "--etcd-cert");
        PrivateKey key;
        if (!Files.isReadable(keyFile)) {
          throw new IOException("--etcd-key " + keyFile + ": no such file or not readable");
        }
        try {
          key = Pem.privateKey(keyFile);
        } catch (IOException e) {
          throw new IOException("--etcd-key " + e.getMessage(), e);
        }
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        char[] none = new char[0];
        keys.setKeyEntry("client", key, none, chain.toArray(new X509Certificate[0]));
        kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, none);
      }
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new IOException("etcd TLS settings (--etcd-cacert, --etcd-cert, --etcd-key): " + e.getMessage(), e);
    }
  }

  /** The password: the file's content without its trailing line break. */
  public String password() throws IOException {
    String text;
    try {
      text = Files.readString(passwordFile, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IOException("--etcd-password-file " + passwordFile + ": cannot read it (" + e.getMessage() + ")", e);
    }
    text = text.stripTrailing();
    if (text.isEmpty()) {
      throw new IOException("--etcd-password-file " + passwordFile + ": empty; expected the password of etcd user '"
          + user + "'");
    }
    return text;
  }

  private static List<X509Certificate> certificates(Path file, String flag) throws IOException {
    if (!Files.isReadable(file)) {
      throw new IOException(flag + " " + file + ": no such file or not readable");
    }
    try {
      return Pem.certificates(file);
    } catch (IOException e) {
      throw new IOException(flag + " " + e.getMessage(), e);
    }
  }
}
