package io.keelson.dataplane.packet;

import io.keelson.dataplane.packet.maglev.MaglevTable;
import java.util.List;

/**
 * The IPv6 half of a {@link GatewayConfig}: the gateway's IPv6 interface addresses, IPv6 VIPs with their
 * backends and Maglev tables, IPv6 SNAT addresses and ACL rules, compiled into primitive arrays for
 * the per-packet lookups of {@link Ipv6Forwarder}. Kept apart from the IPv4 structures so the IPv4 path's
 * layout and cost do not change. Empty (no interface, no VIP) when the gateway runs IPv4 only.
 *
 * <p>VIP lookup is a scan over the VIP arrays (a gateway has a few VIPs; the last hit is memoised by
 * the caller's train logic anyway).
 *
 * <p>Threading: immutable; safe to share between threads.
 */
public final class Ipv6Config {
  /**
   * The gateway's IPv6 address on a port and the on-link prefix length.
   *
   * @param defaultGateway the router for destinations outside every port's prefix (as {@link
   *     GatewayConfig.Interface#defaultGateway()}), null for none: on-link or link-local (fe80::/10); the first
   *     interface with one is used
   */
  public record Interface6(int portId, Ipv6.Prefix address, Ipv6.Address defaultGateway) {
    public Interface6 {
      if (portId < 0 || portId > GatewayConfig.MAX_PORT_ID) {
        throw new IllegalArgumentException("interface port id " + portId + " outside 0.." + GatewayConfig.MAX_PORT_ID);
      }
      if (defaultGateway != null && !address.contains(defaultGateway.hi(), defaultGateway.lo())
          && !LINK_LOCAL.contains(defaultGateway.hi(), defaultGateway.lo())) {
        throw new IllegalArgumentException("interface " + portId + ": IPv6 default gateway " + defaultGateway
            + " is neither in the port's prefix " + address.network() + "/" + address.length()
            + " nor link-local (fe80::/10): a next hop must be on-link");
      }
    }

    public Interface6(int portId, Ipv6.Prefix address) {
      this(portId, address, null);
    }

    public static Interface6 of(int portId, String cidr) {
      return of(portId, cidr, null);
    }

    /** E.g. {@code of(1, "2001:db8:2::1/64", "2001:db8:2::fe")}; the gateway may be null. */
    public static Interface6 of(int portId, String cidr, String defaultGateway) {
      return new Interface6(portId, Ipv6.Prefix.parse(cidr),
          defaultGateway == null ? null : Ipv6.Address.parse(defaultGateway.trim()));
    }
  }

  private static final Ipv6.Prefix LINK_LOCAL = Ipv6.Prefix.parse("fe80::/10");

  /** Set in a {@link #route} result when the next hop is the port's default gateway, not the destination. */
  static final int VIA_GATEWAY = 1 << 16;
  /** The port id in a {@link #route} result. */
  static final int ROUTE_PORT = 0xFFFF;

  /** One backend of an IPv6 VIP: address, port and Maglev weight (0 = drained). */
  public record Backend6(Ipv6.Address ip, int port, int weight) {
    public Backend6 {
      if (port < 1 || port > 65_535 || weight < 0) {
        throw new IllegalArgumentException("backend [" + ip + "]:" + port + " weight " + weight + " invalid");
      }
    }

    public static Backend6 of(String ip, int port, int weight) {
      return new Backend6(Ipv6.Address.parse(ip), port, weight);
    }

    /** The Maglev identity: stable per (address, port), so a backend claims the same entries in every build. */
    long key() {
      return MaglevTable.mix(ip.hi() ^ Long.rotateLeft(ip.lo(), 29)) ^ port;
    }
  }

  /** A virtual service at {@code [ip]:port/protocol}, balanced over {@code backends}. */
  public record Vip6(String name, Ipv6.Address ip, int port, int protocol, List<Backend6> backends) {
    public Vip6 {
      backends = List.copyOf(backends);
      if (protocol != Ipv4.PROTO_TCP && protocol != Ipv4.PROTO_UDP) {
        throw new IllegalArgumentException("vip '" + name + "': protocol " + protocol + " is neither TCP (6) nor UDP (17)");
      }
      if (port < 1 || port > 65_535) {
        throw new IllegalArgumentException("vip '" + name + "': port " + port + " outside 1..65535");
      }
    }
  }

  /** An ACL rule over new IPv6 flows: source in {@code source}, destination port in {@code [portLow, portHigh]}. */
  public record AclRule6(Ipv6.Prefix source, int portLow, int portHigh, boolean allow) {
    public static AclRule6 of(String cidr, int portLow, int portHigh, boolean allow) {
      return new AclRule6(Ipv6.Prefix.parse(cidr), portLow, portHigh, allow);
    }
  }

