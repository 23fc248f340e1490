package io.keelson.control.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The demo end to end: real sample services, the real proxy, real requests, the printed split. */
class DemoCommandTest {
  @Test
  void demoSplitsTrafficNinetyTenAndRoutesTheHeaderToV2() {
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
    String canary = printed.substring(printed.indexOf("canary route"), printed.indexOf("header route"));
    String header = printed.substring(printed.indexOf("header route"), printed.indexOf("Try it yourself"));
    assertThat(count(canary, "product-v1") + count(canary, "product-v2")).isEqualTo(600);
    assertThat(count(canary, "product-v1") / 600.0).isBetween(0.85, 0.95);
    assertThat(count(header, "product-v2")).isEqualTo(60);
    assertThat(header).doesNotContain("product-v1");
    assertThat(printed).contains("curl -si -H 'x-version: v2'").contains("Demo done: every request was served.");
  }

  private static int count(String section, String who) {
    Matcher m = Pattern.compile(Pattern.quote(who) + "\\s+(\\d+)").matcher(section);
    return m.find() ? Integer.parseInt(m.group(1)) : 0;
  }
}
