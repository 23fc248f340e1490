package io.keelson.dataplane.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class SniChainTest {
  private static SniChain chain(String... names) {
    TcpProxyConfig t = new TcpProxyConfig("p", List.of(new RouteAction.WeightedCluster("c", 1, HeaderMutations.NONE, HeaderMutations.NONE)),
        1, Duration.ZERO);
    return new SniChain(List.of(names), t);
  }

  @Test
  void prefersAnExactNameThenTheLongestWildcardThenTheDefault() {
    SniChain exact = chain("api.example.com");
    SniChain shortWild = chain("*.com");
    SniChain longWild = chain("*.example.com");
    SniChain fallback = chain();
    List<SniChain> chains = List.of(shortWild, fallback, longWild, exact);
    assertThat(SniChain.select(chains, "api.example.com")).isSameAs(exact);
    assertThat(SniChain.select(chains, "API.Example.com")).isSameAs(exact);
    assertThat(SniChain.select(chains, "www.example.com")).isSameAs(longWild);
    assertThat(SniChain.select(chains, "other.com")).isSameAs(shortWild);
    assertThat(SniChain.select(chains, "example.org")).isSameAs(fallback);
    assertThat(SniChain.select(chains, null)).isSameAs(fallback);
  }

  @Test
  void aWildcardDoesNotMatchItsOwnApexAndNoDefaultMeansNoChain() {
    List<SniChain> chains = List.of(chain("*.example.com"));
    assertThat(SniChain.select(chains, "example.com")).isNull();
    assertThat(SniChain.select(chains, null)).isNull();
  }
}
