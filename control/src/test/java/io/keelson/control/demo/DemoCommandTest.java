package io.keelson.control.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The demo end to end: a real control plane, sample services behind real sidecars, a client sidecar,
 * the canary shifted through the API under traffic, and the printed split at each step.
 */
class DemoCommandTest {
  @Test
  void demoShiftsTheCanaryNinetyTenThenFiftyFiftyThenAllToV2WithoutAFailedRequest() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream old = System.out;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    int code;
    try {
      code = DemoCommand.run(new String[] {"--port", "0", "--admin", "127.0.0.1:0", "--requests", "600", "--duration", "1"});
    } finally {
      System.setOut(old);
    }
    String printed = out.toString(StandardCharsets.UTF_8);
    assertThat(code).as(printed).isZero();
    String s90 = section(printed, "canary 90/10", "canary 50/50");
    String s50 = section(printed, "canary 50/50", "canary 0/100");
    String s0 = section(printed, "canary 0/100", "Background traffic");
    for (String s : new String[] {s90, s50, s0}) {
      assertThat(count(s, "product-v1") + count(s, "product-v2")).as(s).isEqualTo(600);
    }
    assertThat(count(s90, "product-v2") / 600.0).as(s90).isBetween(0.05, 0.15);
    assertThat(count(s50, "product-v2") / 600.0).as(s50).isBetween(0.42, 0.58);
    assertThat(count(s0, "product-v2")).as(s0).isEqualTo(600);
    Matcher bg = Pattern.compile("Background traffic during the shifts: (\\d+) requests, (\\d+) failed").matcher(printed);
    assertThat(bg.find()).as(printed).isTrue();
    assertThat(Long.parseLong(bg.group(1))).as("background requests").isPositive();
    assertThat(Long.parseLong(bg.group(2))).as(printed).isZero();
    assertThat(printed).contains("curl -si -H 'Host: product-service' http://127.0.0.1:")
        .contains("bin/keelson status --server http://127.0.0.1:")
        .contains("Demo done: every request was served.");
  }

  private static String section(String printed, String from, String to) {
    int start = printed.indexOf(from);
    int end = printed.indexOf(to, start + 1);
    assertThat(start).as("'%s' in %s", from, printed).isNotNegative();
    assertThat(end).as("'%s' in %s", to, printed).isGreaterThan(start);
    return printed.substring(start, end);
  }

  private static int count(String section, String who) {
    Matcher m = Pattern.compile(Pattern.quote(who) + "\\s+(\\d+)").matcher(section);
    return m.find() ? Integer.parseInt(m.group(1)) : 0;
  }
}
