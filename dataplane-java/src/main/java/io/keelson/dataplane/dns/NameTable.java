package io.keelson.dataplane.dns;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The mesh's names and their addresses, as the control plane sends them to a sidecar (Istio's NDS
 * {@code NameTable}): each service's {@code NAME}, {@code NAME.NAMESPACE}, {@code NAME.NAMESPACE.svc} and
 * {@code NAME.NAMESPACE.svc.DOMAIN} to its VIP, and the zones the mesh owns ({@code svc.DOMAIN}): a name under a zone
 * that is not in the table does not exist (NXDOMAIN) rather than being asked upstream.
 *
 * <p>Looked up by the lower-case bytes of a query's name (an open-addressing table of byte keys): no allocation per
 * lookup. Immutable and safe to share between threads.
 */
public final class NameTable {
  /** Where the control plane puts the table: the {@code virtualOutbound} listener's {@code metadata.filter_metadata}. */
  public static final String METADATA_KEY = "keelson.io/name_table";
  public static final NameTable EMPTY = new NameTable(new TreeMap<>(), List.of());

  private final Map<String, Entry> names; // for equality, listing and tests
  private final List<String> zones;
  private final byte[][] keys;
  private final Entry[] values;
  private final int mask;
  private final byte[][] zoneBytes;

  /** The addresses of one name, each as network-order bytes (4 for A, 16 for AAAA). */
  public record Entry(List<byte[]> v4, List<byte[]> v6) {
    public Entry {
      v4 = List.copyOf(v4);
      v6 = List.copyOf(v6);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Entry e && same(v4, e.v4) && same(v6, e.v6);
    }

    @Override
    public int hashCode() {
      int h = 0;
      for (byte[] b : v4) {
        h = 31 * h + Arrays.hashCode(b);
      }
      for (byte[] b : v6) {
        h = 31 * h + Arrays.hashCode(b);
      }
      return h;
    }

    private static boolean same(List<byte[]> a, List<byte[]> b) {
      if (a.size() != b.size()) {
        return false;
      }
      for (int i = 0; i < a.size(); i++) {
        if (!Arrays.equals(a.get(i), b.get(i))) {
          return false;
        }
      }
      return true;
    }
  }

  private NameTable(TreeMap<String, Entry> names, List<String> zones) {
    this.names = java.util.Collections.unmodifiableMap(names);
    this.zones = List.copyOf(zones);
    int capacity = Integer.highestOneBit(Math.max(4, names.size() * 2 - 1)) << 1;
    this.keys = new byte[capacity][];
    this.values = new Entry[capacity];
    this.mask = capacity - 1;
    for (Map.Entry<String, Entry> e : names.entrySet()) {
      byte[] key = e.getKey().getBytes(StandardCharsets.ISO_8859_1);
      int slot = hash(key, 0, key.length) & mask;
      while (keys[slot] != null) {
        slot = (slot + 1) & mask;
      }
      keys[slot] = key;
      values[slot] = e.getValue();
    }
    this.zoneBytes = new byte[zones.size()][];
    for (int i = 0; i < zones.size(); i++) {
      zoneBytes[i] = zones.get(i).getBytes(StandardCharsets.ISO_8859_1);
    }
  }

  /**
   * A table of {@code names} (any case, an optional final dot; IPv4 and IPv6 addresses) and {@code zones}.
   *
   * @throws IllegalArgumentException naming a name that is not a DNS name
   */
  public static NameTable of(Map<String, List<InetAddress>> names, List<String> zones) {
    TreeMap<String, Entry> entries = new TreeMap<>();
    for (Map.Entry<String, List<InetAddress>> e : names.entrySet()) {
      String name = normalize(e.getKey());
      List<byte[]> v4 = new ArrayList<>();
      List<byte[]> v6 = new ArrayList<>();
      for (InetAddress a : e.getValue()) {
        (a instanceof Inet4Address ? v4 : v6).add(a.getAddress());
      }
      entries.put(name, new Entry(v4, v6));
    }
    List<String> z = new ArrayList<>();
    for (String zone : zones) {
      z.add(normalize(zone));
    }
    return new NameTable(entries, z);
  }

  /** {@code name} lower case without a final dot; a name of labels of 1-63 letters, digits, '-' and '_'. */
  public static String normalize(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    if (n.endsWith(".")) {
      n = n.substring(0, n.length() - 1);
    }
    if (n.isEmpty() || n.length() > DnsWire.MAX_NAME) {
      throw new IllegalArgumentException("'" + name + "' is not a DNS name: expected 1 to 253 characters");
    }
    for (String label : n.split("\\.", -1)) {
      if (label.isEmpty() || label.length() > DnsWire.MAX_LABEL || !label.matches("[a-z0-9_-]+")) {
        throw new IllegalArgumentException("'" + name + "' is not a DNS name: expected dot-separated labels of 1 to 63"
            + " letters, digits, '-' or '_'");
      }
    }
    return n;
  }

  /** The entry of the {@code length} name bytes at {@code offset} (lower case, no final dot), or null. */
  public Entry lookup(byte[] name, int offset, int length) {
    int slot = hash(name, offset, length) & mask;
    for (byte[] key = keys[slot]; key != null; key = keys[slot]) {
      if (Arrays.equals(key, 0, key.length, name, offset, offset + length)) {
        return values[slot];
      }
      slot = (slot + 1) & mask;
    }
    return null;
  }

  /** True when the name is a zone of the mesh or under one. */
  public boolean inZone(byte[] name, int length) {
    for (byte[] zone : zoneBytes) {
      if (length == zone.length && Arrays.equals(zone, 0, zone.length, name, 0, length)) {
        return true;
      }
      if (length > zone.length && name[length - zone.length - 1] == '.'
          && Arrays.equals(zone, 0, zone.length, name, length - zone.length, length)) {
        return true;
      }
    }
    return false;
  }

  public int size() {
    return names.size();
  }

  /** Every name and its entry, in name order. */
  public Map<String, Entry> names() {
    return names;
  }

  public List<String> zones() {
    return zones;
  }

  /** The addresses of {@code name} as text (tests, logs); empty when it is not in the table. */
  public List<String> addresses(String name) {
    Entry e = names.get(normalize(name));
    if (e == null) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (byte[] b : e.v4()) {
      out.add(text(b));
    }
    for (byte[] b : e.v6()) {
      out.add(text(b));
    }
    return out;
  }

  private static String text(byte[] address) {
    try {
      return InetAddress.getByAddress(address).getHostAddress();
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  private static int hash(byte[] b, int offset, int length) {
    int h = 0x811C9DC5;
    for (int i = offset; i < offset + length; i++) {
      h = (h ^ b[i]) * 0x01000193;
    }
    return h ^ (h >>> 16);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof NameTable t && t.names.equals(names) && t.zones.equals(zones);
  }

  @Override
  public int hashCode() {
    return names.hashCode() * 31 + zones.hashCode();
  }

  @Override
  public String toString() {
    return "NameTable[" + names.size() + " names, zones " + zones + "]";
  }
}
