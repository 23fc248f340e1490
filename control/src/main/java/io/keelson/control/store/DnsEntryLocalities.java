package io.keelson.control.store;

import io.keelson.control.policy.Locality;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyError;
import java.util.ArrayList;
import java.util.List;

/**
 * Locality load balancing (failover with {@code outlierDetection}, or {@code distribute}) is applied per caller to EDS
 * assignments only (a STATIC entry's); a DNS or DNS_ROUND_ROBIN entry's endpoints are inline in its cluster, shared by
 * every caller. So a DestinationRule that would fail over or distribute by locality is refused for a DNS entry whose
 * endpoints have localities, rather than silently ignored. Stateless.
 */
final class DnsEntryLocalities {
  private DnsEntryLocalities() {}

  static void check(PolicySet state, Policy.DestinationRule dr, List<PolicyError> errors) {
    Policy.ServiceEntry se = ServiceEntries.find(state, dr.host());
    if (se == null || (se.resolution() != Policy.Resolution.DNS && se.resolution() != Policy.Resolution.DNS_ROUND_ROBIN)
        || WorkloadEntries.endpoints(state, se).stream().allMatch(ep -> ep.locality().equals(Locality.NONE))) {
      return;
    }
    List<String> subsets = new ArrayList<>();
    subsets.add(null);
    dr.subsets().forEach(s -> subsets.add(s.name()));
    for (Policy.EntryPort port : se.ports()) {
      for (String subset : subsets) {
        Policy.DestinationRule c = dr.forCluster(subset, port.number());
        Policy.LocalityLbSetting s = c.localityLb();
        boolean distribute = s != null && !s.disabled() && !s.distribute().isEmpty();
        if ((s == null || !s.disabled()) && (distribute || c.outlierDetection() != null)) {
          errors.add(new PolicyError(dr.meta().file(), dr.meta().key(), distribute
              ? "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute" : "spec.trafficPolicy.outlierDetection",
              "ServiceEntry/" + se.name() + " resolves by " + se.resolution() + " and its endpoints have localities:"
                  + " locality " + (distribute ? "distribution" : "failover") + " applies to STATIC (EDS) entries"
                  + " only; expected resolution STATIC on the entry, its endpoints without locality, or"
                  + " localityLbSetting enabled: false"));
          return;
        }
      }
    }
  }
}
