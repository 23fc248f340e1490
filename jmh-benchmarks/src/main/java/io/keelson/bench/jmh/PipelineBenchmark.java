package io.keelson.bench.jmh;

import io.keelson.dataplane.balance.LoadBalancer;
import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.config.LbPolicy;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.RouteConfig;
import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.VirtualHostConfig;
import io.keelson.dataplane.pipeline.EventFiller;
import io.keelson.dataplane.pipeline.Pipeline;
import io.keelson.dataplane.pipeline.PipelineFactory;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.pipeline.Stage;
import io.keelson.dataplane.route.PathMatch;
import io.keelson.dataplane.route.RequestHead;
import io.keelson.dataplane.route.RequestMatcher;
import io.keelson.dataplane.route.RouteTable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Round trip of one request through the routing stages (route match over 10 prefix routes, then a
 * round-robin pick over 3 endpoints): from publish until the decision is visible to the publishing
 * thread. {@code INLINE}: both stages run on the caller, as on an event loop. {@code DISRUPTOR}: the
 * stages run on their own threads on the ring (blocking wait strategy, as the proxy runs it) and the
 * last stage hands the decision back through a volatile field; the caller spins briefly on it, then
 * parks until the last stage unparks it (as an event loop sleeps until its task queue is woken:
 * spinning alone starves the stage threads on a machine with two cores).
 * {@code QUEUE}: the baseline — the request goes to one worker thread through an
 * ArrayBlockingQueue, the worker runs both stages and answers through a second ArrayBlockingQueue.
 * One request is in flight at a time; nothing is allocated per request except what the blocking
 * primitives allocate themselves when a thread parks.
 */
public class PipelineBenchmark extends BenchmarkBase {

  @Param({"INLINE", "DISRUPTOR", "QUEUE"})
  String wiring;

  /** Where the last stage leaves the decision for the publisher. */
  static final class Reply {
    volatile long done;
    Thread waiter;
    RouteEntry route;
    int endpoint;
  }

  /** The pre-allocated event: request in, decision out. */
  static final class Event {
    RequestHead head;
    Reply reply;
    long token;
    RouteEntry route;
    int endpoint;
  }

  static final class RouteMatchStage implements Stage<Event> {
    private final RouteTable table;

    RouteMatchStage(RouteTable table) {
      this.table = table;
    }

    @Override
    public void onEvent(Event event) {
      event.route = table.route(event.head);
    }
  }

  static final class BalanceStage implements Stage<Event> {
    private final LoadBalancer balancer;

    BalanceStage(ClusterConfig cluster) {
      balancer = LoadBalancer.create(cluster, new SplittableRandom(3));
    }

    @Override
    public void onEvent(Event event) {
      event.endpoint = event.route == null ? -1 : balancer.pick();
      Reply reply = event.reply;
      reply.route = event.route;
      reply.endpoint = event.endpoint;
      reply.done = event.token; // volatile write publishes the two fields above
      LockSupport.unpark(reply.waiter);
    }
  }

  private static final EventFiller<Event, PipelineBenchmark> FILLER =
      (event, bench) -> {
        event.head = bench.request;
        event.reply = bench.reply;
        event.token = bench.token;
      };

  /** Spins before parking while waiting for the ring's decision. */
  private static final int SPINS = 100;

  private final Reply reply = new Reply();
  private BenchRequest request;
  private long token;
  private Pipeline<Event> pipeline;

  private RouteMatchStage routeStage;
  private BalanceStage balanceStage;
  private ArrayBlockingQueue<Event> requests;
  private ArrayBlockingQueue<Event> responses;
  private Event queueEvent;
  private Thread worker;

  @Setup(Level.Trial)
  public void setUp() {
    RouteAction forward = RouteAction.Forward.toCluster("backend", Duration.ofSeconds(15));
    List<RouteEntry> routes = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      routes.add(new RouteEntry("r" + i, RequestMatcher.path(PathMatch.prefix("/service/" + i + "/", true)),
          forward, HeaderMutations.NONE, HeaderMutations.NONE));
    }
    RouteTable table = RouteTable.compile(new RouteConfig("bench",
        List.of(new VirtualHostConfig("api", List.of("api.example.com"), routes, HeaderMutations.NONE, HeaderMutations.NONE)),
        HeaderMutations.NONE, HeaderMutations.NONE));
    ClusterConfig cluster = ClusterConfig.builder("backend", LbPolicy.ROUND_ROBIN, Duration.ofSeconds(1), List.of(
        new EndpointConfig("10.0.0.1", 8080, 1), new EndpointConfig("10.0.0.2", 8080, 1), new EndpointConfig("10.0.0.3", 8080, 1))).build();
    reply.waiter = Thread.currentThread();
    request = new BenchRequest("GET", "/service/9/items", null, "api.example.com", null, null);

    List<Supplier<? extends Stage<Event>>> stages = List.of(() -> new RouteMatchStage(table), () -> new BalanceStage(cluster));
    switch (wiring) {
      case "INLINE" -> pipeline = PipelineFactory.create(PipelineMode.INLINE, "bench", stages, Event::new, 0);
      case "DISRUPTOR" -> pipeline = PipelineFactory.create(
          PipelineMode.DISRUPTOR, "bench", stages, Event::new, PipelineFactory.DEFAULT_RING_SIZE);
      case "QUEUE" -> {
        routeStage = new RouteMatchStage(table);
        balanceStage = new BalanceStage(cluster);
        requests = new ArrayBlockingQueue<>(PipelineFactory.DEFAULT_RING_SIZE);
        responses = new ArrayBlockingQueue<>(PipelineFactory.DEFAULT_RING_SIZE);
        queueEvent = new Event();
        worker = Thread.ofPlatform().daemon().name("bench-queue-worker").start(this::queueWorker);
      }
      default -> throw new IllegalArgumentException(wiring);
    }
    if (roundTrip() < 0 || !reply.route.name().equals("r9")) {
      throw new IllegalStateException("the benchmark request was not routed: " + reply.route + " " + reply.endpoint);
    }
  }

  private void queueWorker() {
    try {
      while (true) {
        Event event = requests.take();
        routeStage.onEvent(event);
        balanceStage.onEvent(event);
        responses.put(event);
      }
    } catch (InterruptedException e) {
      // trial over
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws InterruptedException {
    if (pipeline != null) {
      pipeline.close();
    }
    if (worker != null) {
      worker.interrupt();
      worker.join(5_000);
    }
  }

  @Benchmark
  public int roundTrip() {
    long t = ++token;
    if (requests != null) {
      Event event = queueEvent;
      event.head = request;
      event.reply = reply;
      event.token = t;
      try {
        requests.put(event);
        responses.take();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    } else {
      if (!pipeline.tryPublish(FILLER, this)) {
        throw new IllegalStateException("ring full with one request in flight");
      }
      int spins = 0;
      while (reply.done != t) {
        if (++spins < SPINS) {
          Thread.onSpinWait();
        } else {
          LockSupport.park(this);
        }
      }
    }
    return reply.endpoint;
  }
}
