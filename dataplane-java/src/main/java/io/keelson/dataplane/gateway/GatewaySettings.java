package io.keelson.dataplane.gateway;

import io.keelson.dataplane.hw.HardwareProfile;
import io.keelson.dataplane.packet.GatewayConfig;
import io.keelson.dataplane.packet.GatewayLimits;
import io.keelson.dataplane.packet.Ipv6Config;
import io.keelson.dataplane.pipeline.PipelineMode;
import java.util.List;
import java.util.Map;

/**
 * Everything a {@link GatewayRuntime} is started with. Immutable.
 *
 * @param portAddresses port role (as named in the profile) → "a.b.c.d/len" or "a.b.c.d/len via a.b.c.d"
 * @param portAddresses6 port role → "ADDR/LEN", the port's IPv6 address and on-link prefix (none: IPv4 only)
 * @param snatAddresses gateway-local source addresses for full NAT (at least one IPv4; IPv6 ones for IPv6 VIPs)
 * @param vips6         the IPv6 VIPs
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
    boolean pinPollers,
    Map<String, String> portAddresses6,
    List<Ipv6Config.Vip6> vips6) {

  public GatewaySettings {
    portAddresses = Map.copyOf(portAddresses);
    portAddresses6 = Map.copyOf(portAddresses6);
    vips6 = List.copyOf(vips6);
    snatAddresses = List.copyOf(snatAddresses);
    vips = List.copyOf(vips);
    extraEalArgs = List.copyOf(extraEalArgs);
  }

  /** An IPv4-only gateway. */
  public GatewaySettings(HardwareProfile profile, PipelineMode mode, Map<String, String> portAddresses,
      List<String> snatAddresses, List<GatewayConfig.Vip> vips, GatewayLimits limits, List<String> extraEalArgs,
      boolean pinPollers) {
    this(profile, mode, portAddresses, snatAddresses, vips, limits, extraEalArgs, pinPollers, Map.of(), List.of());
  }

  /** The same settings with other VIPs (a config reload). */
  GatewaySettings withVips(List<GatewayConfig.Vip> newVips, List<Ipv6Config.Vip6> newVips6) {
    return new GatewaySettings(profile, mode, portAddresses, snatAddresses, newVips, limits, extraEalArgs, pinPollers,
        portAddresses6, newVips6);
  }
}
