package io.keelson.dataplane.config;

/** Envoy's lb_policy values that Keelson runs. */
public enum LbPolicy {
  ROUND_ROBIN,
  LEAST_REQUEST,
  RANDOM
}
