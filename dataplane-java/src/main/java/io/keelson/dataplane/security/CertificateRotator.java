package io.keelson.dataplane.security;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * Keeps the proxy's workload certificate fresh: generates a new P-256 key in-process, sends only a
 * CSR to the CA through a {@link CertificateSigner}, checks the answer (the leaf must carry our public
 * key and a SPIFFE URI), and swaps key and chain together in one volatile write. The next rotation is
 * scheduled at {@code notBefore + fraction × lifetime} (default half the lifetime, as Istio); a failed
 * attempt is retried with doubling backoff while the current certificate stays in use.
 * Thread-safe: rotations run on one daemon thread, {@code keelson-cert-rotator}; readers only read volatiles.
 */
public final class CertificateRotator implements CertificateSource, AutoCloseable {
  public static final double DEFAULT_ROTATION_FRACTION = 0.5;
  static final Duration MIN_RETRY = Duration.ofMillis(200);
  static final Duration MAX_RETRY = Duration.ofSeconds(30);

  private final CertificateSigner signer;
  private final Duration requestedTtl;
  private final double fraction;
  private final Clock clock;
  private final ScheduledExecutorService executor;
  private final List<Consumer<CertificateSource>> listeners = new CopyOnWriteArrayList<>();
  private final LongAdder rotations = new LongAdder();
  private final LongAdder failures = new LongAdder();
  private volatile WorkloadCertificate current;
  private volatile Instant receivedAt;
  private volatile List<X509Certificate> trustBundle = List.of();
  private volatile boolean trustBundleFromSds;
  private volatile String lastError;
  private Duration retry = MIN_RETRY; // rotator thread only
  private volatile boolean closed;

  /**
   * @param requestedTtl lifetime asked of the CA, or null for its default
   * @param fraction     share of the lifetime after which to rotate, in (0, 1)
   */
  public CertificateRotator(CertificateSigner signer, Duration requestedTtl, double fraction, Clock clock) {
    if (!(fraction > 0 && fraction < 1)) {
      throw new IllegalArgumentException("rotation fraction " + fraction + " is out of range; expected 0 < f < 1");
    }
    this.signer = signer;
    this.requestedTtl = requestedTtl;
    this.fraction = fraction;
    this.clock = clock;
    ScheduledThreadPoolExecutor ex = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "keelson-cert-rotator");
      t.setDaemon(true);
      return t;
    });
    ex.setRemoveOnCancelPolicy(true);
    this.executor = ex;
  }

  public CertificateRotator(CertificateSigner signer) {
    this(signer, null, DEFAULT_ROTATION_FRACTION, Clock.systemUTC());
  }

  /**
   * Obtains the first certificate (blocking the caller until it is issued, or throwing the CA's
   * reason) and schedules the rotations after it.
   */
  public CertificateRotator start() throws Exception {
    try {
      executor.submit(() -> {
        rotate();
        return null;
      }).get();
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof Exception x ? x : e;
    }
    schedule(nextRotation(current, receivedAt));
    return this;
  }

  /** Rotates now (e.g. after the operator rotated the CA), blocking until the new certificate is in place. */
  public void rotateNow() throws Exception {
    try {
      executor.submit(() -> {
        rotate();
        return null;
      }).get();
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof Exception x ? x : e;
    }
  }

  @Override
  public WorkloadCertificate current() {
    return current;
  }

  @Override
  public List<X509Certificate> trustBundle() {
    return trustBundle;
  }

  @Override
  public void addListener(Consumer<CertificateSource> listener) {
    listeners.add(listener);
  }

  /** Replaces the trust bundle (from the control plane's SDS {@code validation_context}); notifies listeners. */
  public void updateTrustBundle(List<X509Certificate> roots) {
    executor.execute(() -> {
      trustBundle = List.copyOf(roots);
      trustBundleFromSds = true;
      notifyListeners();
    });
  }

  public long rotations() {
    return rotations.sum();
  }

  public long failures() {
    return failures.sum();
  }

  /** Why the last attempt failed, or null after a success. */
  public String lastError() {
    return lastError;
  }

  /**
   * When the next rotation is due for {@code c}: the fraction of its validity left when it arrived
   * (CAs backdate notBefore for clock skew; counting from it would rotate early).
   */
  Instant nextRotation(WorkloadCertificate c, Instant received) {
    Instant start = c.notBefore().isAfter(received) ? c.notBefore() : received;
    long lifeMillis = Math.max(0, Duration.between(start, c.notAfter()).toMillis());
    return start.plusMillis((long) (lifeMillis * fraction));
  }

  /** When the current certificate will be replaced (for the admin page and tests). */
  public Instant nextRotation() {
    WorkloadCertificate c = current;
    return c == null ? null : nextRotation(c, receivedAt);
  }

  private void schedule(Instant at) {
    if (closed) {
      return;
    }
    long delay = Math.max(0, Duration.between(clock.instant(), at).toMillis());
    executor.schedule(this::rotateAndReschedule, delay, TimeUnit.MILLISECONDS);
  }

  private void rotateAndReschedule() {
    try {
      rotate();
      retry = MIN_RETRY;
      schedule(nextRotation(current, receivedAt));
    } catch (Exception e) {
      failures.increment();
      lastError = e.toString();
      Duration wait = retry;
      retry = retry.multipliedBy(2).compareTo(MAX_RETRY) > 0 ? MAX_RETRY : retry.multipliedBy(2);
      schedule(clock.instant().plus(wait));
    }
  }

  /** One rotation, on the rotator thread. */
  private void rotate() throws Exception {
    KeyPair keys = CertificateRequests.newKeyPair();
    List<String> pems = signer.sign(CertificateRequests.csrPem(keys), requestedTtl);
    List<X509Certificate> chain = parse(pems);
    if (chain.isEmpty()) {
      throw new CertificateException("the CA answered no certificate");
    }
    X509Certificate leaf = chain.getFirst();
    if (!leaf.getPublicKey().equals(keys.getPublic())) {
      throw new CertificateException("the CA's certificate is not for the key this proxy sent");
    }
    if (PeerIdentity.spiffeUri(leaf) == null) {
      throw new CertificateException("the CA's certificate has no spiffe:// URI SAN");
    }
    List<X509Certificate> presented = new ArrayList<>(chain);
    X509Certificate last = presented.getLast();
    if (presented.size() > 1 && last.getSubjectX500Principal().equals(last.getIssuerX500Principal())) {
      presented.removeLast(); // the root: peers have it in their bundle
      if (!trustBundleFromSds) {
        trustBundle = List.of(last);
      }
    }
    receivedAt = clock.instant();
    current = new WorkloadCertificate(keys.getPrivate(), presented);
    rotations.increment();
    lastError = null;
    notifyListeners();
  }

  private void notifyListeners() {
    for (Consumer<CertificateSource> l : listeners) {
      try {
        l.accept(this);
      } catch (RuntimeException e) {
        lastError = "listener failed: " + e;
      }
    }
  }

  static List<X509Certificate> parse(List<String> pems) throws CertificateException {
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    List<X509Certificate> out = new ArrayList<>();
    for (String pem : pems) {
      for (var c : cf.generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
        out.add((X509Certificate) c);
      }
    }
    return out;
  }

  @Override
  public void close() {
    closed = true;
    executor.shutdownNow();
  }
}
