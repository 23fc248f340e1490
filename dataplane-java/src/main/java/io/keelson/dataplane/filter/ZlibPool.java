package io.keelson.dataplane.filter;

import io.netty.util.concurrent.FastThreadLocal;
import java.util.ArrayDeque;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Native zlib state ({@link java.util.zip.Deflater}, {@link java.util.zip.Inflater}) kept per thread, so each event
 * loop reuses its own without locking; at most {@code maxIdle} idle per thread, one beyond that is ended at once, so
 * native memory stays bounded. Given back reset. Thread-safe (thread-confined lists).
 *
 * @param <T> the zlib object
 */
public final class ZlibPool<T> {
  private final int maxIdle;
  private final Supplier<T> create;
  private final Consumer<T> reset;
  private final Consumer<T> end;
  private final FastThreadLocal<ArrayDeque<T>> idle = new FastThreadLocal<>() {
    @Override
    protected ArrayDeque<T> initialValue() {
      return new ArrayDeque<>(maxIdle);
    }
  };

  public ZlibPool(int maxIdle, Supplier<T> create, Consumer<T> reset, Consumer<T> end) {
    this.maxIdle = maxIdle;
    this.create = create;
    this.reset = reset;
    this.end = end;
  }

  /** An idle object of this thread's, or a new one. */
  public T take() {
    T t = idle.get().pollFirst();
    return t != null ? t : create.get();
  }

  /** Gives {@code t} back to this thread's idle list, reset, or ends it when the list is full. */
  public void give(T t) {
    ArrayDeque<T> list = idle.get();
    if (list.size() >= maxIdle) {
      end.accept(t);
      return;
    }
    reset.accept(t);
    list.addFirst(t);
  }

  /** Idle objects on this thread (tests). */
  public int idle() {
    return idle.get().size();
  }

  public int maxIdle() {
    return maxIdle;
  }
}
