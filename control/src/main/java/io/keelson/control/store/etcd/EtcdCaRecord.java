package io.keelson.control.store.etcd;

import io.keelson.control.ca.Pem;
import java.security.MessageDigest;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;

/**
 * Keeps every replica on one mesh CA: the first replica to start records its trust bundle (the root certificates,
 * PEM; never a private key) under {@code PREFIX/ca/roots.pem} with a create-if-absent txn, and every later replica
 * must present the same roots or is refused at start with both fingerprints and the flags to fix. Called once, on
 * the starting thread.
 */
public final class EtcdCaRecord {
  private EtcdCaRecord() {}

  public static String key(String prefix) {
    return prefix + "ca/roots.pem";
  }

  /**
   * Records {@code roots} when no replica has, else checks they are the recorded ones.
   *
   * @throws EtcdException when etcd cannot be reached, or this replica's roots differ from the recorded ones (the
   *                       message names the key, both SHA-256 fingerprints and what to do)
   */
  public static void recordOrCheck(EtcdClient client, String prefix, List<X509Certificate> roots)
      throws EtcdException {
    String mine = Pem.encode(roots);
    String recorded = client.putIfAbsent(key(prefix), mine);
    if (recorded == null || recorded.equals(mine)) {
      return;
    }
    String theirs;
    try {
      theirs = fingerprints(Pem.certificates(recorded));
    } catch (CertificateException | RuntimeException e) {
      throw new EtcdException("etcd key " + key(prefix) + " does not hold PEM certificates (" + e.getMessage()
          + "); delete it to let the next replica record its CA root");
    }
    if (theirs.equals(fingerprints(roots))) {
      return; // same certificates, PEM text differs only in layout
    }
    throw new EtcdException("this replica's mesh CA root (SHA-256 " + fingerprints(roots)
        + ") differs from the one the other replicas use, recorded in etcd at " + key(prefix) + " (SHA-256 " + theirs
        + "): certificates from this replica would not be trusted by sidecars of the others. Start every replica on"
        + " this etcd prefix with the same --ca-cert/--ca-key (or, with the self-signed root, copy DATA_DIR/ca from"
        + " the first replica); to move the whole mesh to a new CA, delete that key first");
  }

  static String fingerprints(List<X509Certificate> certs) {
    StringBuilder b = new StringBuilder();
    for (X509Certificate c : certs) {
      try {
        b.append(b.isEmpty() ? "" : ",").append(HexFormat.ofDelimiter(":").withUpperCase()
            .formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded())));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
    return b.toString();
  }
}
