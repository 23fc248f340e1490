package io.keelson.control.security;

import io.keelson.control.policy.Authz;
import io.keelson.control.policy.Policy.PeerAuthentication;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Resolves Istio {@code PeerAuthentication} for one workload into the mTLS mode of each of its ports:
 * mesh-wide (root namespace, no selector), then namespace-wide, then the workload's own policy, then
 * its {@code portLevelMtls}; each level's UNSET inherits from the one before, and with nothing set
 * the mode is PERMISSIVE (Istio's default). Where several policies apply at one level, the first by
 * name wins (Istio takes the oldest; Keelson keeps no creation time). Stateless.
 */
public final class PeerAuthenticationResolver {
  /** The result: the workload's mode and the ports that differ from it. Immutable. */
  public record MtlsSettings(Authz.MtlsMode mode, Map<Integer, Authz.MtlsMode> ports) {
    public Authz.MtlsMode modeFor(int port) {
      return ports.getOrDefault(port, mode);
    }

    /** STRICT: only mTLS is accepted on that port; PERMISSIVE: mTLS and plaintext; DISABLE: plaintext. */
    public boolean acceptsPlaintext(int port) {
      return modeFor(port) != Authz.MtlsMode.STRICT;
    }
  }

  private PeerAuthenticationResolver() {}

  public static MtlsSettings resolve(String namespace, Map<String, String> labels,
      Collection<PeerAuthentication> all, String rootNamespace) {
    List<PeerAuthentication> sorted = new ArrayList<>(all);
    sorted.sort(Comparator.comparing(PeerAuthentication::name));
    PeerAuthentication mesh = null;
    PeerAuthentication ns = null;
    PeerAuthentication workload = null;
    for (PeerAuthentication p : sorted) {
      if (p.selector() == null) {
        if (p.namespace().equals(rootNamespace) && mesh == null) {
          mesh = p;
        }
        if (p.namespace().equals(namespace) && !namespace.equals(rootNamespace) && ns == null) {
          ns = p;
        }
      } else if (p.namespace().equals(namespace) && WorkloadSelector.labelsMatch(p.selector(), labels)
          && workload == null) {
        workload = p;
      }
    }
    Authz.MtlsMode mode = Authz.MtlsMode.PERMISSIVE;
    for (PeerAuthentication p : new PeerAuthentication[] {mesh, ns, workload}) {
      if (p != null && p.mode() != Authz.MtlsMode.UNSET) {
        mode = p.mode();
      }
    }
    Map<Integer, Authz.MtlsMode> ports = new HashMap<>();
    if (workload != null) {
      for (var e : workload.portLevel().entrySet()) {
        if (e.getValue() != Authz.MtlsMode.UNSET && e.getValue() != mode) {
          ports.put(e.getKey(), e.getValue());
        }
      }
    }
    return new MtlsSettings(mode, Map.copyOf(ports));
  }
}
