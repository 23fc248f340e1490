package io.keelson.control.store.etcd;

import io.keelson.control.policy.PolicyException;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import io.keelson.control.xds.XdsServer;
import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * The etcd store of one control-plane replica: the policy store backed by etcd, the workload registry
 * and the watch that feeds both. {@link #connect} waits (bounded) for etcd and reads the policies;
 * {@link #follow} starts sharing registrations and watching once the xDS server exists. Also holds the shared join
 * tokens ({@link EtcdJoinTokens}) and the CA check ({@link EtcdCaRecord}). Thread-safe.
 */
public final class EtcdStore implements AutoCloseable {
  /**
   * @param endpoints    etcd's client URLs (the JSON gateway: {@code http://host:2379})
   * @param prefix       the key prefix every key lives under, ending in '/'
   * @param leaseTtl     TTL of this replica's registration lease
   * @param startTimeout how long start-up waits for etcd to answer
   * @param replicaId    this replica's name in the registration keys (unique per replica)
   * @param security     TLS files and the etcd user ({@link EtcdSecurity#NONE}: plain http, no auth)
   */
  public record Options(List<URI> endpoints, String prefix, Duration leaseTtl, Duration startTimeout,
      String replicaId, EtcdSecurity security) {
    public static final String DEFAULT_PREFIX = "/keelson/";
    public static final Duration DEFAULT_LEASE_TTL = Duration.ofSeconds(5);
    public static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(10);

    public Options {
      if (!prefix.endsWith("/")) {
        prefix = prefix + "/";
      }
      if (security == null) {
        security = EtcdSecurity.NONE;
      }
    }

    /** Plain http, no auth. */
    public Options(List<URI> endpoints, String prefix, Duration leaseTtl, Duration startTimeout, String replicaId) {
      this(endpoints, prefix, leaseTtl, startTimeout, replicaId, EtcdSecurity.NONE);
    }

    public static Options of(List<URI> endpoints) {
      return new Options(endpoints, DEFAULT_PREFIX, DEFAULT_LEASE_TTL, DEFAULT_START_TIMEOUT, defaultReplicaId());
    }

    public Options withPrefix(String p) {
      return new Options(endpoints, p, leaseTtl, startTimeout, replicaId, security);
    }

    public Options withLeaseTtl(Duration d) {
      return new Options(endpoints, prefix, d, startTimeout, replicaId, security);
    }

    public Options withStartTimeout(Duration d) {
      return new Options(endpoints, prefix, leaseTtl, d, replicaId, security);
    }

    public Options withSecurity(EtcdSecurity s) {
      return new Options(endpoints, prefix, leaseTtl, startTimeout, replicaId, s);
    }

    /** host-pid-random: unique among replicas, also across restarts (a restarted replica does not reuse keys). */
    public static String defaultReplicaId() {
      String host;
      try {
        host = java.net.InetAddress.getLocalHost().getHostName();
      } catch (java.io.IOException e) {
        host = "replica";
      }
      return (host + "-" + ProcessHandle.current().pid() + "-"
          + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong() & 0xffffffL))
          .replaceAll("[^A-Za-z0-9._-]", "-");
    }
  }

  public final PolicyStore store;
  private final Options options;
  private final EtcdClient client;
  private final EtcdPolicyBackend policies;
  private final EtcdJoinTokens joinTokens;
  private EtcdWorkloadRegistry registry;
  private EtcdWatchLoop watch;

  private EtcdStore(Options options, EtcdClient client, EtcdPolicyBackend policies, PolicyStore store) {
    this.options = options;
    this.client = client;
    this.policies = policies;
    this.store = store;
    this.joinTokens = new EtcdJoinTokens(client, options.prefix());
  }

  /** The join tokens every replica on this prefix shares. */
  public EtcdJoinTokens joinTokens() {
    return joinTokens;
  }

  /**
   * Records this replica's CA roots in etcd, or checks them against the recorded ones.
   *
   * @throws EtcdException when they differ (the message says what to do) or etcd cannot be reached
   */
  public void recordOrCheckCa(List<java.security.cert.X509Certificate> roots) throws EtcdException {
    EtcdCaRecord.recordOrCheck(client, options.prefix(), roots);
  }

  /**
   * Waits up to {@code startTimeout} for etcd, then reads the policies under the prefix. A refusal (a wrong password,
   * a missing permission, a TLS handshake etcd or this replica rejects) ends the wait at once.
   *
   * @throws EtcdException naming the endpoints when etcd did not answer in time, or what etcd refused
   * @throws IllegalArgumentException when a TLS file cannot be read (the message names it and its flag)
   */
  public static EtcdStore connect(Options o) throws EtcdException {
    EtcdClient client = new EtcdClient(o.endpoints(), Duration.ofSeconds(2), o.security());
    EtcdPolicyBackend backend = new EtcdPolicyBackend(client, o.prefix());
    long deadline = System.nanoTime() + o.startTimeout().toNanos();
    PolicySet initial;
    while (true) {
      try {
        client.get(o.prefix()); // reachable, authenticated and allowed to read the prefix?
        initial = backend.reload(PolicySet.EMPTY);
        break;
      } catch (EtcdException | PolicyException e) {
        if (e instanceof EtcdException ee && ee.refused()) {
          throw new EtcdException("etcd at " + o.endpoints() + " refused this replica: " + ee.getMessage(), ee);
        }
        if (System.nanoTime() > deadline) {
          throw new EtcdException("etcd at " + o.endpoints() + " did not answer within " + o.startTimeout().toSeconds()
              + "s (--etcd-endpoints); last error: " + (e instanceof PolicyException pe ? pe.errors().getFirst().reason()
              : e.getMessage()));
        }
        try {
          Thread.sleep(200);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new EtcdException("interrupted while waiting for etcd at " + o.endpoints(), ie);
        }
      }
    }
    PolicyStore store = new PolicyStore(backend, initial);
    backend.attach(store);
    return new EtcdStore(o, client, backend, store);
  }

  /** Shares {@code xds}'s registrations and starts watching the prefix (call before the xDS server starts). */
  public synchronized void follow(XdsServer xds) {
    registry = new EtcdWorkloadRegistry(client, options.prefix(), options.replicaId(), options.leaseTtl(), xds);
    xds.setRegistrations(registry);
    registry.start();
    watch = new EtcdWatchLoop(client, options.prefix(),
        List.of(policies::onSnapshot, registry::onSnapshot)).start();
  }

  /** The last document(s) in etcd rejected (key and reason), or null. */
  public String lastError() {
    return policies.lastError();
  }

  public EtcdWatchLoop watch() {
    return watch;
  }

  public Options options() {
    return options;
  }

  /** Stops renewing the lease without revoking it, as a replica that died would (tests). */
  public synchronized void abandon() throws InterruptedException {
    if (registry != null) {
      registry.abandon();
    }
    if (watch != null) {
      watch.close();
    }
    registry = null;
  }

  @Override
  public synchronized void close() throws InterruptedException {
    if (watch != null) {
      watch.close();
    }
    if (registry != null) {
      registry.close();
    }
  }
}
