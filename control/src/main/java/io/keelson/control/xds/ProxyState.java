package io.keelson.control.xds;

import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the control plane knows about one connected proxy's stream: who it is and, per resource
 * type, what was sent, what was ACKed and the last NACK. Thread-safe (its own monitor, never held
 * while calling out).
 */
public final class ProxyState {
  final long streamId;
  final String nodeId;
  final String service;
  final boolean delta;
  final boolean proxyless;
  final int outboundPort;
  /** Where it runs (its Node.locality, or its workload's topology labels), and its workload's (or gateway's) labels. */
  final io.keelson.control.policy.Locality locality;
  final Map<String, String> labels;
  /**
   * Its authenticated namespace (its join token's, else its SPIFFE ID's), else the one its node metadata names
   * ({@link NodeRegistration#namespace}: the plaintext port), or null.
   */
  final String namespace;
  final Instant connectedAt = Instant.now();
  private final Map<String, String> sentByNonce = new HashMap<>();
  // Answers that arrived before the server's response callback recorded their nonce (the callback runs after the send).
  private final Map<String, String[]> early = new HashMap<>();
  private final Map<String, TypeState> types = new LinkedHashMap<>();

  ProxyState(long streamId, String nodeId, String service, boolean delta, boolean proxyless, int outboundPort,
      io.keelson.control.policy.Locality locality, Map<String, String> labels, String namespace) {
    this.locality = locality;
    this.namespace = namespace;
    this.labels = Map.copyOf(labels);
    this.outboundPort = outboundPort;
    this.streamId = streamId;
    this.nodeId = nodeId;
    this.service = service;
    this.delta = delta;
    this.proxyless = proxyless;
  }

  /** Per type: last version sent, last ACKed, ACK/NACK/PENDING, and the last NACK's error_detail. */
  public record TypeState(String sent, String acked, String state, String nackedVersion, String lastError) {}

  synchronized void sent(String typeUrl, String nonce, String version) {
    sentByNonce.put(nonce, version);
    if (sentByNonce.size() > 64) {
      sentByNonce.clear(); // nonces are only looked up for the latest responses; keep the map bounded
      sentByNonce.put(nonce, version);
    }
    TypeState t = types.get(typeUrl);
    // A SotW server resends a NACKed version when the proxy asks again: that is still a NACK, not news.
    String state = t != null && version.equals(t.nackedVersion()) ? "NACK" : "PENDING";
    types.put(typeUrl, new TypeState(version, t == null ? null : t.acked(), state, t == null ? null : t.nackedVersion(),
        t == null ? null : t.lastError()));
    String[] answer = early.remove(nonce);
    if (answer != null) {
      answered(answer[0], nonce, answer[1]);
    }
  }

  /** A request answering {@code nonce}: an ACK, or a NACK when {@code error} is not null. */
  synchronized void answered(String typeUrl, String nonce, String error) {
    if (nonce == null || nonce.isEmpty()) {
      return; // the first request of a type, not an answer
    }
    String version = sentByNonce.remove(nonce);
    TypeState t = types.get(typeUrl);
    if (version == null || t == null) {
      if (early.size() < 64) {
        early.put(nonce, new String[] {typeUrl, error});
      }
      return;
    }
    if (error == null) {
      types.put(typeUrl, new TypeState(t.sent(), version, version.equals(t.sent()) ? "ACK" : t.state(),
          t.nackedVersion(), t.lastError()));
    } else {
      types.put(typeUrl, new TypeState(t.sent(), t.acked(), "NACK", version, error));
    }
  }

  synchronized Map<String, TypeState> types() {
    return Map.copyOf(types);
  }
}
