// The single authorization path of the topic service (PROTOCOL §4). Every operation asks
// here; the answers leak nothing about topics a node may not discover.
import { decide } from '../policy/decide.js';
import type { Operation, Policy, PolicySubject, Decision } from '../policy/types.js';
import { audit, type Logger } from '../log.js';
import { fail, type Fail } from '../result.js';
import type { Topic } from './types.js';

export interface Access {
  topic: Topic;
  /** The node addressed: the topic itself or one of its subtopics. */
  node: string;
  subtopic: boolean;
  decision: Decision;
}

export class Authorizer {
  constructor(
    private readonly policy: () => Policy,
    private readonly log: Logger,
  ) {}

  decide(subject: PolicySubject, op: Operation, topic: string): Decision {
    const d = decide(this.policy(), subject, op, topic);
    // Permits at debug, denials at info (issue: audit every decision without drowning the log).
    audit(this.log, 'authorization', { jid: subject.jid, operation: op, topic, effect: d.effect, rule: d.ruleId }, d.effect === 'permit' ? 'debug' : 'info');
    return d;
  }

  /**
   * Resolves `node` and checks `op` on it. A node the subject may not discover, or that does
   * not exist, is item-not-found; then subscribe/query → closed-node, the rest → forbidden.
   */
  check(subject: PolicySubject, op: Operation, node: string, lookup: (name: string) => Topic | undefined, subtopicExists: (node: string) => boolean): Access | Fail {
    const tilde = node.indexOf('~');
    const name = tilde === -1 ? node : node.slice(0, tilde);
    const topic = lookup(name);
    if (!topic) return fail('item-not-found');
    const see = this.decide(subject, 'discover', name);
    if (see.effect !== 'permit') return fail('item-not-found');
    if (tilde !== -1 && !subtopicExists(node)) return fail('item-not-found');
    if (op === 'discover') return { topic, node, subtopic: tilde !== -1, decision: see };
    const d = this.decide(subject, op, name);
    if (d.effect !== 'permit') {
      return op === 'subscribe' || op === 'query' ? fail('closed-node', `policy does not allow ${op} on ${name}`) : fail('forbidden', `policy does not allow ${op} on ${name}`);
    }
    return { topic, node, subtopic: tilde !== -1, decision: d };
  }
}
