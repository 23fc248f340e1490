package io.keelson.dataplane.gateway;

import io.keelson.dataplane.hw.HardwareProfile;
import io.keelson.dataplane.packet.GatewayConfig;
import io.keelson.dataplane.packet.GatewayLimits;
import io.keelson.dataplane.pipeline.PipelineMode;
import java.util.List;
import java.util.Map;

/**
 * Everything a {@link GatewayRuntime} is started with. Immutable.
 *
 * @param portAddresses port role (as named in the profile) → "a.b.c.d/len" or "a.b.c.d/len via a.b.c.d"
 * @param snatAddresses gateway-local source addresses for full NAT (at least one)
 * @param extraEalArgs  appended to the profile's EAL arguments (e.g. a --file-prefix)
 * @param pinPollers    pin each poller to its profile core (off in tests on shared machines)
 */
public record GatewaySettings(
    HardwareProfile profile,
    PipelineMode mode,
    Map<String, String> portAddresses,
    List<String> snatAddresses,
    List<GatewayConfig.Vip> vips,
    GatewayLimits limits,
    List<String> extraEalArgs,
    boolean pinPollers) {

  public GatewaySettings {
    portAddresses = Map.copyOf(portAddresses);
    snatAddresses = List.copyOf(snatAddresses);
    vips = List.copyOf(vips);
    extraEalArgs = List.copyOf(extraEalArgs);
  }
}
