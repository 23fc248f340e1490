package io.keelson.dataplane.pipeline;

/**
 * An event that can carry a stage's failure to the stages after it. When a stage throws on such an
 * event, the pipeline (inline or ring) records the failure here and runs the remaining stages; they
 * skip their work for a failed event, and the last one hands it back, so its request is answered with
 * an error at once rather than waiting for a decision that never comes or going on half-decided.
 * Events that are not failable keep the plain contract: inline, the exception reaches the publisher;
 * on a ring, it is logged and the event goes on.
 *
 * <p>Threading: called by the thread running the stage that failed (see {@link Stage}).
 */
public interface FailableEvent {
  void stageFailed(Throwable cause);
}
