package io.keelson.dataplane.xds;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.ProxySnapshot;

/**
 * Puts a complete, valid snapshot into service before it is ACKed (e.g. binds the listeners it
 * adds). A {@link ConfigException} NACKs the update with its message as the error_detail and the
 * last accepted config stays in force, so the installer must leave things as they were when it
 * throws. Called on the xDS client's thread only; must not block for long.
 */
@FunctionalInterface
public interface SnapshotInstaller {
  void install(ProxySnapshot snapshot) throws ConfigException;
}