  private final List<Interface6> interfaces;
  private final List<Vip6> vips;
  // Per port id: the interface's address and prefix length; hasPort false where the port has no IPv6 address.
  private final boolean[] hasPort = new boolean[GatewayConfig.MAX_PORT_ID + 1];
  private final long[] portHi = new long[GatewayConfig.MAX_PORT_ID + 1];
  private final long[] portLo = new long[GatewayConfig.MAX_PORT_ID + 1];
  private final int[] portPrefix = new int[GatewayConfig.MAX_PORT_ID + 1];
  /** The first interface with a default gateway (its port id), or -1; and that gateway. */
  private final int gatewayPort;
  private final long gatewayHi;
  private final long gatewayLo;
  private final long[] snatHi;
  private final long[] snatLo;
  /** Per port id: the index in {@link #snatHi} of the SNAT address used toward hosts behind that port. */
  private final int[] snatByPort = new int[GatewayConfig.MAX_PORT_ID + 1];
  private final long[] vipHi;
  private final long[] vipLo;
  private final int[] vipPortProto;
  private final MaglevTable[] maglev;
  private final long[][] backendHi;
  private final long[][] backendLo;
  private final int[][] backendPorts;
  private final AclRule6[] acl;
  private final boolean aclDefaultAllow;

  Ipv6Config(List<Interface6> interfaces, List<Ipv6.Address> snat, List<Vip6> vips, List<AclRule6> acl,
      boolean aclDefaultAllow, int maglevTableSize) {
    this.interfaces = List.copyOf(interfaces);
    this.vips = List.copyOf(vips);
    for (Interface6 i : this.interfaces) {
      if (hasPort[i.portId()]) {
        throw new IllegalArgumentException("gateway config: port " + i.portId() + " has two IPv6 addresses");
      }
      hasPort[i.portId()] = true;
      portHi[i.portId()] = i.address().network().hi();
      portLo[i.portId()] = i.address().network().lo();
      portPrefix[i.portId()] = i.address().length();
    }
    Interface6 routed = this.interfaces.stream().filter(i -> i.defaultGateway() != null).findFirst().orElse(null);
    gatewayPort = routed == null ? -1 : routed.portId();
    gatewayHi = routed == null ? 0 : routed.defaultGateway().hi();
    gatewayLo = routed == null ? 0 : routed.defaultGateway().lo();
    if (!this.vips.isEmpty() && (snat.isEmpty() || this.interfaces.isEmpty())) {
      throw new IllegalArgumentException("gateway config: IPv6 VIP '" + this.vips.get(0).name() + "' needs an IPv6"
          + " interface address (--port-ip6 ROLE=ADDR/LEN) and an IPv6 SNAT address (--snat ADDR, default: the last"
          + " --port-ip6 address)");
    }
    snatHi = snat.stream().mapToLong(Ipv6.Address::hi).toArray();
    snatLo = snat.stream().mapToLong(Ipv6.Address::lo).toArray();
    for (Interface6 i : this.interfaces) {
      for (int s = 0; s < snatHi.length; s++) {
        if (i.address().contains(snatHi[s], snatLo[s])) {
          snatByPort[i.portId()] = s;
          break;
        }
      }
    }
    int n = this.vips.size();
    vipHi = new long[n];
    vipLo = new long[n];
    vipPortProto = new int[n];
    maglev = new MaglevTable[n];
    backendHi = new long[n][];
    backendLo = new long[n][];
    backendPorts = new int[n][];
    for (int v = 0; v < n; v++) {
      Vip6 vip = this.vips.get(v);
      vipHi[v] = vip.ip().hi();
      vipLo[v] = vip.ip().lo();
      vipPortProto[v] = vip.port() << 8 | vip.protocol();
      for (int u = 0; u < v; u++) {
        if (vipHi[u] == vipHi[v] && vipLo[u] == vipLo[v] && vipPortProto[u] == vipPortProto[v]) {
          throw new IllegalArgumentException("gateway config: vip '" + vip.name()
              + "' duplicates the address, port and protocol of vip '" + this.vips.get(u).name() + "'");
        }
      }
      int b = vip.backends().size();
      long[] keys = new long[b];
      int[] weights = new int[b];
      backendHi[v] = new long[b];
      backendLo[v] = new long[b];
      backendPorts[v] = new int[b];
      for (int k = 0; k < b; k++) {
        Backend6 be = vip.backends().get(k);
        keys[k] = be.key();
        weights[k] = be.weight();
        backendHi[v][k] = be.ip().hi();
        backendLo[v][k] = be.ip().lo();
        backendPorts[v][k] = be.port();
      }
      maglev[v] = MaglevTable.build(keys, weights, maglevTableSize);
    }
    this.acl = acl.toArray(new AclRule6[0]);
    this.aclDefaultAllow = aclDefaultAllow;
  }

