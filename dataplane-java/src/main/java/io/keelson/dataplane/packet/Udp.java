package io.keelson.dataplane.packet;

/**
 * UDP header layout (RFC 768): {@code | sport | dport | length | checksum |}, 8 bytes.
 *
 * <p>Threading: constants only.
 */
public final class Udp {
  public static final int SRC_PORT = 0;
  public static final int DST_PORT = 2;
  public static final int LENGTH = 4;
  public static final int CHECKSUM = 6;
  public static final int HEADER_LENGTH = 8;

  private Udp() {}
}
