package io.keelson.dataplane.internal.ffm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.util.List;
import org.junit.jupiter.api.Test;

class PacketBufferTest {
  private static final byte[] FRAME = {
    (byte) 0x02, 0x00, 0x00, 0x00, 0x00, 0x10, (byte) 0xAA, (byte) 0xBB, (byte) 0xCC, (byte) 0xDD,
    (byte) 0xEE, (byte) 0xFF, 0x08, 0x00, 0x45, 0x00, (byte) 0x80, 0x01
  };

  @Test
  void heapAndNativePacketsReadTheSameBigEndianValues() {
    try (Arena arena = Arena.ofConfined()) {
      PacketBuffer heap = PacketBuffer.ofBytes(FRAME.clone(), FRAME.length);
      PacketBuffer off = PacketBuffer.ofNativeCopy(arena, FRAME, FRAME.length);
      for (PacketBuffer p : new PacketBuffer[] {heap, off}) {
        assertThat(p.getMac(0)).isEqualTo(0x020000000010L);
        assertThat(p.getMac(6)).isEqualTo(0xAABBCCDDEEFFL);
        assertThat(p.getShort(12)).isEqualTo(0x0800);
        assertThat(p.getByte(14)).isEqualTo(0x45);
        assertThat(p.getInt(14)).isEqualTo(0x45008001);
        assertThat(p.getShort(16)).isEqualTo(0x8001); // unsigned, not negative
        assertThat(p.nativeHandle()).isZero();
      }
    }
  }

  @Test
  void writesLandInTheBackingMemoryOfEitherKind() {
    try (Arena arena = Arena.ofConfined()) {
      byte[] array = FRAME.clone();
      PacketBuffer heap = PacketBuffer.ofBytes(array, array.length);
      PacketBuffer off = PacketBuffer.ofNativeCopy(arena, FRAME, FRAME.length);
      for (PacketBuffer p : new PacketBuffer[] {heap, off}) {
        p.putMac(0, 0x112233445566L);
        p.putShort(12, 0x86DD);
        p.putInt(14, 0xCAFEBABE);
        p.putByte(17, 0x7F);
        byte[] out = new byte[FRAME.length];
        p.getBytes(0, out, 0, out.length);
        assertThat(out).startsWith((byte) 0x11, (byte) 0x22, (byte) 0x33, (byte) 0x44, (byte) 0x55, (byte) 0x66);
        assertThat(p.getShort(12)).isEqualTo(0x86DD);
        assertThat(p.getInt(14)).isEqualTo(0xCAFEBA7F);
      }
      assertThat(array[14]).isEqualTo((byte) 0xCA); // the heap flyweight wrote through to the caller's array
    }
  }

  @Test
  void aLengthChangeIsRememberedUntilTheBufferIsWrappedAgain() {
    PacketBuffer p = PacketBuffer.ofBytes(new byte[64], 60);
    assertThat(p.lengthChanged()).isFalse();
    p.length(60);
    assertThat(p.lengthChanged()).as("the same length is no change").isFalse();
    p.length(54);
    assertThat(p.lengthChanged()).isTrue();
    p.length(60);
    assertThat(p.lengthChanged()).as("back to the wrapped length").isFalse();
    p.length(40);
    p.wrapHeap(new byte[64], 40);
    assertThat(p.lengthChanged()).as("a new packet starts unchanged").isFalse();
  }

  @Test
  void longsAreReadAndWrittenBigEndianOnTheHeapAndNatively() {
    try (Arena arena = Arena.ofConfined()) {
      byte[] bytes = new byte[16];
      for (PacketBuffer p : List.of(PacketBuffer.ofBytes(bytes, 16), PacketBuffer.ofNativeCopy(arena, bytes, 16))) {
        p.putLong(3, 0x0102030405060708L);
        assertThat(p.getByte(3)).isEqualTo(0x01);
        assertThat(p.getByte(10)).isEqualTo(0x08);
        assertThat(p.getInt(3)).isEqualTo(0x01020304);
        assertThat(p.getLong(3)).isEqualTo(0x0102030405060708L);
        assertThat(p.getByte(2)).isZero();
        assertThat(p.getByte(11)).isZero();
      }
    }
  }

  @Test
  void heapReadsOutsideTheArrayThrowInsteadOfReadingMemory() {
    PacketBuffer heap = PacketBuffer.ofBytes(new byte[8], 8);
    assertThatThrownBy(() -> heap.getInt(6)).isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> heap.length(9)).isInstanceOf(IndexOutOfBoundsException.class);
  }
}
