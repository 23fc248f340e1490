package io.keelson.dataplane.rbac;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.route.RequestHead;
import java.net.InetSocketAddress;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HeadRequestViewTest {
  private record Head(String method, String path, String query, String authority, Map<String, String> headers)
      implements RequestHead {
    @Override
    public String header(String lowerCaseName) {
      return headers.get(lowerCaseName);
    }
  }

  @Test
  void readsTheHeadAndTheConnectionAsRbacSeesThem() throws Exception {
    RbacEngine e = RbacEngineTest.engine("""
        {"action": "ALLOW", "policies": {"p": {
          "permissions": [{"and_rules": {"rules": [
            {"url_path": {"path": {"exact": "/items"}}},
            {"header": {"name": ":authority", "string_match": {"prefix": "product"}}},
            {"header": {"name": "x-team", "string_match": {"exact": "blue"}}},
            {"destination_port": 15006}]}}],
          "principals": [{"and_ids": {"ids": [
            {"authenticated": {"principal_name": {"exact": "spiffe://cluster.local/ns/shop/sa/web"}}},
            {"direct_remote_ip": {"address_prefix": "127.0.0.0", "prefix_len": 8}}]}}]}}}
        """);
    InetSocketAddress peer = new InetSocketAddress("127.0.0.1", 40000);
    HeadRequestView v = new HeadRequestView().connection(peer, peer,
        new InetSocketAddress("127.0.0.1", 15006), true, "spiffe://cluster.local/ns/shop/sa/web", null);

    assertThat(e.evaluate(v.head(new Head("GET", "/items", "a=1", "product:80", Map.of("x-team", "blue")))).allowed())
        .isTrue();
    assertThat(e.evaluate(v.head(new Head("GET", "/items", null, "product", Map.of("x-team", "red")))).allowed())
        .isFalse();
    v.connection(peer, peer, new InetSocketAddress("127.0.0.1", 15006), false, null, null);
    assertThat(e.evaluate(v.head(new Head("GET", "/items", null, "product", Map.of("x-team", "blue")))).allowed())
        .as("the same request over plaintext").isFalse();
  }
}
