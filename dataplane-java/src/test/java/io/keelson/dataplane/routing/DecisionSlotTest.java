package io.keelson.dataplane.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DecisionSlotTest {
  private final DecisionSlot slot = new DecisionSlot();
  private final AtomicInteger hooksRun = new AtomicInteger();

  private RoutingEvent decision(long ticket, boolean withHook) {
    RoutingEvent event = new RoutingEvent();
    event.ticket = ticket;
    event.endpoint = (int) ticket;
    if (withHook) {
      event.policy.onExchangeEnd(hooksRun::incrementAndGet);
    }
    return event;
  }

  @Test
  void aDecisionForTheLatestTicketIsTakenOnce() {
    long ticket = slot.issue();
    slot.offer(decision(ticket, false));

    assertThat(slot.take()).isTrue();
    assertThat(slot.endpoint).isEqualTo((int) ticket);
    assertThat(slot.take()).as("taken already").isFalse();
  }

  @Test
  void nothingIsTakenBeforeTheDecisionArrives() {
    slot.issue();
    assertThat(slot.take()).isFalse();
  }

  @Test
  void aLateDecisionIsNeverTakenForTheNextRequest() {
    long first = slot.issue();
    long second = slot.issue(); // the first request timed out; the connection's next one published

    slot.offer(decision(first, false));
    assertThat(slot.take()).as("the first request's decision, arriving late").isFalse();

    slot.offer(decision(second, false));
    assertThat(slot.take()).isTrue();
    assertThat(slot.endpoint).isEqualTo((int) second);
  }

  @Test
  void aLateDecisionStillRunsItsFiltersEndHook() {
    long first = slot.issue();
    slot.issue();

    slot.offer(decision(first, true));

    assertThat(hooksRun).hasValue(1);
  }

  @Test
  void aDecisionThatWentStaleInTheSlotHasItsHookRunByTheNextOne() {
    long first = slot.issue();
    slot.offer(decision(first, true)); // current when offered
    long second = slot.issue();       // then its request ended before the event loop took it
    assertThat(slot.take()).isFalse();
    assertThat(hooksRun).hasValue(0);

    slot.offer(decision(second, true));
    assertThat(hooksRun).as("the stale decision's hook").hasValue(1);
    assertThat(slot.take()).isTrue();

    slot.discard(); // its request no longer wanted it either
    assertThat(hooksRun).hasValue(2);
  }

  @Test
  void underARacingRingEveryTakenDecisionAnswersTheLatestTicket() throws Exception {
    BlockingQueue<RoutingEvent> ring = new ArrayBlockingQueue<>(64);
    RoutingEvent stop = new RoutingEvent();
    Thread balance = Thread.ofPlatform().name("balance").start(() -> {
      try {
        for (RoutingEvent e = ring.take(); e != stop; e = ring.take()) {
          if ((e.ticket & 7) == 0) {
            Thread.onSpinWait(); // vary the ring's latency a little
          }
          slot.offer(e);
        }
      } catch (InterruptedException interrupted) {
        Thread.currentThread().interrupt();
      }
    });
    int taken = 0;
    int wrong = 0;
    try {
      for (int i = 0; i < 20_000; i++) {
        long ticket = slot.issue();
        assertThat(ring.offer(decision(ticket, false), 10, TimeUnit.SECONDS)).isTrue();
        if (ThreadLocalRandom.current().nextInt(4) == 0) {
          continue; // this request "timed out": the next one publishes while its decision is in flight
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!slot.take()) {
          assertThat(System.nanoTime()).as("decision %d never came", ticket).isLessThan(deadline);
          Thread.onSpinWait();
        }
        taken++;
        if (slot.endpoint != (int) ticket) {
          wrong++;
        }
      }
    } finally {
      ring.offer(stop, 10, TimeUnit.SECONDS);
      balance.join(10_000);
    }
    assertThat(wrong).isZero();
    assertThat(taken).isGreaterThan(10_000);
  }
}
