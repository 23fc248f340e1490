package io.keelson.bench.e2e;

import java.nio.file.Path;

/**
 * What a scenario gets to start its peers: its own directory in the results, the shared upstream
 * (null for scenarios that need none), core pinning, tools and how to launch Keelson. Immutable.
 */
record ScenarioContext(Path dir, Upstream upstream, CpuPinning pinning, Tools tools, PeerSetup.KeelsonLaunch keelson) {
}
