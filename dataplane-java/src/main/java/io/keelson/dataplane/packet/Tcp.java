package io.keelson.dataplane.packet;

/**
 * TCP header layout (RFC 9293); offsets from the start of the TCP header.
 *
 * <pre>
 *  0       2       4               8               12      13      14      16      18      20
 *  | sport | dport | sequence      | acknowledgment|off|rsv| flags | window| csum  | urg   | options...
 * </pre>
 *
 * <p>Threading: constants only.
 */
public final class Tcp {
  public static final int SRC_PORT = 0;
  public static final int DST_PORT = 2;
  public static final int SEQ = 4;
  public static final int ACK_NUMBER = 8;
  public static final int DATA_OFFSET = 12;
  public static final int FLAGS = 13;
  public static final int WINDOW = 14;
  public static final int CHECKSUM = 16;
  public static final int MIN_HEADER_LENGTH = 20;

  public static final int FIN = 0x01;
  public static final int SYN = 0x02;
  public static final int RST = 0x04;
  public static final int PSH = 0x08;
  public static final int ACK = 0x10;

  private Tcp() {}
}
