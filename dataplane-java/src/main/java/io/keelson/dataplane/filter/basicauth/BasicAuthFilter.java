package io.keelson.dataplane.filter.basicauth;

import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HeaderOverlay;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.route.RequestHead;
import io.keelson.dataplane.stats.ResponseFlag;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * Envoy's basic_auth filter (basic_auth_filter.cc): the credential header ({@code authorization}, or
 * authentication_header) must be {@code Basic <base64 of user:password>} naming a user whose {@code {SHA}} hash the
 * password matches; otherwise the request is answered 401 with Envoy's message and {@code www-authenticate: Basic
 * realm="<scheme>://<host><path>"} (the path cut at 256 characters, as Envoy's buildOriginalUri). A verified request
 * goes on with its credential header untouched (Envoy forwards it) and, with forward_username_header, that header set
 * to the user's name. Immutable apart from its shared counters; thread-safe.
 */
final class BasicAuthFilter implements HttpFilter {
  static final String MISSING = "User authentication failed. Missing username and password.";
  static final String BAD_SCHEME = "User authentication failed. Expected 'Basic' authentication scheme.";
  static final String BAD_FORMAT = "User authentication failed. Invalid basic credential format.";
  static final String BAD_CREDENTIAL = "User authentication failed. Invalid username/password combination.";
  private static final int MAX_REALM_PATH = 256;

  private final BasicAuthConfig config;
  private final LongAdder allowed;
  private final LongAdder denied;

  BasicAuthFilter(BasicAuthConfig config, LongAdder allowed, LongAdder denied) {
    this.config = config;
    this.allowed = allowed;
    this.denied = denied;
  }

  @Override
  public void onRequest(FilterContext context) {
    RequestHead head = context.head;
    String credential = head.header(config.credentialHeader());
    if (credential == null) {
      deny(context, MISSING);
      return;
    }
    if (!credential.startsWith("Basic ")) {
      deny(context, BAD_SCHEME);
      return;
    }
    byte[] decoded = decode(credential);
    int colon = indexOf(decoded, (byte) ':');
    if (colon < 0) {
      deny(context, BAD_FORMAT);
      return;
    }
    String user = new String(decoded, 0, colon, StandardCharsets.UTF_8);
    if (!config.users().verify(user, decoded, colon + 1, decoded.length - colon - 1)) {
      deny(context, BAD_CREDENTIAL);
      return;
    }
    allowed.increment();
    String forward = config.forwardUsernameHeader();
    if (forward != null) {
      context.head = new HeaderOverlay(head, new String[] {forward}, new String[] {user});
      context.mutateRequestHeaders(withUsername(context.requestHeaders(), new HeaderMutations.HeaderValue(forward, user, false)));
    }
  }

  /** An earlier filter's header changes (they replace each other in the context) with the username header added. */
  private static HeaderMutations withUsername(HeaderMutations earlier, HeaderMutations.HeaderValue username) {
    if (earlier == null || earlier.isEmpty()) {
      return new HeaderMutations(List.of(username), List.of());
    }
    List<HeaderMutations.HeaderValue> add = new java.util.ArrayList<>(earlier.add());
    add.add(username);
    return new HeaderMutations(add, earlier.remove());
  }

  /** Envoy's decodeWithoutPadding: the base64 after {@code Basic }, padded or not; undecodable is empty. */
  private static byte[] decode(String credential) {
    String token = credential.substring(6);
    try {
      return Base64.getDecoder().decode(token); // the JDK's decoder takes the padding as optional
    } catch (IllegalArgumentException e) {
      return new byte[0];
    }
  }

  private static int indexOf(byte[] bytes, byte b) {
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == b) {
        return i;
      }
    }
    return -1;
  }

  private void deny(FilterContext context, String body) {
    denied.increment();
    context.localReply(401, body, "www-authenticate: Basic realm=\"" + realm(context.head) + "\"\r\n", ResponseFlag.NONE);
  }

  /** Envoy's buildOriginalUri: x-forwarded-proto (http when absent), the host, the path cut at 256 characters. */
  static String realm(RequestHead head) {
    String scheme = head.header("x-forwarded-proto");
    String host = head.authority();
    String path = head.path();
    String query = head.query();
    String full = query == null ? path : path + "?" + query;
    return (scheme == null ? "http" : scheme) + "://" + (host == null ? "" : host)
        + (full.length() > MAX_REALM_PATH ? full.substring(0, MAX_REALM_PATH) : full);
  }
}
