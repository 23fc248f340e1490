package io.keelson.dataplane.internal.ffm;

import java.lang.invoke.MethodHandle;

/**
 * The raw downcalls FfmDowncallBenchmark compares, with and without {@code Linker.Option.critical}.
 * Public only for the benchmark module; nothing on the data path uses it.
 *
 * <p>Threading: RX/TX follow {@link DpdkPort}'s queue rules.
 */
public final class DowncallProbe {
  private DowncallProbe() {}


  public static int abiVersionPlain() {
    try {
      return (int) ShimCalls.Burst.ABI_VERSION.invokeExact();
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  public static int abiVersionCritical() {
    try {
      return (int) ShimCalls.Burst.ABI_VERSION_CRITICAL.invokeExact();
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  /** RX burst then TX of everything received (net_null: TX frees), through the plain handles. */
  public static int forwardPlain(DpdkPort port, RxBurst burst) {
    try {
      int n = (int) ShimCalls.Burst.RX.invokeExact((short) port.id(), (short) 0, burst.mbufs, (short) burst.capacity());
      if (n == 0) {
        return 0;
      }
      int sent = (int) ShimCalls.Burst.TX.invokeExact((short) port.id(), (short) 0, burst.mbufs, (short) n);
      if (sent < n) {
        int ignored = (int) ShimCalls.Burst.FREE_BULK.invokeExact(burst.mbufs.asSlice(sent * 8L), n - sent);
      }
      return n;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  /** Same as {@link #forwardPlain} through the {@code critical(false)} handles. */
  public static int forwardCritical(DpdkPort port, RxBurst burst) {
    try {
      int n = (int) ShimCalls.Burst.RX_CRITICAL.invokeExact(
          (short) port.id(), (short) 0, burst.mbufs, (short) burst.capacity());
      if (n == 0) {
        return 0;
      }
      int sent = (int) ShimCalls.Burst.TX_CRITICAL.invokeExact((short) port.id(), (short) 0, burst.mbufs, (short) n);
      if (sent < n) {
        int ignored = (int) ShimCalls.Burst.FREE_BULK.invokeExact(burst.mbufs.asSlice(sent * 8L), n - sent);
      }
      return n;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }
}
