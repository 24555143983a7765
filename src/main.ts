// Wiring only: config → stores → services → xmpp → start.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config/types.js';
import { requireSecret } from './config/load.js';
import type { Logger } from './log.js';
import { openControlStore, openItemStore, acquireLock } from './store/index.js';
import { PolicyWatcher, PolicyLoadError, formatPolicyError, matchAutoApprove } from './policy/index.js';
import type { Policy, PolicySubject } from './policy/types.js';
import { loadTrust } from './identity/trust.js';
import { verifyRegistration } from './identity/verify.js';
import { AccountService, EMPTY_ACCOUNTS } from './accounts/service.js';
import type { AccountPolicy } from './accounts/types.js';
import { TopicService, EMPTY_TOPICS } from './topics/service.js';
import { ItemService } from './topics/items.js';
import { ComponentLink } from './xmpp/component.js';
import { Router } from './xmpp/router.js';
import { Disco, installPing, limitsForm } from './xmpp/handlers/disco.js';
import { installRegister } from './xmpp/handlers/register.js';
import { NS } from './xmpp/ns.js';
import { Outbox } from './xmpp/outbox.js';
import { Multicast } from './xmpp/multicast.js';
import { xml } from '@xmpp/component';
import { setAnswerBudget } from './xmpp/xmlnode.js';
import { wireEvents } from './wiring.js';
import { installProtocol, startAdmin } from './wiring-protocol.js';

export interface RunningController {
  readonly link: ComponentLink;
  readonly disco: Disco;
  readonly accounts: AccountService;
  readonly topics: TopicService;
  readonly items: ItemService;
  readonly policy: PolicyWatcher;
  readonly outbox: Outbox;
  readonly multicast: Multicast;
  stop(): Promise<void>;
}

export class StartError extends Error {}

export async function startController(cfg: Config, log: Logger): Promise<RunningController> {
  requireSecret(cfg);
  mkdirSync(cfg.data, { recursive: true, mode: 0o700 });
  const lock = acquireLock(cfg.data);
  if ('heldBy' in lock) throw new StartError(`another controller (pid ${lock.heldBy}) runs on data dir ${cfg.data}`);
  const cleanups: (() => Promise<void> | void)[] = [() => lock.release()];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        log.warn({ err }, 'cleanup step failed');
      }
    }
  };
  try {
    return await assemble(cfg, log, cleanups, cleanup);
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function assemble(cfg: Config, log: Logger, cleanups: (() => Promise<void> | void)[], cleanup: () => Promise<void>): Promise<RunningController> {
  const policy = new PolicyWatcher(cfg.policies, log.child({ mod: 'policy' }));
  try {
    policy.start();
  } catch (err) {
    if (err instanceof PolicyLoadError) throw new StartError(`policy files in ${cfg.policies} are invalid: ${err.errors.map(formatPolicyError).join('; ')}`);
    throw err;
  }
  cleanups.push(() => policy.stop());
  let trust: ReturnType<typeof loadTrust>;
  try {
    trust = loadTrust(cfg.trust);
  } catch (err) {
    throw new StartError(`trust configuration: ${(err as Error).message}`);
  }
  for (const w of trust.warnings) log.warn({ trust: w }, 'trust warning');

  const accountStore = await openControlStore(join(cfg.data, 'accounts.json'), EMPTY_ACCOUNTS, { log });
  cleanups.push(() => accountStore.close());
  const topicStore = await openControlStore(join(cfg.data, 'topics.json'), EMPTY_TOPICS, { log });
  cleanups.push(() => topicStore.close());
  const itemStore = await openItemStore(join(cfg.data, 'items'), { log });
  cleanups.push(() => itemStore.close());

  const accounts = new AccountService({
    store: accountStore, policy: accountPolicy(() => policy.current()), trust: () => trust, verify: verifyRegistration, log: log.child({ mod: 'accounts' }),
  });
  const subjectOf = (bare: string): PolicySubject | null => {
    if (accounts.gate(bare)) return null;
    const a = accounts.get(bare)!;
    return { jid: a.jid, groups: a.groups, ...(a.deviceType ? { deviceType: a.deviceType } : {}), cert: { subject: a.cert.subject, issuer: a.cert.issuer } };
  };
  const topics = new TopicService({ store: topicStore, policy: () => policy.current(), subject: subjectOf, log: log.child({ mod: 'topics' }) });
  await topics.applyDeclaredTopics(policy.current().topics);
  const items = new ItemService({ topics, items: itemStore, subject: subjectOf, payloadLimit: () => cfg.limits.payload_bytes, log: log.child({ mod: 'items' }) });

  setAnswerBudget(cfg.limits.stanza_bytes);
  const router = new Router(log.child({ mod: 'router' }));
  router.setGate((bare) => accounts.gate(bare));
  const disco = new Disco();
  disco.install(router, (bare) => accounts.gate(bare));
  installPing(router, disco);
  disco.addInfoForm(() => limitsForm(cfg.limits));
  installRegister(router, disco, accounts);
  disco.addFeature(NS.GRID);

  const link = new ComponentLink(
    { service: cfg.xmpp.service, domain: cfg.xmpp.domain, secret: cfg.xmpp.secret, reconnectMaxMs: cfg.xmpp.reconnect_max_ms, log: log.child({ mod: 'link' }) },
    router,
  );
  const outbox = new Outbox(link, log.child({ mod: 'outbox' }));
  const multicast = new Multicast({
    mode: cfg.xmpp.multicast, stanzaBytes: cfg.limits.stanza_bytes, log: log.child({ mod: 'multicast' }),
    discoFeatures: async (host) => {
      const res = await link.request(xml('iq', { type: 'get', to: host }, xml('query', { xmlns: NS.DISCO_INFO })));
      return (res.getChild('query')?.getChildren('feature') ?? []).map((f) => String(f.attrs.var ?? ''));
    },
  });
  // The server may have been reconfigured while the link was down: ask it again.
  link.on('online', () => multicast.reset());
  // PROTOCOL §5: a bounced notification (certificate logins have no offline store) never ends
  // the subscription; it is counted and logged, and the node catches up with after_seq.
  router.onMessage((st, from) => {
    if (st.attrs.type !== 'error') return;
    const resend = multicast.onError(st);
    if (resend) {
      void outbox.send(resend);
      return;
    }
    outbox.bounced++;
    const condition = st.getChild('error')?.getChildElements()[0]?.name;
    log.info({ to: from, id: st.attrs.id, condition, bounced: outbox.bounced }, 'message bounced; subscription kept (the node catches up with after_seq)');
  });
  const protocol = installProtocol({ router, disco, accounts, topics, items, policy, subjectOf, domain: cfg.xmpp.domain, outbox, multicast, itemStore, log });
  wireEvents({ accounts, topics, items, policy, outbox, notifier: protocol.notifier, domain: cfg.xmpp.domain, log });
  await link.start();
  cleanups.push(() => link.stop());
  cleanups.push(() => outbox.drain());
  const admin = await startAdmin({ cfg, accounts, topics, policy, log, outbox, multicast });
  cleanups.push(() => admin.close());

  let stopped = false;
  return {
    link, disco, accounts, topics, items, policy, outbox, multicast,
    async stop() {
      if (stopped) return;
      stopped = true;
      await cleanup();
      log.info('controller stopped');
    },
  };
}

function accountPolicy(current: () => Policy): AccountPolicy {
  return {
    autoApprove: (req) => {
      const e = matchAutoApprove(current(), req);
      return e ? { id: e.id, groups: e.groups } : null;
    },
    declaredGroups: () => Object.keys(current().groups),
    admins: () => current().admins,
  };
}
