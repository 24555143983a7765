// The IPC vocabulary between the bench parent (fleet.ts) and its client processes (worker.ts).

export interface NodeFiles { name: string; cert: string; key: string }

export interface PublishSpec {
  /** `pubsub`: XEP-0060 publish to `to`/`topic`; `message`: W0's direct messages to `targets`. */
  mode: 'pubsub' | 'message';
  kind: 'indicator' | 'ics';
  tag: string;
  to: string;
  topic: string;
  items: number;
  window: number;
  targets?: string[];
  icsFile?: string;
  perBundle?: number;
  /** Open loop: publishes per second on a fixed schedule instead of a window (the steady workload). */
  ratePerS?: number;
}

/** W2 without the controller: the subscribers cut each notification themselves. */
export interface ClientFilter { groups: Record<string, string[]>[]; fields: Record<string, string> }

export type WorkerRequest =
  | { op: 'connect'; service: string; domain: string; caFile: string; nodes: NodeFiles[] }
  | { op: 'ping'; to: string; timeoutMs: number }
  | { op: 'register'; controller: string }
  | { op: 'subscribe'; to: string; topic: string; filters?: (Record<string, string[]> | null)[] }
  | { op: 'create-node'; to: string; node: string; maxItems: number; persist: boolean }
  | { op: 'arm'; tag: string; expected: number; expectedByGroup?: number[]; clientFilter?: ClientFilter; countObjects?: boolean }
  | { op: 'collect' }
  | { op: 'count' }
  | { op: 'publish'; spec: PublishSpec }
  | { op: 'probe'; to: string; topic: string; seconds: number; intervalMs: number }
  | { op: 'flood'; to: string; topic: string; seconds: number; window: number }
  | { op: 'close' };

export interface Collected { count: number; bytes: number; first: number; last: number; hist: [number, number][]; wire: number; objects: number; nodes: number; expected: number }
export interface Published { t0: number; t1: number; errors: number; firstError?: string; /** Open-loop publishes: due time → the controller's answer (stored). */ ack?: [number, number][] }

/** The flood workload's victim: one request at a time, each timed. */
export interface Probed { count: number; errors: number; firstError?: string; hist: [number, number][]; disco: [number, number][]; publish: [number, number][] }
/** The flooder: how its requests were answered. */
export interface Flooded { sent: number; answered: number; seconds: number; refused: Record<string, number> }
