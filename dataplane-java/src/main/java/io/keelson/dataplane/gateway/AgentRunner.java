package io.keelson.dataplane.gateway;

import io.keelson.dataplane.internal.ffm.CpuAffinity;

/**
 * Runs one agent on its own platform thread, optionally pinned to a CPU, until {@link #close()}.
 * An agent that throws stops its thread; the failure is kept for {@link #failure()}.
 *
 * <p>Threading: start/close from the owning thread; the agent runs on the runner's thread.
 */
final class AgentRunner implements AutoCloseable {
  private final Agent agent;
  private final IdleStrategy idle;
  private final int cpu;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile Throwable failure;

  /** @param cpu the CPU to pin the thread to, or -1 for no pinning */
  AgentRunner(Agent agent, IdleStrategy idle, int cpu) {
    this.agent = agent;
    this.idle = idle;
    this.cpu = cpu;
    this.thread = Thread.ofPlatform().name("keelson-" + agent.roleName()).daemon(true).unstarted(this::run);
  }

  void start() {
    thread.start();
  }

  private void run() {
    try {
      if (cpu >= 0) {
        CpuAffinity.pin(cpu);
      }
      agent.onStart();
      while (running) {
        idle.idle(agent.doWork());
      }
    } catch (Throwable t) {
      failure = t;
      running = false;
    } finally {
      try {
        agent.onClose();
      } catch (Throwable t) {
        if (failure == null) {
          failure = t;
        }
      }
    }
  }

  boolean isRunning() {
    return running && thread.isAlive();
  }

  Throwable failure() {
    return failure;
  }

  /** CPU time the agent's thread has used so far (ns), or -1 where the JVM cannot tell. */
  long cpuNanos() {
    java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
    return mx.isThreadCpuTimeSupported() ? mx.getThreadCpuTime(thread.threadId()) : -1;
  }

  @Override
  public void close() {
    running = false;
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
