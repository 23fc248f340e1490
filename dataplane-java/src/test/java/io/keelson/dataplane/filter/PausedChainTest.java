package io.keelson.dataplane.filter;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A chain paused for an external check keeps every input the filters read: a filter after ext_authz that read an
 * input PausedChain forgot would see it unset (the rate limit filter's {@code upstreamCluster} once did).
 */
class PausedChainTest {
  @Test
  void everyPublicInputOfTheContextIsKeptAcrossACheck() {
    List<String> inputs = Arrays.stream(FilterContext.class.getDeclaredFields())
        .filter(f -> Modifier.isPublic(f.getModifiers()) && !Modifier.isStatic(f.getModifiers()))
        .map(Field::getName).toList();
    List<String> kept = Arrays.stream(PausedChain.class.getRecordComponents()).map(RecordComponent::getName).toList();
    assertThat(inputs).isNotEmpty();
    assertThat(kept).containsAll(inputs);
  }
}
