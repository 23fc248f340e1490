package io.keelson.bench.e2e;

import java.util.List;

/**
 * Which cores the proxy under test and the rest (load generator, upstream) run on. With taskset
 * and at least two cores, the proxy gets core 0 alone and everything else core 1, so every peer
 * gets the same single core; otherwise nothing is pinned and the results say so. Immutable.
 */
record CpuPinning(Cpus proxy, Cpus load, String description) {

  /** The cores of the shared upstream: the load generator's, or with {@code withProxy} the proxy's. */
  Cpus upstream(boolean withProxy) {
    return withProxy ? proxy : load;
  }

  /** This pinning's description, saying where the upstream runs. */
  String describe(boolean upstreamWithProxy) {
    if (!upstreamWithProxy || proxy.prefix().isEmpty()) {
      return description;
    }
    return "proxy and upstream on core 0; load generator alone on core 1 (taskset, --upstream-on-proxy-core)";
  }

  /** A taskset prefix for one role; empty when not pinned. */
  record Cpus(List<String> prefix) {
    static final Cpus NONE = new Cpus(List.of());

    static Cpus core(String tasksetPath, int core) {
      return new Cpus(List.of(tasksetPath, "-c", Integer.toString(core)));
    }
  }

  static CpuPinning detect(Tools tools) {
    int cores = Runtime.getRuntime().availableProcessors();
    String taskset = tools.find("taskset");
    if (taskset == null) {
      return new CpuPinning(Cpus.NONE, Cpus.NONE, "not pinned: taskset not found");
    }
    if (cores < 2) {
      return new CpuPinning(Cpus.NONE, Cpus.NONE, "not pinned: only " + cores + " core");
    }
    return new CpuPinning(Cpus.core(taskset, 0), Cpus.core(taskset, 1),
      "proxy on core 0; load generator and upstream on core 1 (taskset)");
  }
}
