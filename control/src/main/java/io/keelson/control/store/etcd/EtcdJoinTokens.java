package io.keelson.control.store.etcd;

import io.keelson.control.auth.JoinTokens;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Join tokens shared by every replica through etcd: one key per token, {@code PREFIX/tokens/<id>}, holding the same
 * JSON {@code tokens.json} holds per entry (the secret only as its SHA-256). Create, list and revoke go straight to
 * etcd. Verification reads through a per-token cache that keeps a record for {@link #CACHE_TTL}: a token created
 * anywhere is accepted at once (a miss always asks etcd), and a revoke takes effect at every replica within
 * {@code CACHE_TTL} (immediately at the replica that revoked). When etcd cannot be read and the cached record is
 * older than that, verification fails closed. A record that does not parse is refused, logged with its key and kept
 * in {@link #lastError}; the other tokens keep working. Thread-safe (verification runs on gRPC's call executor,
 * never an event loop, and blocks at most the etcd client's timeout per endpoint).
 */
public final class EtcdJoinTokens implements JoinTokens.SharedRecords {
  private static final Logger LOG = LoggerFactory.getLogger(EtcdJoinTokens.class);
  /** How long a token read from etcd is trusted without reading it again: the bound on revocation. */
  public static final Duration CACHE_TTL = Duration.ofSeconds(2);

  private record Cached(JoinTokens.Token token, long readAtNanos) {}

  private final EtcdClient client;
  private final String keyPrefix;
  private final Duration ttl;
  private final LongSupplier nanos;
  private final ConcurrentHashMap<String, Cached> cache = new ConcurrentHashMap<>();
  private volatile String lastError;

  public EtcdJoinTokens(EtcdClient client, String prefix) {
    this(client, prefix, CACHE_TTL, System::nanoTime);
  }

  EtcdJoinTokens(EtcdClient client, String prefix, Duration ttl, LongSupplier nanos) {
    this.client = client;
    this.keyPrefix = prefix + "tokens/";
    this.ttl = ttl;
    this.nanos = nanos;
  }

  /** The key a token's record lives under. */
  public String key(String id) {
    return keyPrefix + id;
  }

  /** The last record under the tokens prefix that was refused (key and reason), or null. */
  public String lastError() {
    return lastError;
  }

  @Override
  public Optional<JoinTokens.Token> find(String id) {
    if (id.isEmpty() || id.contains("/")) {
      return Optional.empty();
    }
    long now = nanos.getAsLong();
    Cached c = cache.get(id);
    if (c != null && now - c.readAtNanos() < ttl.toNanos()) {
      return Optional.of(c.token());
    }
    EtcdClient.KeyValue kv;
    try {
      kv = client.get(key(id));
    } catch (EtcdException e) {
      LOG.warn("cannot verify join token {}: {}; refusing it until etcd answers", id, e.getMessage());
      return Optional.empty();
    }
    if (kv == null) {
      cache.remove(id);
      return Optional.empty();
    }
    JoinTokens.Token t = parse(kv);
    if (t == null || !t.id().equals(id)) {
      cache.remove(id);
      if (t != null) {
        reject(kv.key(), "its id is '" + t.id() + "', not '" + id + "'");
      }
      return Optional.empty();
    }
    cache.put(id, new Cached(t, now));
    return Optional.of(t);
  }

  @Override
  public void put(JoinTokens.Token t) throws IOException {
    try {
      client.put(key(t.id()), JoinTokens.toJson(t), 0);
    } catch (EtcdException e) {
      throw new IOException("cannot store join token in etcd: " + e.getMessage(), e);
    }
  }

  @Override
  public boolean remove(String id) throws IOException {
    if (id.isEmpty() || id.contains("/")) {
      return false;
    }
    try {
      return client.delete(key(id)) > 0;
    } catch (EtcdException e) {
      throw new IOException("cannot revoke join token " + id + " in etcd: " + e.getMessage(), e);
    } finally {
      cache.remove(id);
    }
  }

  @Override
  public List<JoinTokens.Token> all() throws IOException {
    EtcdClient.Range r;
    try {
      r = client.range(keyPrefix);
    } catch (EtcdException e) {
      throw new IOException("cannot list join tokens in etcd: " + e.getMessage(), e);
    }
    List<JoinTokens.Token> out = new ArrayList<>();
    for (EtcdClient.KeyValue kv : r.kvs().values()) {
      JoinTokens.Token t = parse(kv);
      if (t != null) {
        out.add(t);
      }
    }
    return out;
  }

  private JoinTokens.Token parse(EtcdClient.KeyValue kv) {
    try {
      return JoinTokens.fromJson(kv.value());
    } catch (IOException e) {
      reject(kv.key(), e.getMessage());
      return null;
    }
  }

  private void reject(String key, String reason) {
    String msg = "etcd key " + key + " rejected: " + reason;
    if (!msg.equals(lastError)) {
      LOG.error("{} (the token it holds is refused; other tokens keep working)", msg);
    }
    lastError = msg;
  }
}
