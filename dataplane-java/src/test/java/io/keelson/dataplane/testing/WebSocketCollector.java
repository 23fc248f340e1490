package io.keelson.dataplane.testing;

import java.io.ByteArrayOutputStream;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A listener for the JDK's WebSocket client: whole text messages (as String) and binary ones (as byte[]) into
 * {@link #received}, the peer's close status into {@link #closed}. Called by the client's threads one at a time.
 */
public final class WebSocketCollector implements WebSocket.Listener {
  public final LinkedBlockingQueue<Object> received = new LinkedBlockingQueue<>();
  public final CompletableFuture<Integer> closed = new CompletableFuture<>();
  private final StringBuilder text = new StringBuilder();
  private final ByteArrayOutputStream binary = new ByteArrayOutputStream();

  @Override
  public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
    text.append(data);
    if (last) {
      received.add(text.toString());
      text.setLength(0);
    }
    w.request(1);
    return null;
  }

  @Override
  public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
    byte[] b = new byte[data.remaining()];
    data.get(b);
    binary.writeBytes(b);
    if (last) {
      received.add(binary.toByteArray());
      binary.reset();
    }
    w.request(1);
    return null;
  }

  @Override
  public CompletionStage<?> onClose(WebSocket w, int status, String reason) {
    closed.complete(status);
    return null;
  }
}
