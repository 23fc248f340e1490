package io.keelson.dataplane.dns;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link DnsAnswerer} on real wire bytes: answers, NXDOMAIN, NODATA, forwarding, and malformed queries. */
class DnsAnswererTest {
  /** A query as dig sends it: ID 0xbeef, RD, one question "Reviews" A IN (the name in mixed case). */
  static final String REVIEWS_A = "beef0100000100000000000007526576696577730000010001";

  private final NameTable table = table();
  private final DnsAnswerer answerer = new DnsAnswerer(List.of("shop.svc.cluster.local", "svc.cluster.local"));
  private final ByteBuf out = Unpooled.buffer();

  static NameTable table() {
    try {
      InetAddress vip = InetAddress.getByName("240.240.3.7");
      InetAddress v6 = InetAddress.getByName("2001:2::7");
      return NameTable.of(Map.of("reviews", List.of(vip, v6), "reviews.default.svc.cluster.local", List.of(vip),
          "ledger.default", List.of(InetAddress.getByName("240.240.9.1"))), List.of("svc.cluster.local"));
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  @AfterEach
  void release() {
    out.release();
  }

  private DnsAnswerer.Outcome answer(String hex) {
    return answerer.answer(Unpooled.wrappedBuffer(HexFormat.of().parseHex(hex)), table, out, true);
  }

  private String outHex() {
    return ByteBufUtil.hexDump(out);
  }

  @Test
  void answersAMeshNameWithItsVipEchoingTheQuestionAsAsked() {
    assertThat(answer(REVIEWS_A)).isEqualTo(DnsAnswerer.Outcome.ANSWERED);
    assertThat(outHex()).isEqualTo(
        "beef" + "8580" + "0001" + "0001" + "0000" + "0000" // QR AA RD RA, NOERROR; 1 question, 1 answer
            + "0752657669657773000001" + "0001" // the question as asked (case kept)
            + "c00c" + "0001" + "0001" + "0000001e" + "0004" + "f0f00307"); // A IN TTL 30 240.240.3.7
  }

  @Test
  void answersAaaaFromTheV6AddressesAndNodataWhenTheNameHasNone() {
    // "reviews" AAAA
    assertThat(answer("00010100000100000000000007726576696577730000" + "1c0001")).isEqualTo(DnsAnswerer.Outcome.ANSWERED);
    assertThat(outHex()).endsWith("c00c001c00010000001e0010" + "20010002000000000000000000000007");
    out.clear();
    // "ledger.default" AAAA: a mesh name without IPv6: NOERROR, no answer
    assertThat(answer("000201000001000000000000" + "066c6564676572" + "0764656661756c74" + "00" + "001c0001"))
        .isEqualTo(DnsAnswerer.Outcome.NODATA);
    assertThat(outHex()).startsWith("0002858000010000");
    out.clear();
    // "reviews" MX
    assertThat(answer("000301000001000000000000077265766965777300000f0001")).isEqualTo(DnsAnswerer.Outcome.NODATA);
  }

  @Test
  void aSearchDomainTheResolverAppendedIsTakenOffToFindTheService() {
    // reviews.shop.svc.cluster.local: the app asked "reviews", its resolver tried its first search domain
    String name = "07726576696577730473686f700373766307636c7573746572056c6f63616c00";
    assertThat(answer("000401000001000000000000" + name + "00010001"))
        .isEqualTo(DnsAnswerer.Outcome.ANSWERED);
    assertThat(outHex()).endsWith("f0f00307");
  }

  @Test
  void anUnknownNameUnderTheMeshZoneIsNxdomainAndElsewhereIsForwarded() {
    // nosuch.default.svc.cluster.local
    String inZone = "066e6f73756368" + "0764656661756c74" + "03737663" + "07636c7573746572" + "056c6f63616c" + "00";
    assertThat(answer("000501000001000000000000" + inZone + "00010001")).isEqualTo(DnsAnswerer.Outcome.NXDOMAIN);
    assertThat(outHex()).startsWith("0005858300010000"); // AA, NXDOMAIN, the question echoed
    out.clear();
    // example.com A: not ours
    assertThat(answer("000601000001000000000000" + "076578616d706c6503636f6d00" + "00010001"))
        .isEqualTo(DnsAnswerer.Outcome.FORWARD);
    assertThat(out.readableBytes()).isZero();
    // a mesh name in class CH: forwarded
    assertThat(answer("000701000001000000000000077265766965777300" + "00010003")).isEqualTo(DnsAnswerer.Outcome.FORWARD);
  }

  @Test
  void malformedQueriesGetFormerrOrAreDroppedNeverAnException() {
    assertThat(answer("beef0100")).as("shorter than a header").isEqualTo(DnsAnswerer.Outcome.DROP);
    assertThat(answer("beef8180000100000000000007726576696577730000010001")).as("a response")
        .isEqualTo(DnsAnswerer.Outcome.DROP);
    assertThat(out.readableBytes()).isZero();
    assertThat(answer("beef0100000200000000000007726576696577730000010001")).as("two questions")
        .isEqualTo(DnsAnswerer.Outcome.FORMERR);
    assertThat(outHex()).isEqualTo("beef" + "8101" + "0000000000000000"); // QR RD FORMERR, nothing echoed
    for (String bad : List.of(
        "beef01000001000000000000077265766965777300",          // no type and class
        "beef010000010000000000000772657669",                   // a label past the end
        "beef0100000100000000000007726576696577730000",         // half a type
        "beef0100000100000000000040" + "61".repeat(64) + "0000010001", // a 64-octet label
        "beef010000010000000000000000",                          // no question name end... root then nothing
        "beef0100000100000000000007726576696577c00c00010001",  // a compression pointer in the question
        "beef01000001000000000000" + ("3f" + "61".repeat(63)).repeat(5) + "0000010001")) { // a name over 255 octets
      out.clear();
      assertThat(answer(bad)).as(bad).isEqualTo(DnsAnswerer.Outcome.FORMERR);
      assertThat(outHex()).as(bad).startsWith("beef81");
    }
    out.clear();
    assertThat(answer("beef2900000100000000000007726576696577730000010001")).as("opcode UPDATE")
        .isEqualTo(DnsAnswerer.Outcome.NOTIMP);
    assertThat(outHex()).startsWith("beefa904");
  }

  @Test
  void servfailEchoesTheQuestion() {
    answerer.servfail(Unpooled.wrappedBuffer(HexFormat.of().parseHex(REVIEWS_A)), out);
    assertThat(outHex()).isEqualTo("beef818200010000000000000752657669657773000001" + "0001");
  }

  @Test
  void theTableLooksUpByBytesAndKnowsItsZones() {
    byte[] name = "xreviews.default.svc.cluster.local".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    assertThat(table.lookup(name, 1, name.length - 1)).isNotNull();
    assertThat(table.lookup(name, 0, name.length)).isNull();
    assertThat(table.addresses("Reviews.")).containsExactly("240.240.3.7", "2001:2:0:0:0:0:0:7");
    assertThat(table.inZone("a.svc.cluster.local".getBytes(), 19)).isTrue();
    assertThat(table.inZone("svc.cluster.local".getBytes(), 17)).isTrue();
    assertThat(table.inZone("xsvc.cluster.local".getBytes(), 18)).isFalse();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> NameTable.normalize("bad..name"))
        .hasMessageContaining("'bad..name' is not a DNS name");
  }
}
