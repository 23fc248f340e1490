package io.keelson.dataplane.http1.codec;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Test;

/** The leak check the codec tests rely on does catch a buffer that was not released. */
class RecorderLeakCheckTest {

  @Test
  void flagsABufferAllocatedFromThePoolAndNeverReleased() {
    Recorder<Http1Request> r = Recorder.requestParser();
    ByteBuf leaked = r.alloc.buffer(100);
    assertThatThrownBy(r::assertAllReleased).isInstanceOf(AssertionError.class).hasMessageContaining("still allocated");
    leaked.release();
  }

  @Test
  void flagsAFedBufferThatIsStillReferenced() {
    Recorder<Http1Request> r = Recorder.requestParser();
    ByteBuf fed = r.buf("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    fed.retain();
    r.parser.feed(fed);
    assertThatThrownBy(r::assertAllReleased).isInstanceOf(AssertionError.class).hasMessageContaining("refCnt");
    fed.release();
  }
}
