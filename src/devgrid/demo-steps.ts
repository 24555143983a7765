// Steps 2 and 3 of the demo: nodes register and are approved (by a policy entry or by the
// administrator), the provider registers as publisher, consumers subscribe (and the provider
// is told of the subtopic a filter creates).
import { subjectOfAccount } from '../accounts/subject.js';
import type { GridClient, GridEvent, SubtopicEvent } from '../agent/index.js';
import { decide } from '../policy/index.js';
import type { DevGrid } from './devgrid.js';
import type { DemoNode, DemoSummary } from './demo-types.js';
import { abortable, adminApprove, connectClient, DEMO_NODES, DEMO_TOPIC, nextEvent, Receiver } from './demo-nodes.js';
import { filterText, type Screen } from './demo-screen.js';

export interface Registered {
  provider: GridClient;
  consumers: { node: DemoNode; client: GridClient }[];
}

function how(decidedBy: string): string {
  if (decidedBy.startsWith('auto:')) return `automatically by policy entry "${decidedBy.slice(5)}"`;
  if ((decidedBy === 'cli' || decidedBy.startsWith('cli:'))) return 'by the administrator (grid-controller accounts approve)';
  if (decidedBy.startsWith('admin:')) return `by the administrator ${decidedBy.slice(6)} (ad-hoc command)`;
  return `by ${decidedBy}`;
}

export async function registerAll(grid: DevGrid, screen: Screen, clients: GridClient[], summary: DemoSummary, signal?: AbortSignal): Promise<Registered> {
  screen.section('1. Nodes register: client certificate (TLS + SASL EXTERNAL), then a signed challenge (XEP-0077)');
  const out: Registered = { provider: undefined as unknown as GridClient, consumers: [] };
  for (const node of DEMO_NODES) {
    const client = await abortable(connectClient(grid, node.name), signal);
    clients.push(client);
    const jid = client.bareJid;
    const asked = node.groups?.length ? `asks for ${node.groups.join(',')}` : 'asks for no group';
    const label = screen.paint(node.name.padEnd(9), 'bold');
    screen.line(`  ${label}${screen.paint(`OU=${node.ou}, device ${node.deviceType ?? '-'}, ${asked} — ${node.story}`, 'dim')}`);
    let state = await abortable(client.register({ ...(node.groups ? { groups: node.groups } : {}),
      ...(node.deviceType ? { deviceType: node.deviceType } : {}), description: node.story }), signal);
    if (state.status === 'pending' && node.adminApproves) {
      screen.line(`  ${' '.repeat(9)}${screen.paint('pending', 'yellow')}: no auto-approval entry matches; the administrator runs`);
      const approved = client.waitForApproval(15_000);
      const r = await adminApprove(grid, jid, node.adminApproves, signal);
      screen.line(`  ${' '.repeat(9)}${screen.paint(`$ ${r.command}`, 'cyan')}  → ${r.output}`);
      state = await abortable(approved, signal);
      screen.line(`  ${' '.repeat(9)}the node is told at once: <account status='approved'> groups ${state.groups.join(',')}`);
    }
    const account = grid.controller!.accounts.get(jid);
    const decidedBy = account?.decidedBy ?? '?';
    const status = state.status ?? 'none';
    summary.registrations.push({ name: node.name, jid, status, groups: state.groups, decidedBy });
    const verdict = status === 'approved' ? screen.paint('approved', 'green') : screen.paint(status, 'red');
    screen.line(`  ${' '.repeat(9)}→ ${verdict} ${how(decidedBy)}; groups ${state.groups.join(',') || 'none'}`);
    if (status !== 'approved') throw new Error(`${jid} was not approved (${status}): check ${grid.policiesDir}`);
    if (node.role === 'provider') out.provider = client;
    else out.consumers.push({ node, client });
  }
  return out;
}

const isSubtopic = (e: GridEvent): e is SubtopicEvent => e.kind === 'subtopic' && e.action === 'created';

export async function subscribeAll(grid: DevGrid, screen: Screen, nodes: Registered, summary: DemoSummary, signal?: AbortSignal): Promise<Receiver[]> {
  const topic = DEMO_TOPIC;
  screen.section(`2. The provider registers as publisher of ${topic}; consumers subscribe`);
  const existing = await abortable(nodes.provider.registerPublisher(topic), signal);
  screen.line(`  ${screen.paint('sandbox1', 'bold')} is a publisher (policy rule providers-publish); current subtopics: ${existing.length}`);
  const receivers: Receiver[] = [];
  for (const { node, client } of nodes.consumers) {
    const told = node.filter ? nextEvent(nodes.provider, isSubtopic, `the subtopic message to sandbox1 for ${node.name}`) : undefined;
    told?.catch(() => undefined); // awaited below; never an unhandled rejection if subscribe fails first
    const receiver = new Receiver(node, client, topic);
    receivers.push(receiver);
    const sub = await abortable(client.subscribe(topic, node.filter), signal);
    const d = decide(grid.controller!.policy.current(), subjectOf(grid, client.bareJid), 'subscribe', topic);
    if (d.maxTlp) receiver.cap = `TLP:${d.maxTlp.toUpperCase()}${d.unmarked === 'deny' ? ', unmarked cut' : ''}`;
    const cap = d.maxTlp ? `; rule caps it at TLP:${d.maxTlp.toUpperCase()}${d.unmarked === 'deny' ? ', unmarked objects cut' : ''}` : '';
    screen.line(`  ${screen.paint(node.name.padEnd(9), 'bold')}subscribes, filter ${filterText(node.filter)} (permitted by rule ${d.ruleId}${cap})`);
    if (told) {
      const e = await abortable(told, signal);
      summary.subtopicsAnnounced.push(e.node);
      screen.line(`  ${' '.repeat(9)}→ sandbox1 is told: subtopic ${screen.paint(e.node, 'magenta')} created, filter ${filterText(e.filter)}`);
      if (sub.subtopic !== e.node) screen.warn(`${node.name}'s subscription names subtopic ${sub.subtopic}, the publisher was told ${e.node}`);
    }
  }
  const subtopics = grid.controller!.topics.subtopics(topic);
  screen.line(screen.paint(`  controller state: ${topic} has ${grid.controller!.topics.subscriptionsOf(topic).length} subscriptions, ` +
    `${subtopics.length} subtopic(s): ${subtopics.map((s) => s.node).join(', ') || 'none'}`, 'dim'));
  return receivers;
}

function subjectOf(grid: DevGrid, jid: string) {
  return subjectOfAccount(grid.controller!.accounts.get(jid)!);
}
