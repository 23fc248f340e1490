package io.keelson.dataplane.filter.compressor;

import static io.keelson.dataplane.filter.compressor.AcceptEncoding.GZIP;
import static io.keelson.dataplane.filter.compressor.AcceptEncoding.IDENTITY;
import static io.keelson.dataplane.filter.compressor.AcceptEncoding.NOT_VALID;
import static io.keelson.dataplane.filter.compressor.AcceptEncoding.NO_HEADER;
import static io.keelson.dataplane.filter.compressor.AcceptEncoding.WILDCARD;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Envoy's accept-encoding choice (compressor.cc chooseEncoding) for a chain with one gzip compressor. */
class AcceptEncodingTest {
  @Test
  void gzipIsChosenWhenListedWithoutAZeroWeight() {
    assertThat(AcceptEncoding.decide("gzip")).isEqualTo(GZIP);
    assertThat(AcceptEncoding.decide("deflate, gzip;q=0.5, br")).isEqualTo(GZIP);
    assertThat(AcceptEncoding.decide(" gzip ; q=1.0 ")).isEqualTo(GZIP);
    assertThat(AcceptEncoding.decide("*;q=0,gzip;q=1")).isEqualTo(GZIP);
  }

  @Test
  void wildcardMeansGzipUnlessGzipIsRefused() {
    assertThat(AcceptEncoding.decide("*")).isEqualTo(WILDCARD);
    assertThat(AcceptEncoding.decide("br, *;q=0.1")).isEqualTo(WILDCARD);
    assertThat(AcceptEncoding.decide("gzip;q=0,*;q=1")).isEqualTo(NOT_VALID);
  }

  @Test
  void identityWinsWithAHigherWeightAndNothingAcceptableIsNotValid() {
    assertThat(AcceptEncoding.decide("identity;q=1, gzip;q=0.5")).isEqualTo(IDENTITY);
    assertThat(AcceptEncoding.decide("gzip;q=0.5, identity")).isEqualTo(IDENTITY);
    assertThat(AcceptEncoding.decide("gzip, identity;q=0")).isEqualTo(GZIP);
    assertThat(AcceptEncoding.decide("br, deflate")).isEqualTo(NOT_VALID);
    assertThat(AcceptEncoding.decide("gzip;q=0")).isEqualTo(NOT_VALID);
    assertThat(AcceptEncoding.decide("")).isEqualTo(NOT_VALID);
    assertThat(AcceptEncoding.decide(null)).isEqualTo(NO_HEADER);
  }

  @Test
  void anUnparsableWeightDropsItsToken() {
    assertThat(AcceptEncoding.decide("gzip;q=x")).isEqualTo(NOT_VALID);
    assertThat(AcceptEncoding.decide("gzip;q=x, *")).isEqualTo(WILDCARD);
    assertThat(AcceptEncoding.decide("gzip;level=1")).isEqualTo(GZIP); // not a q parameter: weight 1
  }

  @Test
  void onlyGzipAndWildcardCompress() {
    assertThat(AcceptEncoding.compresses(GZIP)).isTrue();
    assertThat(AcceptEncoding.compresses(WILDCARD)).isTrue();
    assertThat(AcceptEncoding.compresses(IDENTITY)).isFalse();
    assertThat(AcceptEncoding.compresses(NOT_VALID)).isFalse();
    assertThat(AcceptEncoding.compresses(NO_HEADER)).isFalse();
  }
}
