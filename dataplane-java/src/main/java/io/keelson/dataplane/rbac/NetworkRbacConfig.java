package io.keelson.dataplane.rbac;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC;
import io.keelson.dataplane.config.ConfigException;
import java.util.concurrent.atomic.LongAdder;

/**
 * The {@code envoy.filters.network.rbac} filter, compiled: checked once per connection (Envoy's
 * ONE_TIME_ON_FIRST_BYTE) with a view whose HTTP parts are null; a denied connection is closed.
 * CONTINUOUS enforcement (re-checking per Mongo/Redis message) and delay_deny are not supported.
 * Thread-safe; evaluation allocates nothing.
 */
public final class NetworkRbacConfig {
  public static final String FILTER_NAME = "envoy.filters.network.rbac";
  public static final String TYPE_URL = "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC";

  private final RbacEngine rules;
  private final RbacEngine shadow;
  private final String statPrefix;
  private final String shadowRulesStatPrefix;
  public final LongAdder allowed = new LongAdder();
  public final LongAdder denied = new LongAdder();
  public final LongAdder shadowAllowed = new LongAdder();
  public final LongAdder shadowDenied = new LongAdder();

  NetworkRbacConfig(RbacEngine rules, RbacEngine shadow, String statPrefix) {
    this(rules, shadow, statPrefix, "");
  }

  NetworkRbacConfig(RbacEngine rules, RbacEngine shadow, String statPrefix, String shadowRulesStatPrefix) {
    this.rules = rules;
    this.shadow = shadow;
    this.statPrefix = statPrefix;
    this.shadowRulesStatPrefix = shadowRulesStatPrefix;
  }

  public static NetworkRbacConfig from(RBAC proto) throws ConfigException {
    if (proto.getStatPrefix().isEmpty()) {
      throw new ConfigException("stat_prefix: required (Envoy requires a non-empty stat_prefix)");
    }
    if (proto.hasMatcher() || proto.hasShadowMatcher()) {
      throw new ConfigException((proto.hasMatcher() ? "matcher" : "shadow_matcher")
          + ": the matcher-based RBAC API is not supported; use rules / shadow_rules");
    }
    if (proto.getEnforcementType() == RBAC.EnforcementType.CONTINUOUS) {
      throw new ConfigException("enforcement_type: CONTINUOUS is not supported; expected ONE_TIME_ON_FIRST_BYTE");
    }
    if (proto.hasDelayDeny()) {
      throw new ConfigException("delay_deny: not supported; denied connections are closed at once");
    }
    return new NetworkRbacConfig(proto.hasRules() ? RbacTranslator.compile(proto.getRules(), "rules") : null,
        proto.hasShadowRules() ? RbacTranslator.compile(proto.getShadowRules(), "shadow_rules") : null,
        proto.getStatPrefix(), proto.getShadowRulesStatPrefix());
  }

  public static NetworkRbacConfig from(Any typedConfig) throws ConfigException {
    if (!typedConfig.getTypeUrl().equals(TYPE_URL)) {
      throw new ConfigException("typed_config: expected " + TYPE_URL + ", found " + typedConfig.getTypeUrl());
    }
    try {
      return from(typedConfig.unpack(RBAC.class));
    } catch (InvalidProtocolBufferException e) {
      throw new ConfigException("typed_config: not a valid " + TYPE_URL + ": " + e.getMessage());
    }
  }

  /** Decides a new connection: false = close it. */
  public RbacDecision evaluate(RequestView connection) {
    RbacDecision s = decideShadow(connection);
    if (s != null) {
      (s.allowed() ? shadowAllowed : shadowDenied).increment();
    }
    RbacDecision d = decide(connection);
    (d.allowed() ? allowed : denied).increment();
    return d;
  }

  /** The enforced decision, not counted (for callers that keep their own counters). */
  public RbacDecision decide(RequestView connection) {
    return rules == null ? RbacDecision.ALLOWED_NO_POLICY : rules.evaluate(connection);
  }

  /** The shadow rules' decision, not counted; null without shadow rules. */
  public RbacDecision decideShadow(RequestView connection) {
    return shadow == null ? null : shadow.evaluate(connection);
  }

  public boolean hasShadowRules() {
    return shadow != null;
  }

  public String statPrefix() {
    return statPrefix;
  }

  /** Envoy's shadow_rules_stat_prefix: put between {@code rbac.} and {@code shadow_allowed}. */
  public String shadowRulesStatPrefix() {
    return shadowRulesStatPrefix;
  }
}
