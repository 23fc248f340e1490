package io.keelson.dataplane.filter.extproc;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption.HeaderAppendAction;
import io.envoyproxy.envoy.service.ext_proc.v3.HeaderMutation;
import io.keelson.dataplane.config.HeaderMutations;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

/** A processor's header mutation under Envoy's default mutation rules and each append action. */
class ProcessorMutationsTest {
  private static HeaderValueOption set(String name, String value, HeaderAppendAction action) {
    return HeaderValueOption.newBuilder().setHeader(HeaderValue.newBuilder().setKey(name).setValue(value))
        .setAppendAction(action).build();
  }

  @Test
  void appendActionsDecideByWhatTheRequestHas() {
    LongAdder rejected = new LongAdder();
    HeaderMutations m = ProcessorMutations.forRequest(HeaderMutation.newBuilder()
        .addSetHeaders(set("x-present", "a", HeaderAppendAction.ADD_IF_ABSENT))
        .addSetHeaders(set("x-absent", "b", HeaderAppendAction.ADD_IF_ABSENT))
        .addSetHeaders(set("x-present", "c", HeaderAppendAction.OVERWRITE_IF_EXISTS))
        .addSetHeaders(set("x-absent", "d", HeaderAppendAction.OVERWRITE_IF_EXISTS))
        .addSetHeaders(set("x-present", "e", HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD))
        .addSetHeaders(set("X-Upper", "f", HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
        .addSetHeaders(HeaderValueOption.newBuilder().setHeader(HeaderValue.newBuilder().setKey("x-legacy").setValue("g"))
            .setAppend(BoolValue.of(false)))
        .build(), Set.of("x-present"), rejected);
    assertThat(m.add()).containsExactly(new HeaderMutations.HeaderValue("x-absent", "b", false),
        new HeaderMutations.HeaderValue("x-present", "c", false), new HeaderMutations.HeaderValue("x-present", "e", true),
        new HeaderMutations.HeaderValue("x-upper", "f", false), new HeaderMutations.HeaderValue("x-legacy", "g", false));
    assertThat(rejected.sum()).isZero();
  }

  @Test
  void envoysDefaultRulesSkipRoutingEnvoyAndPseudoHeadersAndBadValues() {
    LongAdder rejected = new LongAdder();
    HeaderMutations m = ProcessorMutations.forRequest(HeaderMutation.newBuilder()
        .addSetHeaders(set("host", "evil", HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
        .addSetHeaders(set(":authority", "evil", HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
        .addSetHeaders(set(":path", "/admin", HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
        .addSetHeaders(set("x-envoy-retry-on", "5xx", HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
        .addSetHeaders(set("x-split", "a\r\nx-evil: 1", HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
        .addSetHeaders(set("x-fine", "ok", HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD))
        .addRemoveHeaders(":method").addRemoveHeaders("Host").addRemoveHeaders("x-envoy-internal")
        .addRemoveHeaders("X-Gone").build(), Set.of("x-gone"), rejected);
    assertThat(m.add()).containsExactly(new HeaderMutations.HeaderValue("x-fine", "ok", false));
    assertThat(m.remove()).containsExactly("x-gone");
    assertThat(rejected.sum()).isEqualTo(8);
  }
}
