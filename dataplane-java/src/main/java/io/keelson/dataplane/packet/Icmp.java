package io.keelson.dataplane.packet;

/**
 * ICMP echo layout (RFC 792): {@code | type | code | checksum | identifier | sequence | data...}.
 *
 * <p>Threading: constants only.
 */
public final class Icmp {
  public static final int TYPE = 0;
  public static final int CODE = 1;
  public static final int CHECKSUM = 2;
  public static final int ID = 4;
  public static final int SEQUENCE = 6;
  public static final int HEADER_LENGTH = 8;

  public static final int ECHO_REPLY = 0;
  public static final int ECHO_REQUEST = 8;

  private Icmp() {}
}
