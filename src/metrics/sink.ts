// What the controller tells its metrics. The controller (wiring, doors, store) emits into
// this interface only; src/metrics/prom.ts implements it with prom-client, and NO_METRICS
// (the default) drops everything, so nothing outside src/metrics imports prom-client.
export interface MetricsSink {
  /** A stanza received; `kind` is `message`, `presence` or `iq-<type>`. */
  stanzaIn(kind: string): void;
  /** `n` stanzas written of one kind. */
  stanzaOut(kind: string, n?: number): void;
  /** An IQ get/set answered, by operation (`pubsub#publish`, `register#query`, …). */
  iqHandled(operation: string, seconds: number): void;
  /** One item stored in `topic`. */
  published(topic: string): void;
  /** `n` notifications of one item queued for subscribers of `topic`. */
  delivered(topic: string, n: number): void;
  /** An audit event (authorization decisions, registrations, account changes). */
  audit(event: string, fields: Readonly<Record<string, unknown>>): void;
  /** A store write that waited for fsync, in seconds. */
  fsync(seconds: number): void;
}

export const NO_METRICS: MetricsSink = {
  stanzaIn() {},
  stanzaOut() {},
  iqHandled() {},
  published() {},
  delivered() {},
  audit() {},
  fsync() {},
};

/** The kind of a stanza for the in/out counters: a fixed set, whatever arrives. */
export function stanzaKind(name: string, type: string | undefined): string {
  if (name === 'iq') return IQ_TYPES.includes(type ?? '') ? `iq-${type}` : 'iq-other';
  if (name === 'message') return type === 'error' ? 'message-error' : 'message';
  if (name === 'presence') return 'presence';
  return 'other';
}

const IQ_TYPES = ['get', 'set', 'result', 'error'];
