package io.keelson.control.api;

import io.keelson.control.policy.PolicyException;
import io.keelson.control.store.ConfigDirWatcher;
import io.keelson.control.store.DataDir;
import io.keelson.control.store.PolicyStore;
import io.keelson.control.xds.XdsServer;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The whole control plane: store (memory, data dir, watched config dir), xDS server and HTTP API.
 * Start it with {@link #start(Options)}; close to stop. Thread-safe.
 */
public final class ControlPlane implements AutoCloseable {
  /**
   * @param bind         address both servers listen on
   * @param xdsPort      gRPC xDS port (0 = ephemeral)
   * @param apiPort      HTTP API port (0 = ephemeral)
   * @param configDir    a watched directory of YAML documents, or null
   * @param dataDir      where applied state is persisted, or null (memory only)
   * @param outboundPort the outbound listener port proxies are given
   */
  public record Options(String bind, int xdsPort, int apiPort, Path configDir, Path dataDir, int outboundPort) {}

  public final PolicyStore store;
  public final XdsServer xds;
  public final ApiServer api;
  private final ConfigDirWatcher watcher;

  private ControlPlane(PolicyStore store, XdsServer xds, ApiServer api, ConfigDirWatcher watcher) {
    this.store = store;
    this.xds = xds;
    this.api = api;
    this.watcher = watcher;
  }

  public static ControlPlane start(Options o) throws IOException, PolicyException {
    PolicyStore store = new PolicyStore(o.dataDir() == null ? null : new DataDir(o.dataDir()));
    ConfigDirWatcher watcher = o.configDir() == null ? null
        : new ConfigDirWatcher(o.configDir(), store).start(Duration.ofMillis(500));
    XdsServer xds = new XdsServer(store, o.outboundPort()).start(o.bind(), o.xdsPort());
    ApiServer api = new ApiServer(store, xds).start(o.bind(), o.apiPort());
    return new ControlPlane(store, xds, api, watcher);
  }

  /** The config dir's last rejection, or null. */
  public String configDirError() {
    return watcher == null ? null : watcher.lastError();
  }

  @Override
  public void close() throws InterruptedException {
    api.close();
    xds.close();
    if (watcher != null) {
      watcher.close();
    }
  }
}
