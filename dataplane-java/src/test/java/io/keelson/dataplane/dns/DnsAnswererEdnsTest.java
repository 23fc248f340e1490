package io.keelson.dataplane.dns;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link DnsAnswerer} and EDNS(0) (RFC 6891) on wire bytes: the proxy's own answers carry an OPT record exactly when
 * the query did, BADVERS for another version, and answers cut to the size the client takes over UDP.
 */
class DnsAnswererEdnsTest {
  /** The question "Reviews" A IN. */
  private static final String REVIEWS_Q = "07526576696577730000010001";
  /** An OPT record: 4096 bytes, version 0, DO set, a client cookie (option 10) the proxy does not implement. */
  private static final String OPT_DO_COOKIE = "00" + "0029" + "1000" + "00" + "00" + "8000" + "000c"
      + "000a" + "0008" + "0102030405060708";
  /** The proxy's OPT record for that query: 1232 bytes, no extended RCODE, version 0, DO copied, no options. */
  private static final String PROXY_OPT_DO = "00" + "0029" + "04d0" + "00" + "00" + "8000" + "0000";

  private final DnsAnswerer answerer = new DnsAnswerer(List.of());
  private final ByteBuf out = Unpooled.buffer();
  private final NameTable table = tableWithMany(100);

  /** The test table, plus "many" with {@code count} IPv4 addresses 10.0.i/256.i%256. */
  private static NameTable tableWithMany(int count) {
    try {
      List<InetAddress> many = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        many.add(InetAddress.getByAddress(new byte[] {10, 0, (byte) (i / 256), (byte) i}));
      }
      return NameTable.of(Map.of("reviews", List.of(InetAddress.getByName("240.240.3.7")), "many", many),
          List.of("svc.cluster.local"));
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  @AfterEach
  void release() {
    out.release();
  }

  private DnsAnswerer.Outcome answer(String hex, boolean udp) {
    out.clear();
    return answerer.answer(Unpooled.wrappedBuffer(HexFormat.of().parseHex(hex)), table, out, udp);
  }

  private String outHex() {
    return ByteBufUtil.hexDump(out);
  }

  @Test
  void aQueryWithAnOptRecordGetsTheProxysOptWithTheDoBitAndNoOptionsEchoed() {
    assertThat(answer("beef0100" + "0001" + "0000" + "0000" + "0001" + REVIEWS_Q + OPT_DO_COOKIE, true))
        .isEqualTo(DnsAnswerer.Outcome.ANSWERED);
    assertThat(outHex()).isEqualTo("beef8580" + "0001" + "0001" + "0000" + "0001" + REVIEWS_Q
        + "c00c000100010000001e0004f0f00307" + PROXY_OPT_DO);
  }

  @Test
  void aQueryWithoutOneGetsNone() {
    assertThat(answer("beef0100000100000000000007526576696577730000010001", true))
        .isEqualTo(DnsAnswerer.Outcome.ANSWERED);
    assertThat(outHex()).isEqualTo("beef8580" + "0001" + "0001" + "0000" + "0000" + REVIEWS_Q
        + "c00c000100010000001e0004f0f00307");
  }

  @Test
  void nxdomainNodataAndServfailCarryTheOptToo() {
    String opt = "0000290200000000000000"; // 512 bytes, no DO
    String proxyOpt = "00002904d000000000" + "0000";
    // nosuch.svc.cluster.local A
    String nosuch = "066e6f7375636803737663" + "07636c7573746572056c6f63616c00" + "00010001";
    assertThat(answer("000101000001000000000001" + nosuch + opt, true)).isEqualTo(DnsAnswerer.Outcome.NXDOMAIN);
    assertThat(outHex()).isEqualTo("00018583000100000000" + "0001" + nosuch + proxyOpt);
    String reviewsAaaa = "0752657669657773" + "00" + "001c0001"; // a mesh name with no IPv6 address
    assertThat(answer("000201000001000000000001" + reviewsAaaa + opt, true)).isEqualTo(DnsAnswerer.Outcome.NODATA);
    assertThat(outHex()).isEqualTo("00028580000100000000" + "0001" + reviewsAaaa + proxyOpt);
    answerer.servfail(Unpooled.wrappedBuffer(HexFormat.of().parseHex("000301000001000000000001" + nosuch + opt)),
        out.clear());
    assertThat(outHex()).isEqualTo("00038182000100000000" + "0001" + nosuch + proxyOpt);
  }

  @Test
  void anEdnsVersionOtherThanZeroIsBadversForMeshNamesAndForwardedOnesAlike() {
    String version1 = "00" + "0029" + "1000" + "00" + "01" + "0000" + "0000";
    String badvers = "00" + "0029" + "04d0" + "01" + "00" + "0000" + "0000"; // extended RCODE 1 << 4 = 16
    assertThat(answer("beef0100000100000000" + "0001" + REVIEWS_Q + version1, true))
        .isEqualTo(DnsAnswerer.Outcome.BADVERS);
    assertThat(outHex()).isEqualTo("beef8180" + "0001" + "0000" + "0000" + "0001" + REVIEWS_Q + badvers);
    String example = "076578616d706c6503636f6d00" + "00010001";
    assertThat(answer("beef0100000100000000" + "0001" + example + version1, true))
        .isEqualTo(DnsAnswerer.Outcome.BADVERS);
    assertThat(outHex()).endsWith(example + badvers);
  }

  @Test
  void twoOptRecordsOrAMalformedAdditionalSectionIsFormerr() {
    String opt = "0000291000000000000000";
    assertThat(answer("beef0100000100000000" + "0002" + REVIEWS_Q + opt + opt, true))
        .isEqualTo(DnsAnswerer.Outcome.FORMERR);
    assertThat(answer("beef0100000100000000" + "0001" + REVIEWS_Q + opt.substring(0, 14), true))
        .isEqualTo(DnsAnswerer.Outcome.FORMERR);
    assertThat(outHex()).isEqualTo("beef8101" + "0000000000000000");
  }

  @Test
  void aMeshAnswerOverUdpIsCutToTheClientsSizeWithTc() {
    String many = "00010100" + "0001" + "0000" + "0000";
    String question = "046d616e7900" + "00010001";
    // No EDNS: 512 bytes; header 12 + question 10 leave room for 30 records of 16.
    assertThat(answer(many + "0000" + question, true)).isEqualTo(DnsAnswerer.Outcome.TRUNCATED);
    assertThat(outHex()).startsWith("00018780" + "0001" + "001e" + "0000" + "0000");
    assertThat(out.readableBytes()).isEqualTo(12 + 10 + 30 * 16).isLessThanOrEqualTo(512);
    // EDNS offering 600: 600 - 12 - 10 - 11 (the OPT) = 567: 35 records.
    assertThat(answer(many + "0001" + question + "0000290258000000000000", true))
        .isEqualTo(DnsAnswerer.Outcome.TRUNCATED);
    assertThat(outHex()).startsWith("00018780" + "0001" + "0023" + "0000" + "0001")
        .endsWith("00002904d000000000" + "0000");
    // EDNS offering 4096: the proxy sends at most 1232 (flag day 2020): 74 records.
    assertThat(answer(many + "0001" + question + "0000291000000000000000", true))
        .isEqualTo(DnsAnswerer.Outcome.TRUNCATED);
    assertThat(outHex()).startsWith("00018780" + "0001" + "004a");
    assertThat(out.readableBytes()).isLessThanOrEqualTo(Edns.PAYLOAD_SIZE);
    // Over TCP: all 100, no TC.
    assertThat(answer(many + "0000" + question, false)).isEqualTo(DnsAnswerer.Outcome.ANSWERED);
    assertThat(outHex()).startsWith("00018580" + "0001" + "0064");
  }
}
