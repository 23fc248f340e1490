package io.keelson.dataplane.gateway;

import io.keelson.dataplane.internal.ffm.Dpdk;
import io.keelson.testkit.Shell;
import java.util.List;

/** What the network-namespace gateway tests need from the machine. */
final class GatewayNetnsTestSupport {
  private GatewayNetnsTestSupport() {}

  /** Why the namespace tests cannot run here, or null when they can. */
  static String skipReason() {
    if (!"root".equals(System.getProperty("user.name"))) {
      return "needs root (network namespaces, af_packet)";
    }
    if (!Dpdk.isAvailable()) {
      return "DPDK unavailable: " + Dpdk.unavailabilityCause();
    }
    for (String tool : List.of("ip", "ethtool", "curl", "python3")) {
      if (!Shell.onPath(tool)) {
        return tool + " is not installed (bin/lib/test-packages.txt lists it)";
      }
    }
    return null;
  }
}
