package io.keelson.dataplane.tls.offload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.keelson.dataplane.internal.ffm.KernelTls;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java encoding of the kernel's crypto_info structs against the system's own {@code <linux/tls.h>}: a small
 * C program compiled with gcc at test time prints every {@code sizeof}/{@code offsetof} and constant. Skipped,
 * with the reason, where gcc or the header is missing.
 */
class CryptoInfoLayoutTest {
  @TempDir static Path dir;
  static Map<String, Long> c;

  private static final String PROGRAM = """
      #include <stdio.h>
      #include <stddef.h>
      #include <sys/socket.h>
      #include <netinet/tcp.h>
      #include <linux/tls.h>
      #ifndef SOL_TLS
      #define SOL_TLS 282
      #endif
      #define P(name, v) printf("%s %ld\\n", name, (long) (v))
      #define S(t, pre) \\
        P(pre ".size", sizeof(struct t)); P(pre ".iv", offsetof(struct t, iv)); \\
        P(pre ".key", offsetof(struct t, key)); P(pre ".salt", offsetof(struct t, salt)); \\
        P(pre ".rec_seq", offsetof(struct t, rec_seq)); \\
        P(pre ".version", offsetof(struct t, info.version)); P(pre ".cipher_type", offsetof(struct t, info.cipher_type))
      int main(void) {
        S(tls12_crypto_info_aes_gcm_128, "AES_128_GCM");
        S(tls12_crypto_info_aes_gcm_256, "AES_256_GCM");
        S(tls12_crypto_info_chacha20_poly1305, "CHACHA20_POLY1305");
        P("AES_128_GCM.type", TLS_CIPHER_AES_GCM_128);
        P("AES_256_GCM.type", TLS_CIPHER_AES_GCM_256);
        P("CHACHA20_POLY1305.type", TLS_CIPHER_CHACHA20_POLY1305);
        P("AES_128_GCM.key_size", TLS_CIPHER_AES_GCM_128_KEY_SIZE);
        P("AES_256_GCM.key_size", TLS_CIPHER_AES_GCM_256_KEY_SIZE);
        P("CHACHA20_POLY1305.key_size", TLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE);
        P("TLS_1_3_VERSION", TLS_1_3_VERSION);
        P("TLS_TX", TLS_TX);
        P("TLS_RX", TLS_RX);
        P("SOL_TLS", SOL_TLS);
        P("TCP_ULP", TCP_ULP);
        return 0;
      }
      """;

  @BeforeAll
  static void compileAndRun() throws Exception {
    assumeTrue(Files.exists(Path.of("/usr/include/linux/tls.h")), "no <linux/tls.h> (install linux-libc-dev)");
    Path src = dir.resolve("tls_layout.c");
    Path bin = dir.resolve("tls_layout");
    Files.writeString(src, PROGRAM);
    Process gcc;
    try {
      gcc = new ProcessBuilder("gcc", "-o", bin.toString(), src.toString()).redirectErrorStream(true).start();
    } catch (java.io.IOException e) {
      assumeTrue(false, "gcc is not installed: " + e.getMessage());
      return;
    }
    assertThat(gcc.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String gccOut = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(gcc.exitValue()).as("gcc: " + gccOut).isZero();
    Process run = new ProcessBuilder(bin.toString()).redirectErrorStream(true).start();
    assertThat(run.waitFor(10, TimeUnit.SECONDS)).isTrue();
    c = new HashMap<>();
    for (String line : new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
      String[] kv = line.trim().split(" ");
      c.put(kv[0], Long.parseLong(kv[1]));
    }
  }

  @Test
  void sizesAndOffsetsMatchTheKernelHeader() {
    for (OffloadCipher cipher : OffloadCipher.values()) {
      String p = cipher.name() + ".";
      assertThat(CryptoInfoLayout.size(cipher)).as(p + "size").isEqualTo(c.get(p + "size").intValue());
      assertThat(0).as(p + "version").isEqualTo(c.get(p + "version").intValue());
      assertThat(2).as(p + "cipher_type").isEqualTo(c.get(p + "cipher_type").intValue());
      assertThat(CryptoInfoLayout.ivOffset(cipher)).as(p + "iv").isEqualTo(c.get(p + "iv").intValue());
      assertThat(CryptoInfoLayout.keyOffset(cipher)).as(p + "key").isEqualTo(c.get(p + "key").intValue());
      assertThat(CryptoInfoLayout.saltOffset(cipher)).as(p + "salt").isEqualTo(c.get(p + "salt").intValue());
      assertThat(CryptoInfoLayout.recSeqOffset(cipher)).as(p + "rec_seq").isEqualTo(c.get(p + "rec_seq").intValue());
      assertThat(cipher.kernelType).as(p + "type").isEqualTo(c.get(p + "type").intValue());
      assertThat(cipher.keyLength).as(p + "key_size").isEqualTo(c.get(p + "key_size").intValue());
    }
  }

  @Test
  void constantsMatchTheKernelHeaders() {
    assertThat(CryptoInfoLayout.TLS_1_3_VERSION).isEqualTo(c.get("TLS_1_3_VERSION").intValue());
    assertThat(KernelTls.TLS_TX).isEqualTo(c.get("TLS_TX").intValue());
    assertThat(KernelTls.TLS_RX).isEqualTo(c.get("TLS_RX").intValue());
    assertThat(KernelTls.SOL_TLS).isEqualTo(c.get("SOL_TLS").intValue());
    assertThat(KernelTls.TCP_ULP).isEqualTo(c.get("TCP_ULP").intValue());
  }

  @Test
  void encodesKeyIvSaltAndSequenceWhereTheStructHasThem() {
    for (OffloadCipher cipher : OffloadCipher.values()) {
      byte[] secret = new byte[cipher.secretLength];
      secret[0] = 7;
      TrafficKeys keys = TrafficKeys.derive(cipher, secret);
      byte[] b = CryptoInfoLayout.encode(cipher, keys, 0x0102030405060708L);
      ByteBuffer n = ByteBuffer.wrap(b).order(ByteOrder.nativeOrder());
      String p = cipher.name() + ".";
      assertThat(n.getShort(c.get(p + "version").intValue())).isEqualTo((short) 0x0304);
      assertThat(n.getShort(c.get(p + "cipher_type").intValue())).isEqualTo((short) cipher.kernelType);
      int salt = c.get(p + "salt").intValue();
      int iv = c.get(p + "iv").intValue();
      int saltLen = c.get(p + "rec_seq").intValue() - salt;
      // salt = the IV's first bytes, iv = the rest: together the 12-byte TLS 1.3 IV
      byte[] full = new byte[12];
      System.arraycopy(b, salt, full, 0, saltLen);
      System.arraycopy(b, iv, full, saltLen, 12 - saltLen);
      assertThat(full).as(p + "salt||iv").isEqualTo(keys.iv());
      byte[] key = java.util.Arrays.copyOfRange(b, c.get(p + "key").intValue(), c.get(p + "key").intValue() + cipher.keyLength);
      assertThat(key).as(p + "key").isEqualTo(keys.key());
      int seq = c.get(p + "rec_seq").intValue();
      assertThat(java.util.Arrays.copyOfRange(b, seq, seq + 8)).as(p + "rec_seq is big-endian")
          .containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
    }
  }
}
