package io.keelson.dataplane.rbac;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.keelson.dataplane.config.ConfigException;
import java.util.concurrent.atomic.LongAdder;

/**
 * The {@code envoy.filters.http.rbac} filter, compiled: enforced {@code rules} (absent = every
 * request allowed, as Envoy) and optional {@code shadow_rules}, evaluated and counted but never
 * enforced. {@link #shadowDecision} then {@link #enforce} are what an HTTP filter calls per request: on a
 * denial it answers {@link RbacDecision#HTTP_STATUS} (or gRPC {@link RbacDecision#GRPC_STATUS}). Thread-safe; counters
 * are LongAdders, evaluation allocates nothing.
 */
public final class HttpRbacConfig {
  public static final String FILTER_NAME = "envoy.filters.http.rbac";
  public static final String TYPE_URL = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC";

  private final RbacEngine rules;
  private final RbacEngine shadow;
  private final String statPrefix;
  private final String shadowPrefix;
  public final LongAdder allowed = new LongAdder();
  public final LongAdder denied = new LongAdder();
  public final LongAdder shadowAllowed = new LongAdder();
  public final LongAdder shadowDenied = new LongAdder();

  HttpRbacConfig(RbacEngine rules, RbacEngine shadow, String statPrefix) {
    this(rules, shadow, statPrefix, "");
  }

  HttpRbacConfig(RbacEngine rules, RbacEngine shadow, String statPrefix, String shadowPrefix) {
    this.rules = rules;
    this.shadow = shadow;
    this.statPrefix = statPrefix;
    this.shadowPrefix = shadowPrefix;
  }

  public static HttpRbacConfig from(RBAC proto) throws ConfigException {
    if (proto.hasMatcher() || proto.hasShadowMatcher()) {
      throw new ConfigException((proto.hasMatcher() ? "matcher" : "shadow_matcher")
          + ": the matcher-based RBAC API is not supported; use rules / shadow_rules");
    }
    return new HttpRbacConfig(proto.hasRules() ? RbacTranslator.compile(proto.getRules(), "rules") : null,
        proto.hasShadowRules() ? RbacTranslator.compile(proto.getShadowRules(), "shadow_rules") : null,
        proto.getRulesStatPrefix(), proto.getShadowRulesStatPrefix());
  }

  /** From an HTTP filter's {@code typed_config}. */
  public static HttpRbacConfig from(Any typedConfig) throws ConfigException {
    if (!typedConfig.getTypeUrl().equals(TYPE_URL)) {
      throw new ConfigException("typed_config: expected " + TYPE_URL + ", found " + typedConfig.getTypeUrl());
    }
    try {
      return from(typedConfig.unpack(RBAC.class));
    } catch (InvalidProtocolBufferException e) {
      throw new ConfigException("typed_config: not a valid " + TYPE_URL + ": " + e.getMessage());
    }
  }

  /** The shadow decision, counted, or null without shadow rules; then {@link #enforce} gives the enforced one. */
  public RbacDecision shadowDecision(RequestView v) {
    if (shadow == null) {
      return null;
    }
    RbacDecision d = shadow.evaluate(v);
    (d.allowed() ? shadowAllowed : shadowDenied).increment();
    return d;
  }

  /** The enforced decision, counted (shadow rules not evaluated). */
  public RbacDecision enforce(RequestView v) {
    RbacDecision d = rules == null ? RbacDecision.ALLOWED_NO_POLICY : rules.evaluate(v);
    (d.allowed() ? allowed : denied).increment();
    return d;
  }

  /** shadow_rules_stat_prefix: prefixes the shadow result's dynamic metadata keys (Istio: {@code istio_ext_authz_}). */
  public String shadowPrefix() {
    return shadowPrefix;
  }

  public RbacEngine rules() {
    return rules;
  }

  public String statPrefix() {
    return statPrefix;
  }
}
