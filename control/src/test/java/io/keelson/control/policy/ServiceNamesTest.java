package io.keelson.control.policy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** How a host written in a document of a namespace names a registry Service's key, as istiod resolves hosts. */
class ServiceNamesTest {
  @Test
  void aShortHostIsTheDocumentsNamespacesService() {
    assertThat(ServiceNames.resolve("reviews", "shop")).isEqualTo("reviews.shop");
    assertThat(ServiceNames.resolve("reviews", "default")).isEqualTo("reviews");
  }

  @Test
  void qualifiedHostsNameTheirNamespacesServiceWhereverWritten() {
    for (String ns : new String[] {"default", "shop", "bookinfo"}) {
      assertThat(ServiceNames.resolve("reviews.bookinfo", ns)).isEqualTo("reviews.bookinfo");
      assertThat(ServiceNames.resolve("reviews.bookinfo.svc", ns)).isEqualTo("reviews.bookinfo");
      assertThat(ServiceNames.resolve("reviews.bookinfo.svc.cluster.local", ns)).isEqualTo("reviews.bookinfo");
      assertThat(ServiceNames.resolve("reviews.default.svc.cluster.local", ns)).isEqualTo("reviews");
      assertThat(ServiceNames.resolve("reviews.default", ns)).isEqualTo("reviews");
      assertThat(ServiceNames.resolve("api.example.com", ns)).as("a ServiceEntry host is itself")
          .isEqualTo("api.example.com");
    }
  }

  @Test
  void aHostOfNamespaceSvcIsThatNamespacesServiceNotAStrippedSuffix() {
    assertThat(ServiceNames.resolve("ratings.svc", "bookinfo")).as("NAME.NS is read before .svc is stripped, as"
        + " Kubernetes' DNS search path (ratings.svc.svc.cluster.local) reads it").isEqualTo("ratings.svc");
    assertThat(ServiceNames.resolve("ratings.svc.svc", "bookinfo")).isEqualTo("ratings.svc");
    assertThat(ServiceNames.resolve("ratings.svc.svc.cluster.local", "default")).isEqualTo("ratings.svc");
  }

  @Test
  void aServiceNameIsADnsLabel() {
    assertThat(ServiceNames.serviceNameProblem("reviews")).isNull();
    assertThat(ServiceNames.serviceNameProblem("reviews.shop")).contains("'reviews.shop' is not a Service name");
  }

  @Test
  void keysOfNamespaceDefaultAreThePlainNames() {
    assertThat(ServiceNames.key("reviews", null)).isEqualTo("reviews");
    assertThat(ServiceNames.key("reviews", "")).isEqualTo("reviews");
    assertThat(ServiceNames.key("reviews", "default")).isEqualTo("reviews");
    assertThat(ServiceNames.key("reviews", "shop")).isEqualTo("reviews.shop");
  }
}
