package io.keelson.dataplane.cel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class CelParserTest {
  @Test
  void readsPrecedenceOfOrAndAndComparisons() {
    CelNode n = CelParser.parse("response.code >= 400 || request.method == 'POST' && !has(request.headers.x)");
    assertThat(n).isInstanceOf(CelNode.Binary.class);
    CelNode.Binary or = (CelNode.Binary) n;
    assertThat(or.op()).isEqualTo("||");
    assertThat(((CelNode.Binary) or.left()).op()).isEqualTo(">=");
    assertThat(((CelNode.Binary) or.right()).op()).isEqualTo("&&");
    assertThat(CelNode.dottedName(((CelNode.Binary) or.left()).left())).isEqualTo("response.code");
  }

  @Test
  void readsLiteralsListsIndexesAndMethods() {
    CelNode.Binary in = (CelNode.Binary) CelParser.parse("response.code in [404, 503u]");
    assertThat(((CelNode.ListLiteral) in.right()).items()).extracting(i -> ((CelNode.Literal) i).value()).containsExactly(404L, 503L);
    CelNode.Index ix = (CelNode.Index) CelParser.parse("request.headers[\"x-user\"]");
    assertThat(((CelNode.Literal) ix.key()).value()).isEqualTo("x-user");
    CelNode.Call call = (CelNode.Call) CelParser.parse("request.path.startsWith('/api\\'s')");
    assertThat(call.function()).isEqualTo("startsWith");
    assertThat(((CelNode.Literal) call.args().get(0)).value()).isEqualTo("/api's");
    assertThat(CelParser.parse("(true)")).isEqualTo(new CelNode.Literal(Boolean.TRUE, false, 2));
  }

  @Test
  void refusesWithTheColumnAndWhatWasExpected() {
    assertThatThrownBy(() -> CelParser.parse("response.code >= "))
        .isInstanceOf(CelSyntaxException.class)
        .hasMessage("CEL expression 'response.code >= ' at column 18: expected a literal, a name, '(' or '[', got the end");
    assertThatThrownBy(() -> CelParser.parse("response.code = 400"))
        .hasMessage("CEL expression 'response.code = 400' at column 15: expected an operator (== != < <= > >= in && ||)"
            + " or the end, got '= 400'");
    assertThatThrownBy(() -> CelParser.parse("(response.code > 1"))
        .hasMessage("CEL expression '(response.code > 1' at column 19: expected ')', got the end");
    assertThatThrownBy(() -> CelParser.parse("request.path == 'abc"))
        .hasMessage("CEL expression 'request.path == 'abc' at column 17: unterminated string; expected a closing '");
    assertThatThrownBy(() -> CelParser.parse("response.code + 1 > 2"))
        .satisfies(e -> assertThat(((CelSyntaxException) e).column()).isEqualTo(15))
        .hasMessageContaining("arithmetic is not supported");
    assertThatThrownBy(() -> CelParser.parse("response.size > 1.5"))
        .hasMessageContaining("at column 18: doubles are not supported");
    assertThatThrownBy(() -> CelParser.parse("  "))
        .hasMessageContaining("at column 1: expected an expression");
  }

  @Test
  void boundsLengthAndNesting() {
    assertThatThrownBy(() -> CelParser.parse("(".repeat(40) + "true" + ")".repeat(40)))
        .hasMessageContaining("at most 32 levels of nesting");
    assertThatThrownBy(() -> CelParser.parse("'" + "a".repeat(5000) + "'"))
        .hasMessageContaining("at most 4096 characters");
  }
}
