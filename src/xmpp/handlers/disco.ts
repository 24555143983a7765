// XEP-0030 on the controller itself (PROTOCOL §3, first bullet). Topic nodes are answered
// by the topic directory handler, which registers itself through `nodeInfo`/`nodeItems`.
import { xml } from '@xmpp/component';
import type { Element } from '@xmpp/xml';
import { fail } from '../../result.js';
import { NS } from '../ns.js';
import { FORM_TYPES } from '../form-types.js';
import type { IqHandler, IqReply, IqRequest, Router } from '../router.js';
import { buildForm } from '../forms.js';

/** XEP-0128 extended info on the controller's disco#info: the limits a node must respect. */

export function limitsForm(limits: { payload_bytes: number }): Element {
  return buildForm('result', FORM_TYPES.limits, [{ var: 'payload_bytes', type: 'text-single', values: [String(limits.payload_bytes)] }]);
}

export interface DiscoProvider {
  /** disco#info of a node (a topic); a Fail when it does not exist or may not be seen. */
  nodeInfo?(req: IqRequest, node: string): IqReply | Promise<IqReply>;
  /** disco#items of the controller (no node) or of a node. */
  items?(req: IqRequest, node: string | undefined): IqReply | Promise<IqReply>;
}

export class Disco {
  private readonly features = new Set<string>([NS.DISCO_INFO, NS.DISCO_ITEMS]);
  private provider: DiscoProvider = {};
  private readonly forms: (() => Element)[] = [];

  /** Advertise a feature: call only where the feature is actually implemented. */
  addFeature(...f: string[]): void {
    for (const x of f) this.features.add(x);
  }

  /** An XEP-0128 form appended to the controller's own disco#info. */
  addInfoForm(form: () => Element): void {
    this.forms.push(form);
  }

  setProvider(p: DiscoProvider): void {
    this.provider = p;
  }

  featureList(): string[] {
    return [...this.features].sort();
  }

  install(router: Router, gate: (bare: string) => ReturnType<Parameters<Router['setGate']>[0]>): void {
    const info: IqHandler = async (req) => {
      const node = req.element.attrs.node;
      if (!node) return this.controllerInfo();
      const denied = gate(req.bare);
      if (denied) return denied;
      return this.provider.nodeInfo ? this.provider.nodeInfo(req, node) : fail('item-not-found');
    };
    const items: IqHandler = async (req) => {
      const node = req.element.attrs.node;
      if (this.provider.items) return this.provider.items(req, node);
      return xml('query', { xmlns: NS.DISCO_ITEMS, ...(node ? { node } : {}) });
    };
    // disco#info on the controller is exempt from the gate (§1); on a node, the gate applies.
    router.iq('get', NS.DISCO_INFO, 'query', info, { exempt: true });
    router.iq('get', NS.DISCO_ITEMS, 'query', items);
  }

  private controllerInfo(): Element {
    return xml(
      'query',
      { xmlns: NS.DISCO_INFO },
      xml('identity', { category: 'pubsub', type: 'service', name: 'XMPP-Grid controller' }),
      xml('identity', { category: 'component', type: 'generic', name: 'XMPP-Grid controller' }),
      ...this.featureList().map((v) => xml('feature', { var: v })),
      ...this.forms.map((f) => f()),
    );
  }
}

/** XEP-0199: exempt from the gate. */
export function installPing(router: Router, disco: Disco): void {
  router.iq('get', NS.PING, 'ping', () => true, { exempt: true });
  disco.addFeature(NS.PING);
}
