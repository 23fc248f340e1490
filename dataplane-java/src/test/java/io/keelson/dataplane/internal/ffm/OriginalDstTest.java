package io.keelson.dataplane.internal.ffm;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/**
 * Decoding what {@code getsockopt(SO_ORIGINAL_DST)} writes (the family in host order, the port in network order),
 * and the call itself on a descriptor that is no socket (no root needed).
 */
class OriginalDstTest {
  @Test
  void decodesASockaddrIn() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(16);
      s.set(ValueLayout.JAVA_SHORT, 0, (short) OriginalDst.AF_INET); // host order
      s.set(ValueLayout.JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN), 2, (short) 8080);
      s.asSlice(4, 4).copyFrom(MemorySegment.ofArray(new byte[] {10, 123, 0, 1}));
      assertThat(OriginalDst.decode(s, 16)).isEqualTo(new InetSocketAddress("10.123.0.1", 8080));
    }
  }

  @Test
  void decodesASockaddrIn6WithAHighPort() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(28);
      s.set(ValueLayout.JAVA_SHORT, 0, (short) OriginalDst.AF_INET6);
      s.set(ValueLayout.JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN), 2, (short) 65000); // above Short.MAX_VALUE
      byte[] ip = new byte[16];
      ip[0] = 0x20;
      ip[1] = 0x01;
      ip[2] = 0x0d;
      ip[3] = (byte) 0xb8;
      ip[15] = 5;
      s.asSlice(8, 16).copyFrom(MemorySegment.ofArray(ip));
      assertThat(OriginalDst.decode(s, 28)).isEqualTo(new InetSocketAddress("2001:db8::5", 65000));
    }
  }

  @Test
  void rejectsAnUnknownFamilyOrAShortLength() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(16);
      s.set(ValueLayout.JAVA_SHORT, 0, (short) 1); // AF_UNIX
      assertThat(OriginalDst.decode(s, 16)).isNull();
      s.set(ValueLayout.JAVA_SHORT, 0, (short) OriginalDst.AF_INET);
      assertThat(OriginalDst.decode(s, 3)).isNull();
      s.set(ValueLayout.JAVA_SHORT, 0, (short) OriginalDst.AF_INET6);
      assertThat(OriginalDst.decode(s, 16)).as("a sockaddr_in6 needs 24 bytes to its address's end").isNull();
    }
  }

  @Test
  void aBadDescriptorHasNoOriginalDestination() {
    assertThat(OriginalDst.read(Integer.MAX_VALUE, false)).isNull();
    assertThat(OriginalDst.lastErrno()).as("EBADF").isEqualTo(9);
  }
}
