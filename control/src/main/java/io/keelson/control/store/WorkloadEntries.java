package io.keelson.control.store;

import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyError;
import io.keelson.control.policy.IpLiteral;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The endpoints of a ServiceEntry with a {@code workloadSelector}: the WorkloadEntries of its namespace whose labels
 * match it, as istiod selects them (registry Workloads are not selected yet); and the checks between entries and WorkloadEntries.
 * Stateless.
 */
public final class WorkloadEntries {
  private WorkloadEntries() {}

  /** {@code se}'s endpoints: its inline ones, or those of the WorkloadEntries it selects in name order. */
  public static List<Policy.EntryEndpoint> endpoints(PolicySet state, Policy.ServiceEntry se) {
    if (se.workloadSelector() == null) {
      return se.endpoints();
    }
    List<Policy.EntryEndpoint> out = new ArrayList<>();
    for (Policy.WorkloadEntry we : selected(state, se)) {
      out.add(we.endpoint());
    }
    return out;
  }

  private static List<Policy.WorkloadEntry> selected(PolicySet state, Policy.ServiceEntry se) {
    List<Policy.WorkloadEntry> out = new ArrayList<>();
    for (Policy.WorkloadEntry we : state.ofType(Policy.WorkloadEntry.class)) {
      if (selects(se, we)) {
        out.add(we);
      }
    }
    out.sort(java.util.Comparator.comparing(Policy::name));
    return out;
  }

  /**
   * True when {@code se}'s selector matches {@code we}'s labels and both were written in one namespace: istiod selects
   * only the entry's own namespace, so a WorkloadEntry elsewhere can neither become its endpoint nor put its service
   * account in the entry's SAN list.
   */
  private static boolean selects(Policy.ServiceEntry se, Policy.WorkloadEntry we) {
    Map<String, String> selector = se.workloadSelector();
    if (selector == null || !se.writtenNamespace().equals(we.endpoint().namespace())) {
      return false;
    }
    for (var e : selector.entrySet()) {
      if (!e.getValue().equals(we.endpoint().labels().get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  /**
   * {@code we} against the entries that select it. The store checks every document of a candidate state, so a
   * ServiceEntry applied after the WorkloadEntries it selects is checked here too.
   */
  static void check(PolicySet state, Policy.WorkloadEntry we, List<PolicyError> errors) {
    for (Policy.ServiceEntry se : state.ofType(Policy.ServiceEntry.class)) {
      if (selects(se, we)) {
        check(se, we, errors);
      }
    }
  }

  /**
   * A selected WorkloadEntry's port names are ports of the entry, and its address an IP when the entry's resolution is
   * STATIC (Envoy's STATIC cluster takes no names).
   */
  private static void check(Policy.ServiceEntry se, Policy.WorkloadEntry we, List<PolicyError> errors) {
    String file = we.meta().file();
    String doc = we.meta().key();
    Set<String> names = new TreeSet<>();
    se.ports().forEach(p -> names.add(p.name()));
    for (String n : new TreeSet<>(we.endpoint().ports().keySet())) {
      if (!names.contains(n)) {
        errors.add(new PolicyError(file, doc, "spec.ports." + n, "ServiceEntry/" + se.name() + " selects this"
            + " WorkloadEntry and has no port named '" + n + "'; expected one of " + names));
      }
    }
    String address = we.endpoint().address();
    if (se.resolution() == Policy.Resolution.STATIC && !IpLiteral.is(address)) {
      errors.add(new PolicyError(file, doc, "spec.address", "'" + address + "' is not an IP address and ServiceEntry/"
          + se.name() + " (resolution STATIC) selects this WorkloadEntry; expected an IP address, or resolution DNS on"
          + " the entry"));
    }
  }
}
