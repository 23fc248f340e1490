package io.keelson.dataplane.filter.basicauth;

import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.CurlStatus;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * envoy.filters.http.basic_auth through a real proxy (an Envoy bootstrap) to a real upstream, with curl over HTTP/1.1
 * and h2c (prior knowledge), the policy stage inline and on the ring: Envoy's 401s with {@code www-authenticate}, a
 * verified user forwarded with its credential and forward_username_header, a route's users from a file replacing the
 * listener's, bad htpasswd refused by line.
 */
class BasicAuthProxyTest {
  private static final String[] HTTP_VERSIONS = {"--http1.1", "--http2-prior-knowledge"};

  @TempDir
  Path dir;

  private String yaml(int upstreamPort) throws Exception {
    Path admins = dir.resolve("admins.htpasswd");
    Files.writeString(admins, "# the admin route's own users\n" + HtpasswdTest.ROOT + "\n");
    String vhosts = """
                    - name: main
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/admin" }
                        route: { cluster: a }
                        typed_per_filter_config:
                          envoy.filters.http.basic_auth:
                            "@type": type.googleapis.com/envoy.extensions.filters.http.basic_auth.v3.BasicAuthPerRoute
                            users: { filename: "%s" }
                      - match: { prefix: "/" }
                        route: { cluster: a }
        """.formatted(admins);
    String filters = """
                  - name: envoy.filters.http.basic_auth
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.basic_auth.v3.BasicAuth
                      users:
                        inline_string: |
                          %s
                      forward_username_header: X-User
        """.formatted(HtpasswdTest.ALICE);
    return bootstrap(vhosts, cluster("a", "ROUND_ROBIN", upstreamPort), filters);
  }

  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void onlyVerifiedUsersAreForwardedWithTheirName(PipelineMode mode) throws Exception {
    try (TestUpstream a = new TestUpstream("a"); ProxyHarness proxy = new ProxyHarness(yaml(a.port()), mode)) {
      String host = "127.0.0.1:" + proxy.port();
      String base = "http://" + host;
      String challenge = "www-authenticate: Basic realm=\"http://" + host;
      for (String v : HTTP_VERSIONS) {
        int before = a.requests.get();
        assertThat(send(v, base + "/x?q=1")).as(v)
            .isEqualTo("401 " + challenge + "/x?q=1\" User authentication failed. Missing username and password.");
        assertThat(send(v, base + "/x", "-u", "alice:wrong")).as(v)
            .endsWith("\" User authentication failed. Invalid username/password combination.");
        assertThat(send(v, base + "/x", "-u", "mallory:wonderland")).as(v).endsWith("Invalid username/password combination.");
        assertThat(send(v, base + "/x", "-H", "Authorization: Bearer abc")).as(v)
            .endsWith("Expected 'Basic' authentication scheme.");
        assertThat(send(v, base + "/x", "-H", "Authorization: Basic bm9jb2xvbg==")).as(v) // "nocolon"
            .endsWith("Invalid basic credential format.");
        assertThat(a.requests.get()).as(v).isEqualTo(before);

        // A verified user reaches the upstream with its credential (Envoy forwards it) and its name, not the client's.
        assertThat(send(v, base + "/x", "-u", "alice:wonderland", "-H", "X-User: mallory")).as(v).isEqualTo("200");
        assertThat(a.lastHeaders).containsEntry("x-user", "alice")
            .containsEntry("authorization", "Basic YWxpY2U6d29uZGVybGFuZA==");

        // The admin route's users replace the listener's.
        assertThat(send(v, base + "/admin/x", "-u", "alice:wonderland")).as(v).startsWith("401 " + challenge + "/admin/x\"");
        assertThat(send(v, base + "/admin/x", "-u", "root:toor")).as(v).isEqualTo("200");
        assertThat(a.lastHeaders).containsEntry("x-user", "root");
        assertThat(a.requests.get() - before).as(v).isEqualTo(2);
      }
      assertThat(proxy.stat("http.ingress_http.basic_auth.allowed")).isEqualTo(4);
      assertThat(proxy.stat("http.ingress_http.basic_auth.denied")).isEqualTo(12);
    }
  }

  @Test
  void anUnsupportedHashIsRefusedNamingTheFileAndLine() throws Exception {
    Path file = dir.resolve("users.htpasswd");
    Files.writeString(file, HtpasswdTest.ALICE + "\nbob:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n");
    String yaml = bootstrap(ProxyHarness.allTo("a"), cluster("a", "ROUND_ROBIN", 9), """
                  - name: envoy.filters.http.basic_auth
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.basic_auth.v3.BasicAuth
                      users: { filename: "%s" }
                      authentication_header: "bad header"
        """.formatted(file));
    Throwable t = catchThrowable(() -> BootstrapLoader.fromYaml(yaml, "c.yaml"));
    assertThat(t).isInstanceOf(ConfigException.class);
    assertThat(((ConfigException) t).problems())
        .anySatisfy(p -> assertThat(p).contains("http_filters[0].typed_config.users (" + file + ") line 2")
            .contains("user 'bob': unsupported htpasswd hash format ($apr1$"))
        .anySatisfy(p -> assertThat(p).contains("typed_config.authentication_header").contains("'bad header'"));
  }

  /** curl {@code url} with {@code args}: "200" when forwarded, else "status www-authenticate body". */
  private static String send(String version, String url, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(version, "-w", "\n%{http_code} %header{www-authenticate}"));
    cmd.addAll(List.of(args));
    cmd.add(url);
    String out = CurlStatus.output(cmd.toArray(new String[0]));
    int nl = out.lastIndexOf('\n');
    String status = out.substring(nl + 1).strip();
    if (status.startsWith("200")) {
      return "200";
    }
    String[] parts = status.split(" ", 2);
    return parts[0] + " www-authenticate: " + (parts.length > 1 ? parts[1] : "") + " " + out.substring(0, nl).strip();
  }
}
