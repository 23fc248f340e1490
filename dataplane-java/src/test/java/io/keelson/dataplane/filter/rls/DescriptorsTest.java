package io.keelson.dataplane.filter.rls;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.keelson.dataplane.config.RateLimitPolicy;
import io.keelson.dataplane.route.RequestHead;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Descriptor entries of the actions that need no proxy: addresses (plain and masked), stages, a missing address. */
class DescriptorsTest {
  private static final RequestHead HEAD = new RequestHead() {
    private final Map<String, String> headers = Map.of("x-user", "a");

    @Override
    public String method() {
      return "GET";
    }

    @Override
    public String path() {
      return "/";
    }

    @Override
    public String query() {
      return null;
    }

    @Override
    public String authority() {
      return "h";
    }

    @Override
    public String header(String lowerCaseName) {
      return headers.get(lowerCaseName);
    }
  };

  private static List<String> entries(RateLimitDescriptor d) {
    return d.getEntriesList().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
  }

  @Test
  void remoteAddressesPlainAndMaskedAsEnvoyWritesThem() {
    RateLimitPolicy p = new RateLimitPolicy(0, "", List.of(new RateLimitPolicy.RemoteAddress(),
        new RateLimitPolicy.MaskedRemoteAddress(24, 64)));
    assertThat(entries(Descriptors.descriptor(p, HEAD, "a", "10.1.2.3", null)))
        .containsExactly("remote_address=10.1.2.3", "masked_remote_address=10.1.2.0/24");
    assertThat(Descriptors.masked("10.1.2.3", new RateLimitPolicy.MaskedRemoteAddress(32, 128))).isEqualTo("10.1.2.3/32");
    assertThat(Descriptors.masked("10.255.2.3", new RateLimitPolicy.MaskedRemoteAddress(9, 128))).isEqualTo("10.128.0.0/9");
    assertThat(Descriptors.masked("2001:db8:1:2::5", new RateLimitPolicy.MaskedRemoteAddress(32, 48)))
        .isEqualTo("2001:db8:1:0:0:0:0:0/48");
    assertThat(Descriptors.masked("not-an-ip", new RateLimitPolicy.MaskedRemoteAddress(32, 128))).isNull();
    assertThat(Descriptors.descriptor(p, HEAD, "a", null, null)).isNull(); // no address: no descriptor
  }

  @Test
  void requestHeadersReadPseudoHeadersAsEnvoyDoes() {
    RateLimitPolicy p = new RateLimitPolicy(0, "", List.of(new RateLimitPolicy.RequestHeader(":path", "PATH", false),
        new RateLimitPolicy.RequestHeader(":method", "METHOD", false),
        new RateLimitPolicy.RequestHeader(":authority", "HOST", false),
        new RateLimitPolicy.RequestHeader("x-user", "user", false)));
    assertThat(entries(Descriptors.descriptor(p, HEAD, "a", null, null)))
        .containsExactly("PATH=/", "METHOD=GET", "HOST=h", "user=a");
  }

  @Test
  void onlyPoliciesOfTheFiltersStageCount() {
    RateLimitPolicy stage0 = new RateLimitPolicy(0, "", List.of(new RateLimitPolicy.GenericKey("generic_key", "zero")));
    RateLimitPolicy stage1 = new RateLimitPolicy(1, "", List.of(new RateLimitPolicy.GenericKey("generic_key", "one")));
    List<RateLimitDescriptor> at1 = Descriptors.add(List.of(stage0, stage1), 1, HEAD, "a", "10.0.0.1", null, null);
    assertThat(at1).hasSize(1);
    assertThat(entries(at1.get(0))).containsExactly("generic_key=one");
    assertThat(Descriptors.add(List.of(stage1), 0, HEAD, "a", "10.0.0.1", null, null)).isNull();
  }
}
