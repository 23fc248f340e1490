package io.keelson.control.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.control.capture.IptablesRules;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code bin/keelson iptables}'s flags and the rules they render (no iptables run; see IptablesCaptureTest). */
class IptablesCommandTest {

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "--proxy-uid=abc|--proxy-uid: 'abc' is not a numeric id",
      "--proxy-uid=1337 --outbound-port=0|--outbound-port: '0' is not a port",
      "--proxy-uid=1337 --inbound-port=70000|--inbound-port: '70000' is not a port",
      "--proxy-uid=1337 --admin-port=x|--admin-port: 'x' is not a port",
      "--proxy-uid=1337 --include-inbound-ports=80,http|--include-inbound-ports: 'http' is not a port",
      "--proxy-uid=1337 --exclude-inbound-ports=-1|--exclude-inbound-ports: '-1' is not a port",
      "--proxy-uid=1337 --exclude-outbound-ports=99999|--exclude-outbound-ports: '99999' is not a port",
      "--proxy-uid=1337 --exclude-outbound-cidrs=10.0.0.0/33|--exclude-outbound-cidrs: '10.0.0.0/33' is not an IPv4 CIDR",
      "--proxy-uid=1337 --exclude-outbound-cidrs=*|--exclude-outbound-cidrs: '*' is not accepted here",
      "--proxy-uid=1337 --include-outbound-cidrs=fd00::/129|--include-outbound-cidrs: 'fd00::/129' is not an IP address or CIDR block",
      "--proxy-uid=1337 --exclude-outbound-cidrs=fd00:::1|--exclude-outbound-cidrs: 'fd00:::1' is not an IP address",
      "--proxy-uid=1337 --include-outbound-cidrs=300.1.1.1|--include-outbound-cidrs: '300.1.1.1' is not an IPv4 CIDR",
      "--proxy-uid=1337 --ipv6 --include-outbound-cidrs=::ffff:10.0.0.0/104|--include-outbound-cidrs: '::ffff:10.0.0.0/104' is an IPv4-mapped IPv6 address; expected the IPv4 address itself (10.0.0.0)",
      "--proxy-uid=1337 --ipv6 --exclude-outbound-cidrs=::ffff:10.0.0.1|--exclude-outbound-cidrs: '::ffff:10.0.0.1' is an IPv4-mapped IPv6 address",
      "--proxy-uid=1337 --include-outbound-cidrs=10.0.0.0/8,fd00::/8|--include-outbound-cidrs: 'fd00::/8' is IPv6, which is captured only with --ipv6",
      "--dry-run|--proxy-uid or --proxy-gid is required",
      "--proxy-uid=1337 --dns-port=15053|--dns-port is only used with --redirect-dns",
      "--proxy-uid=1337 --redirect-dns --dns-port=0|--dns-port: '0' is not a port",
  })
  void everyBadFlagValueIsAnErrorNamingTheFlag(String argv, String message) {
    String[] err = new String[1];
    int code = withStderr(err, () -> IptablesCommand.run(argv.split(" ")));
    assertThat(code).isEqualTo(2);
    assertThat(err[0]).contains(message);
  }

  @Test
  void anUnknownFlagIsAUsageError() {
    assertThat(KeelsonMain.run(new String[] {"iptables", "--proxy-user", "1337"})).isEqualTo(2);
  }

  @Test
  void rendersIstioIptablesRuleSetInOrder() {
    IptablesRules rules = IptablesCommand.rules(new Args("iptables", new String[] {"--proxy-uid", "1337",
        "--exclude-inbound-ports", "15020", "--exclude-outbound-cidrs", "10.96.0.1"}, java.util.Set.of("--proxy-uid",
        "--exclude-inbound-ports", "--exclude-outbound-cidrs"), java.util.Set.of()));
    assertThat(rules.install("").lines().toList()).containsExactly(
        "*nat",
        ":KEELSON_INBOUND - [0:0]",
        ":KEELSON_IN_REDIRECT - [0:0]",
        ":KEELSON_OUTPUT - [0:0]",
        ":KEELSON_REDIRECT - [0:0]",
        "-A PREROUTING -p tcp -j KEELSON_INBOUND",
        "-A OUTPUT -p tcp -j KEELSON_OUTPUT",
        "-A KEELSON_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006",
        "-A KEELSON_INBOUND -p tcp -m tcp --dport 15020 -j RETURN",
        "-A KEELSON_INBOUND -p tcp -m tcp --dport 9901 -j RETURN", // the admin port, always
        "-A KEELSON_INBOUND -p tcp -j KEELSON_IN_REDIRECT",
        "-A KEELSON_REDIRECT -p tcp -j REDIRECT --to-ports 15001",
        "-A KEELSON_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN",
        "! -d 127.0.0.1/32 -o lo -m owner --uid-owner 1337 -j KEELSON_IN_REDIRECT".transform(s -> "-A KEELSON_OUTPUT " + s),
        "-A KEELSON_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN",
        "-A KEELSON_OUTPUT -m owner --uid-owner 1337 -j RETURN",
        "-A KEELSON_OUTPUT -d 127.0.0.1/32 -j RETURN",
        "-A KEELSON_OUTPUT -d 10.96.0.1/32 -j RETURN",
        "-A KEELSON_OUTPUT -j KEELSON_REDIRECT",
        "COMMIT");
  }

  @Test
  void rendersTheIpv6TableWithIstiosIpv6AddressesAndEachFamilysOwnCidrs() {
    IptablesRules rules = IptablesCommand.rules(new Args("iptables", new String[] {"--proxy-uid", "1337",
        "--exclude-outbound-cidrs", "10.96.0.1,fd00::9", "--ipv6"}, java.util.Set.of("--proxy-uid",
        "--exclude-outbound-cidrs"), java.util.Set.of("--ipv6")));
    // The IPv4 rule set with ::6 for 127.0.0.6, ::1 for 127.0.0.1 and the IPv6 CIDRs for the IPv4 ones.
    assertThat(rules.install("", IptablesRules.Family.IPV6)).isEqualTo(rules.install("", IptablesRules.Family.IPV4)
        .replace("127.0.0.6/32", "::6/128").replace("127.0.0.1/32", "::1/128").replace("10.96.0.1/32", "fd00::9/128"));
    assertThat(rules.install("", IptablesRules.Family.IPV6)).contains(
        "-A KEELSON_OUTPUT -s ::6/128 -o lo -j RETURN\n",
        "-A KEELSON_OUTPUT ! -d ::1/128 -o lo -m owner --uid-owner 1337 -j KEELSON_IN_REDIRECT\n",
        "-A KEELSON_OUTPUT -d ::1/128 -j RETURN\n");
    // A range written as ip6tables-save prints it (masked, RFC 5952); DNS capture stays IPv4.
    IptablesRules dns = new IptablesRules(15001, 15006, List.of(1337), List.of(), List.of("*"), List.of(9901),
        List.of(), IptablesRules.cidrsOrWildcard("--exclude-outbound-cidrs", "FD00:0:0::1:5/112", false),
        List.of("10.0.0.0/8", "fd00::/8"), 15053);
    assertThat(dns.install("", IptablesRules.Family.IPV6)).contains("-A KEELSON_OUTPUT -d fd00::1:0/112 -j RETURN\n",
        "-A KEELSON_OUTPUT -d fd00::/8 -j KEELSON_REDIRECT\n").doesNotContain("10.0.0.0/8", "KEELSON_DNS", "53");
    assertThat(dns.install("", IptablesRules.Family.IPV4)).contains("KEELSON_DNS", "-d 10.0.0.0/8 -j KEELSON_REDIRECT")
        .doesNotContain("fd00");
  }

  @Test
  void aReRunDoesNotAddTheJumpsAgainAndCleanupRemovesOnlyOurs() {
    IptablesRules rules = new IptablesRules(15001, 15006, List.of(1337), List.of(), List.of("*"), List.of(9901),
        List.of(), List.of(), List.of("*"));
    String current = """
        *nat
        :PREROUTING ACCEPT [0:0]
        :OUTPUT ACCEPT [0:0]
        :KEELSON_INBOUND - [0:0]
        :KEELSON_IN_REDIRECT - [0:0]
        :KEELSON_OUTPUT - [0:0]
        :KEELSON_REDIRECT - [0:0]
        -A PREROUTING -p tcp -j KEELSON_INBOUND
        -A OUTPUT -d 10.1.2.3/32 -j RETURN
        -A OUTPUT -p tcp -j KEELSON_OUTPUT
        COMMIT
        """;
    assertThat(rules.install(current)).doesNotContain("-A PREROUTING", "-A OUTPUT ");
    assertThat(IptablesRules.cleanup(current).lines().toList()).containsExactly("*nat",
        ":KEELSON_INBOUND - [0:0]", ":KEELSON_IN_REDIRECT - [0:0]", ":KEELSON_OUTPUT - [0:0]", ":KEELSON_REDIRECT - [0:0]",
        "-D PREROUTING -p tcp -j KEELSON_INBOUND", "-D OUTPUT -p tcp -j KEELSON_OUTPUT",
        "-X KEELSON_INBOUND", "-X KEELSON_IN_REDIRECT", "-X KEELSON_OUTPUT", "-X KEELSON_REDIRECT", "COMMIT");
    assertThat(IptablesRules.cleanup("*nat\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n")).isNull();
  }

  @Test
  void withoutInboundPortsNoInboundJumpAndNoProxySelfRedirect() {
    IptablesRules rules = new IptablesRules(15001, 15006, List.of(), List.of(1337), List.of(), List.of(9901),
        List.of(), List.of(), List.of("*"));
    assertThat(rules.install("")).doesNotContain("-A PREROUTING", "-j KEELSON_IN_REDIRECT")
        .contains("-A KEELSON_OUTPUT -m owner --gid-owner 1337 -j RETURN");
    // A re-run that turns inbound capture off removes the earlier inbound jump in the same transaction.
    assertThat(rules.install("-A PREROUTING -p tcp -j KEELSON_INBOUND\n"))
        .contains("-D PREROUTING -p tcp -j KEELSON_INBOUND");
  }

  @Test
  void redirectDnsSendsTheAppsPort53ToTheDnsProxyButNotTheProxysOwnQueries() {
    IptablesRules rules = IptablesCommand.rules(new Args("iptables", new String[] {"--proxy-uid", "1337", "--proxy-gid",
        "1337", "--redirect-dns"}, java.util.Set.of("--proxy-uid", "--proxy-gid", "--dns-port"),
        java.util.Set.of("--redirect-dns")));
    List<String> lines = rules.install("").lines().toList();
    assertThat(lines).contains(":KEELSON_DNS - [0:0]").containsSubsequence(
        "-A OUTPUT -p tcp -j KEELSON_OUTPUT",
        "-A OUTPUT -p udp -m udp --dport 53 -j KEELSON_DNS",
        "-A KEELSON_DNS -m owner --uid-owner 1337 -j RETURN",
        "-A KEELSON_DNS -m owner --gid-owner 1337 -j RETURN",
        "-A KEELSON_DNS -p udp -j REDIRECT --to-ports 15053",
        "-A KEELSON_DNS -p tcp -j REDIRECT --to-ports 15053",
        "-A KEELSON_OUTPUT -p tcp -m tcp --dport 53 -j KEELSON_DNS", // before the loopback and owner RETURNs
        "-A KEELSON_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN");
    assertThat(lines.stream().filter(l -> l.startsWith("-A KEELSON_OUTPUT")).findFirst())
        .contains("-A KEELSON_OUTPUT -p tcp -m tcp --dport 53 -j KEELSON_DNS");

    String installed = "*nat\n:OUTPUT ACCEPT [0:0]\n:KEELSON_OUTPUT - [0:0]\n:KEELSON_DNS - [0:0]\n"
        + "-A OUTPUT -p tcp -j KEELSON_OUTPUT\n-A OUTPUT -p udp -m udp --dport 53 -j KEELSON_DNS\nCOMMIT\n";
    assertThat(rules.install(installed)).as("a re-run adds no jump twice").doesNotContain("-A OUTPUT ");
    IptablesRules withoutDns = new IptablesRules(15001, 15006, List.of(1337), List.of(), List.of("*"), List.of(9901),
        List.of(), List.of(), List.of("*"));
    assertThat(withoutDns.install(installed).lines().toList()).as("a re-run without --redirect-dns removes it")
        .contains(":KEELSON_DNS - [0:0]", "-D OUTPUT -p udp -m udp --dport 53 -j KEELSON_DNS", "-X KEELSON_DNS")
        .doesNotContain("-A KEELSON_OUTPUT -p tcp -m tcp --dport 53 -j KEELSON_DNS");
    assertThat(IptablesRules.cleanup(installed).lines().toList()).contains(":KEELSON_DNS - [0:0]",
        "-D OUTPUT -p udp -m udp --dport 53 -j KEELSON_DNS", "-X KEELSON_DNS");
  }

  private static int withStderr(String[] captured, java.util.function.IntSupplier body) {
    PrintStream old = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      return body.getAsInt();
    } finally {
      System.setErr(old);
      captured[0] = err.toString(StandardCharsets.UTF_8);
    }
  }
}
