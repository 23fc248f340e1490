package io.keelson.bench.e2e;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class StatsTest {
  @Test
  void medianOfAnOddCountIsTheMiddleValue() {
    assertThat(Stats.median(30, 10, 20)).isEqualTo(20.0);
  }

  @Test
  void medianOfAnEvenCountIsTheMeanOfTheMiddleTwo() {
    assertThat(Stats.median(4, 1, 3, 2)).isEqualTo(2.5);
  }

  @Test
  void medianSkipsUnmeasuredValuesAndIsNaNWithoutAny() {
    assertThat(Stats.median(Double.NaN, 5, 7, Double.NaN)).isEqualTo(6.0);
    assertThat(Stats.median(List.of())).isNaN();
    assertThat(Stats.median(Double.NaN)).isNaN();
  }

  @Test
  void ratioIsNaNWhenEitherSideIsMissingOrZero() {
    assertThat(Stats.ratio(150, 100)).isEqualTo(1.5);
    assertThat(Stats.ratio(150, 0)).isNaN();
    assertThat(Stats.ratio(Double.NaN, 100)).isNaN();
    assertThat(Stats.ratio(100, Double.NaN)).isNaN();
  }
}
