package io.keelson.dataplane.packet;

/**
 * Ethernet II header layout, with at most one 802.1Q tag.
 *
 * <pre>
 *  0                   6                   12      14
 *  +-------------------+-------------------+-------+------------
 *  | destination MAC   | source MAC        | type  | payload
 *  +-------------------+-------------------+-------+------------
 *  with a tag:                             | 8100  | TCI | type | payload (at 18)
 * </pre>
 *
 * <p>Threading: constants only.
 */
public final class Ethernet {
  public static final int DST = 0;
  public static final int SRC = 6;
  public static final int TYPE = 12;
  public static final int HEADER_LENGTH = 14;
  public static final int VLAN_HEADER_LENGTH = 18;
  /** Frames shorter than this are padded on the wire (without the FCS). */
  public static final int MIN_FRAME = 60;

  public static final int TYPE_IPV4 = 0x0800;
  public static final int TYPE_ARP = 0x0806;
  public static final int TYPE_VLAN = 0x8100;
  public static final int TYPE_IPV6 = 0x86DD;

  public static final long BROADCAST = 0xFFFF_FFFF_FFFFL;

  private Ethernet() {}

  /** Group (multicast or broadcast) addresses have the low bit of the first byte set. */
  public static boolean isGroup(long mac) {
    return (mac & 0x0100_0000_0000L) != 0;
  }
}
