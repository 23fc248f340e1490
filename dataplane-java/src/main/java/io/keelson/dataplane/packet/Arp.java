package io.keelson.dataplane.packet;

/**
 * ARP for IPv4 over Ethernet (RFC 826); offsets from the start of the ARP payload.
 *
 * <pre>
 *  0      2      4    5    6      8               14          18              24          28
 *  | htype| ptype| hlen|plen| oper | sender MAC    | sender IP | target MAC    | target IP |
 * </pre>
 *
 * <p>Threading: constants only.
 */
public final class Arp {
  public static final int HTYPE = 0;
  public static final int PTYPE = 2;
  public static final int HLEN = 4;
  public static final int PLEN = 5;
  public static final int OPER = 6;
  public static final int SHA = 8;
  public static final int SPA = 14;
  public static final int THA = 18;
  public static final int TPA = 24;
  public static final int LENGTH = 28;

  public static final int HTYPE_ETHERNET = 1;
  public static final int OP_REQUEST = 1;
  public static final int OP_REPLY = 2;

  private Arp() {}
}
