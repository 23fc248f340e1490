package io.keelson.dataplane.hw;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One NIC/PMD set-up, as read from {@code hw-profiles/NAME.yaml}. Immutable.
 *
 * @param driver      the PMD (DPDK driver name, e.g. net_af_packet, mlx5_pci)
 * @param ealArgs     EAL arguments besides the ports' own (--vdev / -a), e.g. --no-huge
 * @param cores       the CPUs pollers are pinned to, one per RX queue in order
 * @param rssHash     RTE_ETH_RSS_* bits (used when there is more than one RX queue)
 * @param rxOffloads  RTE_ETH_RX_OFFLOAD_* bits
 * @param txOffloads  RTE_ETH_TX_OFFLOAD_* bits
 * @param features    capabilities beyond offload bits (rte_flow, ktls_device_offload)
 * @param verified    whether someone has run this profile on the device it describes
 * @param source      the file it was loaded from
 */
public record HardwareProfile(
    String name,
    String description,
    String driver,
    List<String> ealArgs,
    List<PortProfile> ports,
    List<Integer> cores,
    QueueProfile queues,
    long rssHash,
    int burstSize,
    MbufPoolProfile mbufPool,
    long rxOffloads,
    long txOffloads,
    List<String> features,
    IdleProfile idle,
    boolean promiscuous,
    boolean verified,
    String note,
    Path source) {

  public HardwareProfile {
    ealArgs = List.copyOf(ealArgs);
    ports = List.copyOf(ports);
    cores = List.copyOf(cores);
    features = List.copyOf(features);
  }

  /** The full EAL argument list: the profile's own, then each port's device, then the extra ones given. */
  public List<String> ealArguments(List<String> extra) {
    List<String> all = new ArrayList<>(ealArgs);
    for (PortProfile port : ports) {
      all.addAll(port.ealArguments());
    }
    all.addAll(extra);
    return all;
  }

  /** The port with this role, or null. */
  public PortProfile port(String role) {
    for (PortProfile p : ports) {
      if (p.name().equals(role)) {
        return p;
      }
    }
    return null;
  }
}
