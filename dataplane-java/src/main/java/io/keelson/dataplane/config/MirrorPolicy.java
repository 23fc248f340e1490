package io.keelson.dataplane.config;

/**
 * One of a route's {@code request_mirror_policies}: a copy of the sampled requests goes to
 * {@code cluster}, fire and forget. Immutable.
 *
 * @param cluster    the shadow cluster
 * @param perMillion how many requests in a million are mirrored ({@code runtime_fraction}'s
 *                   default_value; 1,000,000 when the policy has no fraction)
 */
public record MirrorPolicy(String cluster, int perMillion) {
  public static final int ALL = 1_000_000;

  public MirrorPolicy {
    if (perMillion < 0 || perMillion > ALL) {
      throw new IllegalArgumentException("perMillion " + perMillion + " is out of range; expected 0-" + ALL);
    }
  }
}
