package io.keelson.dataplane.tls.offload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The TLS 1.3 key schedule's last step against RFC 8448 §3 (simple 1-RTT handshake, TLS_AES_128_GCM_SHA256). */
class TrafficKeysTest {
  private static byte[] hex(String s) {
    return HexFormat.of().parseHex(s.replace(" ", ""));
  }

  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }

  @Test
  void derivesTheServerApplicationWriteKeyAndIvOfRfc8448() {
    TrafficKeys k = TrafficKeys.derive(OffloadCipher.AES_128_GCM,
        hex("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643"));
    assertThat(hex(k.key())).isEqualTo("9f02283b6c9c07efc26bb9f2ac92e356");
    assertThat(hex(k.iv())).isEqualTo("cf782b88dd83549aadf1e984");
  }

  @Test
  void derivesTheClientApplicationWriteKeyAndIvOfRfc8448() {
    TrafficKeys k = TrafficKeys.derive(OffloadCipher.AES_128_GCM,
        hex("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5"));
    assertThat(hex(k.key())).isEqualTo("17422dda596ed5d9acd890e3c63f5051");
    assertThat(hex(k.iv())).isEqualTo("5b78923dee08579033e523d9");
  }

  @Test
  void theDerivedKeysDecryptRfc8448sServerApplicationRecord() throws Exception {
    // The server's second application-key record (sequence 1; 0 was its NewSessionTicket): decrypting it with
    // nonce = iv XOR sequence and the record header as AAD is exactly what the kernel does with rec_seq.
    TrafficKeys k = TrafficKeys.derive(OffloadCipher.AES_128_GCM,
        hex("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643"));
    byte[] header = hex("1703030043");
    byte[] body = hex("2e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36e30efaf97d90e6dffc602dcb501a59a8fcc49c4bf2e5"
        + "f0a21c0047c2abf332540dd032e167c2955d");
    byte[] nonce = k.iv().clone();
    nonce[11] ^= 1;
    var cipher = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding");
    cipher.init(javax.crypto.Cipher.DECRYPT_MODE, new javax.crypto.spec.SecretKeySpec(k.key(), "AES"),
        new javax.crypto.spec.GCMParameterSpec(128, nonce));
    cipher.updateAAD(header);
    byte[] inner = cipher.doFinal(body);
    assertThat(hex(inner)).isEqualTo("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        + "202122232425262728292a2b2c2d2e2f3031" + "17");
  }

  @Test
  void derivesKeysOfEachSuitesLength() {
    assertThat(TrafficKeys.derive(OffloadCipher.AES_256_GCM, new byte[48]).key()).hasSize(32);
    assertThat(TrafficKeys.derive(OffloadCipher.CHACHA20_POLY1305, new byte[32]).key()).hasSize(32);
    assertThat(TrafficKeys.derive(OffloadCipher.CHACHA20_POLY1305, new byte[32]).iv()).hasSize(12);
  }

  @Test
  void rejectsASecretOfTheWrongHashLength() {
    assertThatThrownBy(() -> TrafficKeys.derive(OffloadCipher.AES_256_GCM, new byte[32]))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("48 bytes, got 32");
  }

  @Test
  void wipeZeroesKeyAndIv() {
    TrafficKeys k = TrafficKeys.derive(OffloadCipher.AES_128_GCM, new byte[32]);
    k.wipe();
    assertThat(k.key()).containsOnly(0);
    assertThat(k.iv()).containsOnly(0);
  }
}
