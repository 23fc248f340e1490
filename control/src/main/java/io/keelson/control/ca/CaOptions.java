package io.keelson.control.ca;

import java.nio.file.Path;
import java.time.Duration;

/**
 * How the control plane gets its CA. Immutable.
 *
 * @param trustDomain  the SPIFFE trust domain (Istio's default: {@code cluster.local})
 * @param workloadTtl  lifetime of workload certificates
 * @param certFile     an operator-provided CA certificate (PEM; optionally followed by its issuers), or null for a
 *                     self-signed root kept in {@code dataDir}
 * @param keyFile      the private key of {@code certFile} (PEM), required with it
 * @param rootFile     the root that {@code certFile}'s chain ends at, when that file does not include it; or null
 * @param dataDir      where a generated root is persisted ({@code DIR/ca/}), or null to keep it in memory only
 */
public record CaOptions(String trustDomain, Duration workloadTtl, Path certFile, Path keyFile, Path rootFile,
    Path dataDir) {
  public static final String DEFAULT_TRUST_DOMAIN = "cluster.local";

  public static CaOptions selfSigned(Path dataDir) {
    return new CaOptions(DEFAULT_TRUST_DOMAIN, MeshCa.DEFAULT_WORKLOAD_TTL, null, null, null, dataDir);
  }

  public CaOptions withTrustDomain(String td) {
    return new CaOptions(td, workloadTtl, certFile, keyFile, rootFile, dataDir);
  }

  public CaOptions withWorkloadTtl(Duration ttl) {
    return new CaOptions(trustDomain, ttl, certFile, keyFile, rootFile, dataDir);
  }
}
