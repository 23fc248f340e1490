package io.keelson.dataplane.packet;

import io.keelson.dataplane.packet.maglev.MaglevTable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Everything the gateway pipeline needs to decide a packet, compiled into lookup structures once:
 * the gateway's interfaces, its VIPs with their backends and Maglev tables, SNAT addresses, ACL
 * and limits. Built with {@link #builder()}; a change is a new instance published through {@link
 * GatewayTables}, which the stages pick up at a burst boundary.
 *
 * <p>Threading: immutable; safe to share between threads.
 */
public final class GatewayConfig {
  /** The largest DPDK port id the gateway accepts (ids index arrays). */
  public static final int MAX_PORT_ID = 255;

  /**
   * One gateway interface (a DPDK port).
   *
   * @param defaultGateway next hop for destinations outside every interface's subnet, 0 for none;
   *     at most one interface should have one
   */
  public record Interface(int portId, int ip, int prefixLength, long mac, int defaultGateway) {
    public Interface {
      if (portId < 0 || portId > MAX_PORT_ID) {
        throw new IllegalArgumentException("interface port id " + portId + " outside 0.." + MAX_PORT_ID);
      }
      if (prefixLength < 0 || prefixLength > 32) {
        throw new IllegalArgumentException("interface " + portId + ": prefix length " + prefixLength + " outside 0..32");
      }
      if (mac == 0 || Ethernet.isGroup(mac) || (mac >>> 48) != 0) {
        throw new IllegalArgumentException("interface " + portId + ": MAC " + Long.toHexString(mac) + " is not a unicast address");
      }
    }

    /** E.g. {@code of(0, "10.0.0.1/24", "02:00:00:00:00:01", "10.0.0.254")}; gateway may be null. */
    public static Interface of(int portId, String cidr, String mac, String defaultGateway) {
      int slash = cidr.indexOf('/');
      if (slash < 0) {
        throw new IllegalArgumentException("interface " + portId + ": '" + cidr + "' is not a.b.c.d/len");
      }
      return new Interface(portId, Ipv4.parse(cidr.substring(0, slash)),
          Integer.parseInt(cidr.substring(slash + 1)), parseMac(mac),
          defaultGateway == null ? 0 : Ipv4.parse(defaultGateway));
    }

    boolean contains(int address) {
      int mask = Ipv4.mask(prefixLength);
      return (address & mask) == (ip & mask);
    }
  }

  /** One backend of a VIP: address, port and Maglev weight (0 = drained: no new flows). */
  public record Backend(int ip, int port, int weight) {
    public Backend {
      if (port < 1 || port > 65_535 || weight < 0) {
        throw new IllegalArgumentException("backend " + Ipv4.format(ip) + ":" + port + " weight " + weight + " invalid");
      }
    }

    public static Backend of(String ip, int port, int weight) {
      return new Backend(Ipv4.parse(ip), port, weight);
    }

    long key() {
      return ((ip & 0xFFFFFFFFL) << 16) | port;
    }
  }

  /** A virtual service: traffic to {@code ip:port/protocol} is balanced over {@code backends}. */
  public record Vip(String name, int ip, int port, int protocol, List<Backend> backends) {
    public Vip {
      backends = List.copyOf(backends);
      if (protocol != Ipv4.PROTO_TCP && protocol != Ipv4.PROTO_UDP) {
        throw new IllegalArgumentException("vip '" + name + "': protocol " + protocol + " is neither TCP (6) nor UDP (17)");
      }
      if (port < 1 || port > 65_535) {
        throw new IllegalArgumentException("vip '" + name + "': port " + port + " outside 1..65535");
      }
    }
  }

  /**
   * An ACL rule over new flows: source in {@code network/prefixLength}, destination port in
   * {@code [portLow, portHigh]}. Rules are evaluated in order; the first match decides.
   */
  public record AclRule(int network, int prefixLength, int portLow, int portHigh, boolean allow) {
    public static AclRule of(String cidr, int portLow, int portHigh, boolean allow) {
      int slash = cidr.indexOf('/');
      int prefix = slash < 0 ? 32 : Integer.parseInt(cidr.substring(slash + 1));
      return new AclRule(Ipv4.parse(slash < 0 ? cidr : cidr.substring(0, slash)), prefix, portLow, portHigh, allow);
    }
  }

