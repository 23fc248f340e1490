package io.keelson.dataplane.filter;

import io.envoyproxy.envoy.type.v3.FractionalPercent;

/** Reads Envoy's FractionalPercent into {@link Percent}. Stateless. */
public final class Percents {
  private Percents() {}

  public static Percent of(FractionalPercent p) {
    int denominator = switch (p.getDenominator()) {
      case HUNDRED -> 100;
      case TEN_THOUSAND -> 10_000;
      case MILLION -> 1_000_000;
      default -> throw new IllegalArgumentException("unknown denominator " + p.getDenominator());
    };
    return new Percent(Integer.toUnsignedLong(p.getNumerator()), denominator);
  }
}
