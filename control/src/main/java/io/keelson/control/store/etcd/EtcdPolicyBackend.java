package io.keelson.control.store.etcd;

import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyError;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import io.keelson.control.store.References;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policy documents in etcd, one key each ({@code PREFIX/policies/Kind[/namespace]/name}, the YAML
 * document as applied), with {@code PREFIX/policies} rewritten by every change. A change is one txn that
 * holds only if nothing in that range was modified after the revision the change was validated at.
 * The state read back from etcd (at start, after a conflict, on every watch event) is parsed and checked
 * whole: a key that does not parse, or whose document breaks references, is reported and its last good
 * version kept. {@link #save} and {@link #reload} run under the store's lock (the applying thread),
 * {@link #onSnapshot} on the watch thread; the revision is only touched under the store's lock.
 */
public final class EtcdPolicyBackend implements PolicyStore.Backend {
  private static final Logger LOG = LoggerFactory.getLogger(EtcdPolicyBackend.class);
  private static final String FROM = "# keelson-source: ";
  private final EtcdClient client;
  private final String marker;
  private final String policies;
  private PolicyStore store;
  // Guarded by the store's lock: the etcd revision the store's state was read at (or written at).
  private long revision;
  private volatile String lastError;
  // Guarded by the store's lock: the policy keys' count and highest mod revision when the state was last built,
  // so that revisions which change no policy (workload registrations) are not parsed and checked again.
  private long builtCount = -1;
  private long builtMaxMod = -1;
  // Guarded by the store's lock: documents read under their key from before namespaces (Kind/NAME for a document of
  // namespace NS, now Kind/NS/NAME), by their key; save moves them.
  private Map<String, String> legacyKeys = Map.of();
  private final Set<String> warnedLegacy = java.util.concurrent.ConcurrentHashMap.newKeySet();

  public EtcdPolicyBackend(EtcdClient client, String prefix) {
    this.client = client;
    this.marker = prefix + "policies";
    this.policies = prefix + "policies/";
  }

  /** The store whose state this backend feeds from the watch. */
  public void attach(PolicyStore store) {
    this.store = store;
  }

  /** The last rejected key(s) read from etcd, or null when the last state read was whole. */
  public String lastError() {
    return lastError;
  }

  @Override
  public void save(PolicySet before, PolicySet after) throws PolicyException, PolicyStore.ConcurrentChangeException {
    Map<String, EtcdClient.Op> byKey = new java.util.LinkedHashMap<>(); // one op per key: etcd refuses duplicates
    // Documents still under their key from before namespaces move to their own key with this change.
    for (var moved : legacyKeys.entrySet()) {
      byKey.put(policies + moved.getValue(), EtcdClient.Op.delete(policies + moved.getValue()));
      Policy p = after.byKey().get(moved.getKey());
      if (p != null) {
        byKey.put(policies + moved.getKey(), EtcdClient.Op.put(policies + moved.getKey(), value(p)));
      }
    }
    for (var e : after.byKey().entrySet()) {
      Policy old = before.byKey().get(e.getKey());
      if (old == null || !old.meta().source().equals(e.getValue().meta().source())
          || !old.meta().file().equals(e.getValue().meta().file())) {
        byKey.put(policies + e.getKey(), EtcdClient.Op.put(policies + e.getKey(), value(e.getValue())));
      }
    }
    for (String k : before.byKey().keySet()) {
      if (!after.byKey().containsKey(k)) {
        byKey.putIfAbsent(policies + k, EtcdClient.Op.delete(policies + k));
      }
    }
    List<EtcdClient.Op> ops = new ArrayList<>(byKey.values());
    ops.add(EtcdClient.Op.put(marker, "changed at revision " + revision + " + 1"));
    long at;
    try {
      at = client.txnIfUnchangedSince(marker, policies, revision, ops);
    } catch (EtcdException e) {
      // Unanswered, the txn may have been applied: the watch then brings it in; applying again is harmless
      // (it fails the revision check, is validated again and finds nothing left to change).
      throw new PolicyException(List.of(new PolicyError("etcd", "state", "", (e.maybeDone()
          ? "the change may or may not have been applied (check with get): " : "cannot write the change, nothing was "
          + "applied: ") + e.getMessage())), true);
    }
    if (at < 0) {
      throw new PolicyStore.ConcurrentChangeException("the policies in etcd (" + client.endpoints() + ", " + policies
          + "*) changed after revision " + revision + ", which this change was validated against (another replica or"
          + " a hand edit)");
    }
    revision = at;
  }

  @Override
  public PolicySet reload(PolicySet current) throws PolicyException {
    EtcdClient.Range r;
    try {
      r = client.range(policies);
    } catch (EtcdException e) {
      throw new PolicyException(List.of(new PolicyError("etcd", "state", "", "cannot read the policies: "
          + e.getMessage())), true);
    }
    revision = r.revision();
    return build(r.kvs(), current);
  }

  /** A state of the whole prefix the watch observed at {@code at}: becomes the store's, unless it is older. */
  void onSnapshot(Map<String, EtcdClient.KeyValue> kvs, long at) {
    store.replace(current -> {
      if (at <= revision) {
        return current; // this replica wrote it (or read it) already
      }
      revision = at;
      long[] sig = signature(kvs);
      if (sig[0] == builtCount && sig[1] == builtMaxMod) {
        return current; // no policy key changed (a put raises the highest mod revision, a delete the count)
      }
      return build(kvs, current);
    });
  }

  private long[] signature(Map<String, EtcdClient.KeyValue> kvs) {
    long count = 0;
    long max = 0;
    for (EtcdClient.KeyValue kv : kvs.values()) {
      if (kv.key().startsWith(policies)) {
        count++;
        max = Math.max(max, kv.modRevision());
      }
    }
    return new long[] {count, max};
  }

  private PolicySet build(Map<String, EtcdClient.KeyValue> kvs, PolicySet current) {
    long[] sig = signature(kvs);
    builtCount = sig[0];
    builtMaxMod = sig[1];
    List<String> errors = new ArrayList<>();
    Map<String, Policy> next = new TreeMap<>();
    Map<String, String> legacy = new TreeMap<>();
    for (EtcdClient.KeyValue kv : kvs.values()) {
      if (!kv.key().startsWith(policies)) {
        continue;
      }
      String docKey = kv.key().substring(policies.length());
      Policy old = current.byKey().get(docKey);
      if (old != null && value(old).equals(kv.value())) {
        next.put(docKey, old);
        continue;
      }
      try {
        Policy p = parse(docKey, kv.value());
        if (!p.meta().key().equals(docKey)) {
          legacy.put(p.meta().key(), docKey);
        }
        next.put(p.meta().key(), p);
      } catch (PolicyException e) {
        errors.add("etcd key " + kv.key() + " (revision " + kv.modRevision() + ") rejected, "
            + (old == null ? "ignored" : "its last good version kept") + ":\n" + e.getMessage());
        if (old != null) {
          next.put(docKey, old);
        }
      }
    }
    legacyKeys = Map.copyOf(legacy);
    PolicySet candidate = current.without(p -> !next.containsKey(p.meta().key())).with(next.values());
    List<PolicyError> broken = References.check(candidate, List.copyOf(candidate.all()));
    if (!broken.isEmpty()) {
      // Documents changed in etcd that break references: keep their last good versions, then check again.
      Set<String> revert = new HashSet<>();
      for (PolicyError e : broken) {
        if (next.get(e.doc()) != current.byKey().get(e.doc())) {
          revert.add(e.doc());
        }
      }
      for (String k : revert) {
        Policy old = current.byKey().get(k);
        if (old == null) {
          next.remove(k);
        } else {
          next.put(k, old);
        }
      }
      candidate = current.without(p -> !next.containsKey(p.meta().key())).with(next.values());
      List<PolicyError> still = References.check(candidate, List.copyOf(candidate.all()));
      if (!still.isEmpty()) {
        // A document deleted by hand that others still reference: keep it too.
        for (var e : current.byKey().entrySet()) {
          if (next.putIfAbsent(e.getKey(), e.getValue()) == null) {
            revert.add(e.getKey());
          }
        }
        candidate = current.without(p -> !next.containsKey(p.meta().key())).with(next.values());
        still = References.check(candidate, List.copyOf(candidate.all()));
      }
      errors.add("etcd documents " + (revert.isEmpty() ? "" : revert + " ") + "rejected, their last good versions"
          + " kept:\n" + new PolicyException(broken).getMessage());
      if (!still.isEmpty()) {
        errors.add("the state in etcd is inconsistent, the whole last good state is kept:\n"
            + new PolicyException(still).getMessage());
        candidate = current;
      }
    }
    String error = errors.isEmpty() ? null : String.join("\n", errors);
    if (error != null && !error.equals(lastError)) {
      LOG.error("{}", error); // once per distinct problem, not on every later revision
    }
    lastError = error;
    return candidate;
  }

  private Policy parse(String docKey, String value) throws PolicyException {
    String source = "etcd:" + policies + docKey;
    String text = value;
    if (value.startsWith(FROM)) {
      int eol = value.indexOf('\n');
      source = value.substring(FROM.length(), eol < 0 ? value.length() : eol);
      text = eol < 0 ? "" : value.substring(eol + 1);
    }
    List<Policy> parsed = PolicyParser.parse(source, text).policies();
    if (parsed.size() == 1 && storedBeforeNamespaces(docKey, parsed.getFirst())) {
      Policy p = parsed.getFirst();
      if (warnedLegacy.add(docKey)) {
        LOG.warn("etcd key {}{} holds {} of namespace {}, stored under its key from before namespaces: loaded as {}"
            + " (moved there by the next change); its short hosts now resolve in namespace {}", policies, docKey,
            docKey, p.namespace(), p.meta().key(), p.namespace());
      }
      return p;
    }
    if (parsed.size() != 1 || !parsed.getFirst().meta().key().equals(docKey)) {
      throw new PolicyException(List.of(new PolicyError(source, docKey, "", "the key holds "
          + parsed.stream().map(p -> p.meta().key()).toList() + "; expected exactly the document " + docKey)));
    }
    return parsed.getFirst();
  }

  /** {@code docKey} is {@code p}'s key as it was before namespaces ({@code Kind/NAME}) and {@code p} is namespaced. */
  private static boolean storedBeforeNamespaces(String docKey, Policy p) {
    return !p.namespace().isEmpty() && !p.meta().key().equals(docKey)
        && docKey.equals(Policy.Meta.key(p.meta().kind(), "", p.meta().name()));
  }

  private static String value(Policy p) {
    return FROM + p.meta().file() + "\n" + p.meta().source();
  }
}