  public List<Interface6> interfaces() {
    return interfaces;
  }

  public List<Vip6> vips() {
    return vips;
  }

  public MaglevTable maglev(int vipIndex) {
    return maglev[vipIndex];
  }

  /** True when no port has an IPv6 address: IPv6 packets are then dropped as {@link DropReason#IPV6_UNSUPPORTED}. */
  boolean disabled() {
    return interfaces.isEmpty();
  }

  // ---- per-packet lookups (package-private, allocation-free) ----

  int vipIndex(long hi, long lo, int port, int protocol) {
    int key = port << 8 | protocol;
    for (int v = 0; v < vipHi.length; v++) {
      if (vipLo[v] == lo && vipHi[v] == hi && vipPortProto[v] == key) {
        return v;
      }
    }
    return -1;
  }

  boolean isVipAddress(long hi, long lo) {
    for (int v = 0; v < vipHi.length; v++) {
      if (vipLo[v] == lo && vipHi[v] == hi) {
        return true;
      }
    }
    return false;
  }

  int backendCount(int vip) {
    return backendPorts[vip].length;
  }

  long backendHi(int vip, int backend) {
    return backendHi[vip][backend];
  }

  long backendLo(int vip, int backend) {
    return backendLo[vip][backend];
  }

  int backendPort(int vip, int backend) {
    return backendPorts[vip][backend];
  }

  boolean isOwnAddress(long hi, long lo) {
    for (Interface6 i : interfaces) {
      if (portLo[i.portId()] == lo && portHi[i.portId()] == hi) {
        return true;
      }
    }
    return false;
  }

  boolean isSnatAddress(long hi, long lo) {
    for (int s = 0; s < snatHi.length; s++) {
      if (snatLo[s] == lo && snatHi[s] == hi) {
        return true;
      }
    }
    return false;
  }

  /** Whether the gateway answers Neighbor Solicitations for {@code target} on {@code port} (as {@link GatewayConfig#answersArp}). */
  boolean answersNeighbourSolicitation(long hi, long lo, int port) {
    if (port < 0 || port > GatewayConfig.MAX_PORT_ID || !hasPort[port]) {
      return false;
    }
    if (portHi[port] == hi && portLo[port] == lo) {
      return true;
    }
    if (!isVipAddress(hi, lo) && !isSnatAddress(hi, lo)) {
      return false;
    }
    if (onLink(port, hi, lo)) {
      return true;
    }
    for (Interface6 i : interfaces) {
      if (onLink(i.portId(), hi, lo)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Where to send a packet for {@code hi:lo}: the port whose on-link prefix holds it (longest prefix), else
   * the port of the default gateway with {@link #VIA_GATEWAY} set (the next hop is then {@link #gatewayHi}),
   * else -1.
   */
  int route(long hi, long lo) {
    int best = -1;
    for (Interface6 i : interfaces) {
      int p = i.portId();
      if (onLink(p, hi, lo) && (best < 0 || portPrefix[p] > portPrefix[best])) {
        best = p;
      }
    }
    return best >= 0 || gatewayPort < 0 ? best : gatewayPort | VIA_GATEWAY;
  }

  /** Whether {@code port} is the default gateway's port (a flow routed there may outlive a config that drops it). */
  boolean hasGatewayOn(int port) {
    return gatewayPort == port;
  }

  long gatewayHi() {
    return gatewayHi;
  }

  long gatewayLo() {
    return gatewayLo;
  }

  long ownHi(int port) {
    return portHi[port];
  }

  long ownLo(int port) {
    return portLo[port];
  }

  long snatHi(int port) {
    return snatHi[snatByPort[port]];
  }

  long snatLo(int port) {
    return snatLo[snatByPort[port]];
  }

  boolean aclAllows(long hi, long lo, int dstPort) {
    for (AclRule6 rule : acl) {
      if (rule.source().contains(hi, lo) && dstPort >= rule.portLow() && dstPort <= rule.portHigh()) {
        return rule.allow();
      }
    }
    return aclDefaultAllow;
  }

  private boolean onLink(int port, long hi, long lo) {
    return hasPort[port] && Ipv6.matches(hi, lo, portHi[port], portLo[port], portPrefix[port]);
  }
}
