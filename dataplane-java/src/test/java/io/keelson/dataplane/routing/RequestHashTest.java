package io.keelson.dataplane.routing;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.balance.XxHash64;
import io.keelson.dataplane.config.HashPolicy;
import io.keelson.dataplane.config.HashPolicy.Source;
import io.keelson.dataplane.route.TestRequest;
import java.util.List;
import org.junit.jupiter.api.Test;

class RequestHashTest {
  @Test
  void hashesTheFirstPresentValueAndCombinesTheRestAsEnvoyDoes() {
    var header = new HashPolicy(Source.HEADER, "x-user", false);
    var ip = new HashPolicy(Source.SOURCE_IP, null, false);
    var req = TestRequest.get("/").header("x-user", "alice");
    assertThat(RequestHash.compute(List.of(header), req, "10.1.1.1")).isEqualTo(XxHash64.hash("alice"));
    assertThat(RequestHash.compute(List.of(header, ip), req, "10.1.1.1"))
        .isEqualTo(Long.rotateLeft(XxHash64.hash("alice"), 1) ^ XxHash64.hash("10.1.1.1"));
    assertThat(RequestHash.compute(List.of(header, ip), TestRequest.get("/"), "10.1.1.1")).isEqualTo(XxHash64.hash("10.1.1.1"));
    assertThat(RequestHash.compute(List.of(header), TestRequest.get("/"), null)).isEqualTo(RequestHash.NONE);
  }

  @Test
  void aSourceIpHashIsWhatALoneSourceIpPolicyGivesThatAddress() {
    var ip = new HashPolicy(Source.SOURCE_IP, null, false);
    assertThat(RequestHash.ofSourceIp("10.1.2.3"))
        .isEqualTo(RequestHash.compute(List.of(ip), TestRequest.get("/"), "10.1.2.3"))
        .isEqualTo(XxHash64.hash("10.1.2.3"));
  }

  @Test
  void aTerminalPolicyThatHashedEndsTheList() {
    var header = new HashPolicy(Source.HEADER, "x-user", true);
    var ip = new HashPolicy(Source.SOURCE_IP, null, false);
    assertThat(RequestHash.compute(List.of(header, ip), TestRequest.get("/").header("x-user", "bob"), "10.1.1.1"))
        .isEqualTo(XxHash64.hash("bob"));
  }

  @Test
  void readsCookiesAndQueryParameters() {
    assertThat(RequestHash.cookie("a=1; session=xyz; b=2", "session")).isEqualTo("xyz");
    assertThat(RequestHash.cookie("mysession=no; session=\"q\"", "session")).isEqualTo("q");
    assertThat(RequestHash.cookie("a=1", "session")).isNull();
    assertThat(RequestHash.queryParameter("x=1&user=7&user=8", "user")).isEqualTo("7");
    assertThat(RequestHash.queryParameter("username=7", "user")).isNull();
    assertThat(RequestHash.queryParameter("flag&y=2", "flag")).isEmpty();
  }
}
