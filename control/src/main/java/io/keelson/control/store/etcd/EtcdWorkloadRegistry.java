package io.keelson.control.store.etcd;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.ServiceNames;
import io.keelson.control.xds.XdsServer;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shares the workloads sidecars register at this replica through etcd, and gives the xDS server those
 * registered at the others. Each replica holds one lease (TTL {@code ttl}, kept alive every third of it)
 * and writes {@code PREFIX/workloads/<replica>/<node id>} under it, so when a replica dies its workloads
 * leave everyone's endpoints once the lease expires. A lease found expired (etcd was away too long) is
 * replaced and every registration written again, as is any key found missing at a keep-alive. Writes and
 * keep-alives run on one daemon thread
 * ({@code keelson-etcd-registry}); {@link #registered}/{@link #unregistered} only record what is wanted
 * (never block the gRPC thread); {@link #onSnapshot} runs on the watch thread.
 */
public final class EtcdWorkloadRegistry implements XdsServer.Registrations, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EtcdWorkloadRegistry.class);
  private final EtcdClient client;
  private final String workloads;
  private final String mine;
  private final Duration ttl;
  private final XdsServer xds;
  private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(
      r -> Thread.ofPlatform().daemon().name("keelson-etcd-registry").unstarted(r));
  // What should be in etcd: node id -> value. Written by gRPC threads, read by the registry thread.
  private final Map<String, String> wanted = new ConcurrentHashMap<>();
  private final AtomicBoolean syncQueued = new AtomicBoolean();
  // Registry thread only.
  private final Map<String, String> written = new HashMap<>();
  private long lease;
  private boolean failing;
  // Watch thread only.
  private Map<String, Policy.Workload> peers = Map.of();
  private java.util.Set<String> dropped = java.util.Set.of(); // key@revision of refused records, warned once

  /** @param replicaId this replica's name in the key layout (unique among the replicas) */
  public EtcdWorkloadRegistry(EtcdClient client, String prefix, String replicaId, Duration ttl, XdsServer xds) {
    this.client = client;
    this.workloads = prefix + "workloads/";
    this.mine = workloads + replicaId + "/";
    this.ttl = ttl;
    this.xds = xds;
  }

  /** Grants the lease (when etcd answers) and keeps it alive from now on. */
  public EtcdWorkloadRegistry start() {
    long period = Math.max(200, ttl.toMillis() / 3);
    thread.scheduleWithFixedDelay(this::tick, 0, period, TimeUnit.MILLISECONDS);
    return this;
  }

  @Override
  public void registered(String nodeId, Policy.Workload w) {
    wanted.put(nodeId, json(nodeId, w));
    queueSync();
  }

  @Override
  public void unregistered(String nodeId) {
    wanted.remove(nodeId);
    queueSync();
  }

  private void queueSync() {
    if (syncQueued.compareAndSet(false, true)) {
      try {
        thread.execute(() -> {
          syncQueued.set(false);
          sync();
        });
      } catch (java.util.concurrent.RejectedExecutionException e) {
        // closed: the lease (revoked, or left to expire) takes the registrations away
      }
    }
  }

  private void tick() {
    try {
      renewAndSync();
    } catch (RuntimeException e) {
      // A scheduled task that throws is never run again: log and keep going.
      LOG.error("etcd registrations of {}: unexpected failure, retrying", mine, e);
    }
  }

  private void renewAndSync() {
    try {
      if (lease != 0 && client.keepAlive(lease) <= 0) {
        LOG.warn("etcd lease {} of {} expired: granting a new one and registering {} workloads again", lease, mine,
            wanted.size());
        lease = 0;
      } else if (lease != 0 && !written.isEmpty()) {
        // Keys that left etcd anyway (deleted by hand, a lease revoked from outside) are written again.
        var present = client.range(mine).kvs();
        written.keySet().removeIf(node -> !present.containsKey(mine + node));
      }
    } catch (EtcdException e) {
      failed(e);
      return;
    }
    sync();
  }

  private void sync() {
    try {
      if (lease == 0) {
        written.clear();
        lease = client.grantLease(Math.max(1, ttl.toSeconds()));
      }
      for (var e : Map.copyOf(wanted).entrySet()) {
        if (!e.getValue().equals(written.get(e.getKey()))) {
          client.put(mine + e.getKey(), e.getValue(), lease);
          written.put(e.getKey(), e.getValue());
        }
      }
      for (String node : Map.copyOf(written).keySet()) {
        if (!wanted.containsKey(node)) {
          client.delete(mine + node);
          written.remove(node);
        }
      }
      if (failing) {
        LOG.info("etcd registrations of {} written again ({} workloads)", mine, written.size());
        failing = false;
      }
    } catch (EtcdException e) {
      failed(e);
    }
  }

  private void failed(EtcdException e) {
    if (!failing) {
      LOG.warn("cannot share this replica's workload registrations through etcd, retrying: {}", e.getMessage());
      failing = true;
    }
  }

  /** The workloads the other replicas registered, from the watched prefix. */
  void onSnapshot(Map<String, EtcdClient.KeyValue> kvs, long revision) {
    Map<String, Policy.Workload> next = new TreeMap<>();
    java.util.Set<String> refused = new java.util.HashSet<>();
    for (EtcdClient.KeyValue kv : kvs.values()) {
      if (!kv.key().startsWith(workloads) || kv.key().startsWith(mine)) {
        continue;
      }
      String node = kv.key().substring(kv.key().lastIndexOf('/') + 1);
      try {
        Policy.Workload w = workload(kv.value());
        String problem = registrationProblem(w, EtcdClient.parse(kv.value()).containsFields("namespace"));
        if (problem != null) {
          if (refused.add(kv.key() + "@" + kv.modRevision()) && !dropped.contains(kv.key() + "@" + kv.modRevision())) {
            LOG.warn("etcd key {} (revision {}): workload registration dropped: {}", kv.key(), kv.modRevision(),
                problem);
          }
          continue;
        }
        Policy.Workload old = peers.get(node);
        next.put(node, w.equals(old) ? old : w); // same instance: its translation is reused
      } catch (EtcdException | RuntimeException e) {
        LOG.error("etcd key {} (revision {}) is not a workload registration, ignored: {}", kv.key(), kv.modRevision(),
            e.getMessage());
      }
    }
    dropped = refused; // only those still there: a record rewritten or gone is not remembered
    if (!next.equals(peers)) {
      peers = next;
      xds.setPeerWorkloads(next);
    }
  }

  static String json(String nodeId, Policy.Workload w) {
    Struct.Builder labels = Struct.newBuilder();
    w.labels().forEach((k, v) -> labels.putFields(k, Value.newBuilder().setStringValue(v).build()));
    Struct s = Struct.newBuilder()
        .putFields("nodeId", Value.newBuilder().setStringValue(nodeId).build())
        .putFields("name", Value.newBuilder().setStringValue(w.name()).build())
        .putFields("service", Value.newBuilder().setStringValue(w.service()).build())
        .putFields("namespace", Value.newBuilder().setStringValue(ServiceNames.namespace(w.meta())).build())
        .putFields("address", Value.newBuilder().setStringValue(w.address()).build())
        .putFields("port", Value.newBuilder().setNumberValue(w.port()).build())
        .putFields("labels", Value.newBuilder().setStructValue(labels).build())
        .build();
    try {
      return JsonFormat.printer().omittingInsignificantWhitespace().print(s);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  static Policy.Workload workload(String json) throws EtcdException {
    Struct s = EtcdClient.parse(json);
    String node = EtcdClient.string(s, "nodeId");
    Map<String, String> labels = new TreeMap<>();
    s.getFieldsOrDefault("labels", Value.getDefaultInstance()).getStructValue().getFieldsMap()
        .forEach((k, v) -> labels.put(k, v.getStringValue()));
    long port = EtcdClient.number(s, "port");
    if (node.isEmpty() || EtcdClient.string(s, "service").isEmpty() || port <= 0 || port > 65535) {
      throw new EtcdException("expected nodeId, service and port (1-65535) in " + json);
    }
    String namespace = EtcdClient.string(s, "namespace"); // "": written by a replica before namespaces were recorded
    Policy.Meta meta = new Policy.Meta("keelson.io/v1alpha1", "Workload", EtcdClient.string(s, "name"),
        "xds-node:" + node, "", namespace.equals(ServiceNames.DEFAULT_NAMESPACE) ? "" : namespace);
    return new Policy.Workload(meta, EtcdClient.string(s, "service"), EtcdClient.string(s, "address"), (int) port,
        Map.copyOf(labels));
  }

  /**
   * Why a registration read from etcd must not be served, or null: a sidecar is an endpoint of its own namespace's
   * Service only, so its service key must be its namespace's ({@code reviews.shop} for namespace shop). A record
   * without its namespace (written by an older replica, which let a sidecar of another namespace join namespace
   * default's Service of that name) cannot be checked and is dropped: that replica's sidecars are shared again once it
   * runs this version and they register again.
   */
  static String registrationProblem(Policy.Workload w, boolean recordsNamespace) {
    if (!recordsNamespace) {
      return "it records no namespace (written by an older replica, which let a sidecar of another namespace register"
          + " to namespace default's Service '" + w.service() + "'), so it cannot be checked; upgrade that replica and"
          + " its sidecars register again";
    }
    String namespace = ServiceNames.namespace(w.meta());
    String name = w.service().indexOf('.') < 0 ? w.service() : w.service().substring(0, w.service().indexOf('.'));
    String expected = ServiceNames.key(name, namespace);
    return expected.equals(w.service()) ? null : "a sidecar of namespace " + namespace + " registered to service '"
        + w.service() + "', which is not of its namespace (expected '" + expected + "'): a sidecar is an endpoint of"
        + " its own namespace's Service only";
  }

  /** Stops keeping the lease alive without revoking it: as if this replica died (tests). */
  public void abandon() {
    thread.shutdownNow();
  }

  /** Stops and revokes the lease: this replica's workloads leave everyone's endpoints now. */
  @Override
  public void close() throws InterruptedException {
    thread.shutdownNow();
    thread.awaitTermination(5, TimeUnit.SECONDS);
    if (lease != 0) {
      try {
        client.revoke(lease);
      } catch (EtcdException e) {
        LOG.warn("cannot revoke etcd lease {} (its workloads leave when it expires): {}", lease, e.getMessage());
      }
    }
  }
}
