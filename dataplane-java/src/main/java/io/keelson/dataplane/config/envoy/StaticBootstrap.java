package io.keelson.dataplane.config.envoy;

import io.keelson.dataplane.config.AdminConfig;
import io.keelson.dataplane.config.ProxySnapshot;

/**
 * What a bootstrap file configures: the snapshot to run and, when the file has an {@code admin}
 * block, where the admin listener binds. Immutable.
 *
 * @param admin the bootstrap's admin.address, or null when the file has none
 */
public record StaticBootstrap(ProxySnapshot snapshot, AdminConfig admin) {

  /** The admin address: the bootstrap's, else {@link AdminConfig#DEFAULT}. */
  public AdminConfig adminOrDefault() {
    return admin != null ? admin : AdminConfig.DEFAULT;
  }
}