  private final List<Interface> interfaces;
  private final Interface[] byPort;
  private final List<Vip> vips;
  private final MaglevTable[] maglev;
  private final int[][] backendIps;
  private final int[][] backendPorts;
  private final LongIntHashMap vipByTuple;
  private final LongIntHashMap vipAddresses;
  private final int[] snatAddresses;
  private final int[] snatByPort;
  private final int[] aclNetwork;
  private final int[] aclMask;
  private final int[] aclPortLow;
  private final int[] aclPortHigh;
  private final boolean[] aclAllow;
  private final boolean aclDefaultAllow;
  private final boolean exceptionPath;
  private final GatewayLimits limits;
  private final Ipv6Config ipv6;

  private GatewayConfig(Builder b) {
    if (b.interfaces.isEmpty()) {
      throw new IllegalArgumentException("gateway config: no interfaces");
    }
    interfaces = List.copyOf(b.interfaces);
    byPort = new Interface[MAX_PORT_ID + 1];
    for (Interface i : interfaces) {
      if (byPort[i.portId()] != null) {
        throw new IllegalArgumentException("gateway config: port " + i.portId() + " has two interfaces");
      }
      byPort[i.portId()] = i;
    }
    limits = b.limits;
    vips = List.copyOf(b.vips);
    maglev = new MaglevTable[vips.size()];
    backendIps = new int[vips.size()][];
    backendPorts = new int[vips.size()][];
    vipByTuple = new LongIntHashMap(vips.size());
    vipAddresses = new LongIntHashMap(vips.size());
    for (int v = 0; v < vips.size(); v++) {
      Vip vip = vips.get(v);
      if (!vipByTuple.put(vipKey(vip.ip(), vip.port(), vip.protocol()), v)) {
        throw new IllegalArgumentException("gateway config: vip '" + vip.name() + "' duplicates the address, port and protocol of another VIP");
      }
      vipAddresses.put(vip.ip() & 0xFFFFFFFFL, v);
      int n = vip.backends().size();
      long[] keys = new long[n];
      int[] weights = new int[n];
      backendIps[v] = new int[n];
      backendPorts[v] = new int[n];
      for (int i = 0; i < n; i++) {
        Backend be = vip.backends().get(i);
        keys[i] = be.key();
        weights[i] = be.weight();
        backendIps[v][i] = be.ip();
        backendPorts[v][i] = be.port();
      }
      maglev[v] = MaglevTable.build(keys, weights, limits.maglevTableSize());
    }
    if (b.snatAddresses.isEmpty()) {
      throw new IllegalArgumentException("gateway config: no SNAT addresses (full-NAT needs at least one)");
    }
    snatAddresses = b.snatAddresses.stream().mapToInt(Integer::intValue).toArray();
    snatByPort = new int[MAX_PORT_ID + 1];
    for (Interface i : interfaces) {
      snatByPort[i.portId()] = snatAddresses[0];
      for (int s : snatAddresses) {
        if (i.contains(s)) {
          snatByPort[i.portId()] = s;
          break;
        }
      }
    }
    int rules = b.acl.size();
    aclNetwork = new int[rules];
    aclMask = new int[rules];
    aclPortLow = new int[rules];
    aclPortHigh = new int[rules];
    aclAllow = new boolean[rules];
    for (int r = 0; r < rules; r++) {
      AclRule rule = b.acl.get(r);
      aclMask[r] = Ipv4.mask(rule.prefixLength());
      aclNetwork[r] = rule.network() & aclMask[r];
      aclPortLow[r] = rule.portLow();
      aclPortHigh[r] = rule.portHigh();
      aclAllow[r] = rule.allow();
    }
    aclDefaultAllow = b.aclDefaultAllow;
    exceptionPath = b.exceptionPath;
    ipv6 = new Ipv6Config(b.interfaces6, b.snatAddresses6, b.vips6, b.acl6, b.aclDefaultAllow, limits.maglevTableSize());
    for (Ipv6Config.Interface6 i : b.interfaces6) {
      if (byPort[i.portId()] == null) {
        throw new IllegalArgumentException("gateway config: port " + i.portId() + " has an IPv6 address but no interface");
      }
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * The VIPs of an Envoy-shaped snapshot: every {@code tcp_proxy} listener whose cluster has
   * {@code lb_policy: MAGLEV} (see {@link SnapshotVips}); HTTP listeners are skipped.
   *
   * @throws IllegalArgumentException naming the listener or cluster the gateway cannot run
   */
  public static List<Vip> vipsFrom(io.keelson.dataplane.config.ProxySnapshot snapshot) {
    return SnapshotVips.from(snapshot);
  }

  /**
   * A builder holding the snapshot's VIPs and the given interfaces and SNAT addresses; add ACL
   * rules and limits, then {@link Builder#build()}.
   */
  public static Builder from(io.keelson.dataplane.config.ProxySnapshot snapshot, List<Interface> interfaces,
      String... snatAddresses) {
    Builder builder = builder();
    interfaces.forEach(builder::addInterface);
    for (String snat : snatAddresses) {
      builder.addSnatAddress(snat);
    }
    vipsFrom(snapshot).forEach(builder::addVip);
    vips6From(snapshot).forEach(builder::addVip6);
    return builder;
  }

  public List<Interface> interfaces() {
    return interfaces;
  }

  public List<Vip> vips() {
    return vips;
  }

  public GatewayLimits limits() {
    return limits;
  }

  public MaglevTable maglev(int vipIndex) {
    return maglev[vipIndex];
  }

  /** The IPv6 interfaces, VIPs, SNAT addresses and ACL (empty when the gateway runs IPv4 only). */
  public Ipv6Config ipv6() {
    return ipv6;
  }

  /** The IPv6 VIPs of an Envoy-shaped snapshot (see {@link SnapshotVips#from6}). */
  public static List<Ipv6Config.Vip6> vips6From(io.keelson.dataplane.config.ProxySnapshot snapshot) {
    return SnapshotVips.from6(snapshot);
  }

  // ---- per-packet lookups (package-private, allocation-free) ----

  static long vipKey(int ip, int port, int protocol) {
    return ((ip & 0xFFFFFFFFL) << 24) | ((long) port << 8) | protocol;
  }

  int vipIndex(int ip, int port, int protocol) {
    return vipByTuple.get(vipKey(ip, port, protocol));
  }

  boolean isVipAddress(int ip) {
    return vipAddresses.get(ip & 0xFFFFFFFFL) >= 0;
  }

  int backendIp(int vipIndex, int backend) {
    return backendIps[vipIndex][backend];
  }

  int backendPort(int vipIndex, int backend) {
    return backendPorts[vipIndex][backend];
  }

  /** The port's MAC, or -1 when the port is not a gateway interface. */
  long mac(int port) {
    Interface i = port >= 0 && port <= MAX_PORT_ID ? byPort[port] : null;
    return i == null ? -1 : i.mac();
  }

  /** True when {@code ip} is one of the interfaces' own addresses. */
  boolean isOwnAddress(int ip) {
    for (int i = 0, n = interfaces.size(); i < n; i++) {
      if (interfaces.get(i).ip() == ip) {
        return true;
      }
    }
    return false;
  }

  boolean isSnatAddress(int ip) {
    for (int s : snatAddresses) {
      if (s == ip) {
        return true;
      }
    }
    return false;
  }

  boolean inSnatRange(int port) {
    return port >= limits.snatPortLow() && port <= limits.snatPortHigh();
  }

  /**
   * Whether the gateway answers ARP for {@code ip} on {@code port}: its own address on its own
   * port; a VIP or SNAT address on the port whose subnet holds it, or on every port when no
   * subnet holds it (a VIP routed to the gateway from outside).
   */
  boolean answersArp(int ip, int port) {
    Interface rx = port >= 0 && port <= MAX_PORT_ID ? byPort[port] : null;
    if (rx == null) {
      return false;
    }
    if (rx.ip() == ip) {
      return true;
    }
    if (!isVipAddress(ip) && !isSnatAddress(ip)) {
      return false;
    }
    if (rx.contains(ip)) {
      return true;
    }
    for (int i = 0, n = interfaces.size(); i < n; i++) {
      if (interfaces.get(i).contains(ip)) {
        return false;
      }
    }
    return true;
  }

  /** The port's own address, used as the sender of the gateway's who-has (0 when unknown). */
  int ownAddress(int port) {
    Interface i = port >= 0 && port <= MAX_PORT_ID ? byPort[port] : null;
    return i == null ? 0 : i.ip();
  }

  /**
   * Where to send a packet for {@code ip}: {@code port << 32 | nextHop}, or -1 without a route.
   * Connected subnets first (longest prefix), then the interface with a default gateway.
   */
  long route(int ip) {
    Interface best = null;
    for (int i = 0, n = interfaces.size(); i < n; i++) {
      Interface candidate = interfaces.get(i);
      if (candidate.contains(ip) && (best == null || candidate.prefixLength() > best.prefixLength())) {
        best = candidate;
      }
    }
    if (best != null) {
      return ((long) best.portId() << 32) | (ip & 0xFFFFFFFFL);
    }
    for (int i = 0, n = interfaces.size(); i < n; i++) {
      Interface candidate = interfaces.get(i);
      if (candidate.defaultGateway() != 0) {
        return ((long) candidate.portId() << 32) | (candidate.defaultGateway() & 0xFFFFFFFFL);
      }
    }
    return -1;
  }

  /** The SNAT address to use toward backends reached through {@code port}. */
  int snatFor(int port) {
    return snatByPort[port];
  }

  /** First matching ACL rule decides; without a match, the default. */
  boolean aclAllows(int srcIp, int dstPort) {
    for (int r = 0; r < aclAllow.length; r++) {
      if ((srcIp & aclMask[r]) == aclNetwork[r] && dstPort >= aclPortLow[r] && dstPort <= aclPortHigh[r]) {
        return aclAllow[r];
      }
    }
    return aclDefaultAllow;
  }

  boolean exceptionPath() {
    return exceptionPath;
  }

  static long parseMac(String text) {
    String[] parts = text.split(":", -1);
    if (parts.length != 6) {
      throw new IllegalArgumentException("'" + text + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
    }
    long mac = 0;
    for (String part : parts) {
      if (part.length() != 2) {
        throw new IllegalArgumentException("'" + text + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
      }
      mac = (mac << 8) | Integer.parseInt(part, 16);
    }
    return mac;
  }

  /** Collects the parts of a {@link GatewayConfig}; {@link #build()} validates them. Not thread-safe. */
  public static final class Builder {
    private final List<Interface> interfaces = new ArrayList<>();
    private final List<Vip> vips = new ArrayList<>();
    private final List<Integer> snatAddresses = new ArrayList<>();
    private final List<AclRule> acl = new ArrayList<>();
    private boolean aclDefaultAllow = true;
    private boolean exceptionPath = true;
    private GatewayLimits limits = GatewayLimits.defaults();
    private final List<Ipv6Config.Interface6> interfaces6 = new ArrayList<>();
    private final List<Ipv6.Address> snatAddresses6 = new ArrayList<>();
    private final List<Ipv6Config.Vip6> vips6 = new ArrayList<>();
    private final List<Ipv6Config.AclRule6> acl6 = new ArrayList<>();

    private Builder() {}

    /** The gateway's IPv6 address on a port that also has an {@link Interface} (IPv4 stays required). */
    public Builder addInterface6(Ipv6Config.Interface6 i) {
      interfaces6.add(Objects.requireNonNull(i));
      return this;
    }

    public Builder addVip6(Ipv6Config.Vip6 vip) {
      vips6.add(Objects.requireNonNull(vip));
      return this;
    }

    public Builder addSnatAddress6(String ip) {
      snatAddresses6.add(Ipv6.Address.parse(ip));
      return this;
    }

    /** An IPv6 ACL rule; the IPv6 rules are evaluated in order, and {@link #aclDefaultAllow} applies to both families. */
    public Builder addAclRule6(Ipv6Config.AclRule6 rule) {
      acl6.add(Objects.requireNonNull(rule));
      return this;
    }

    public Builder addInterface(Interface i) {
      interfaces.add(Objects.requireNonNull(i));
      return this;
    }

    public Builder addVip(Vip vip) {
      vips.add(Objects.requireNonNull(vip));
      return this;
    }

    public Builder addVip(String name, String ip, int port, int protocol, Backend... backends) {
      return addVip(new Vip(name, Ipv4.parse(ip), port, protocol, Arrays.asList(backends)));
    }

    public Builder addSnatAddress(String ip) {
      snatAddresses.add(Ipv4.parse(ip));
      return this;
    }

    public Builder addAclRule(AclRule rule) {
      acl.add(Objects.requireNonNull(rule));
      return this;
    }

    /** What happens to a new flow no ACL rule matches (default: allowed). */
    public Builder aclDefaultAllow(boolean allow) {
      this.aclDefaultAllow = allow;
      return this;
    }

    /** Whether traffic for the gateway's own addresses goes to the kernel TAP port (default) or is dropped. */
    public Builder exceptionPath(boolean enabled) {
      this.exceptionPath = enabled;
      return this;
    }

    public Builder limits(GatewayLimits limits) {
      this.limits = Objects.requireNonNull(limits);
      return this;
    }

    public GatewayConfig build() {
      return new GatewayConfig(this);
    }
  }
}
