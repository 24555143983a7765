// The vocabulary of the policy engine (PROTOCOL §4, §12). Pure data: no XMPP, no I/O.
import type { LimitsPolicy } from '../limits/types.js';

export const OPERATIONS = ['discover', 'create', 'publish', 'subscribe', 'query', 'bulk'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** TLP levels in release order (PROTOCOL §5): one definition, filters/tlp.ts. */
export { TLP_ORDER } from '../filters/tlp.js';
export type { Tlp } from '../filters/types.js';
import type { Tlp } from '../filters/types.js';

export type Effect = 'permit' | 'deny';
export type Unmarked = 'allow' | 'deny';

/** Content types a topic may carry (PROTOCOL §5's table): one table, payloads/content-types.ts. */
export { CONTENT_TYPES } from '../payloads/content-types.js';
export type { ContentType } from '../payloads/content-types.js';
import type { ContentType } from '../payloads/content-types.js';

/** Who is asking: the account as the controller knows it. */
export interface PolicySubject {
  /** Bare JID (a resource, if given, is ignored). */
  jid: string;
  groups: string[];
  deviceType?: string;
  cert?: { subject: Record<string, string>; issuer: Record<string, string> };
}

export interface Decision {
  effect: Effect;
  /** The deciding rule; null when no rule matched (default deny) or the request was malformed. */
  ruleId: string | null;
  /** File name (no folder) of the deciding rule. */
  file?: string;
  /** Conditions of the deciding rule that matched, e.g. "groups: soc", "topics: threat-intel/**". */
  matched: string[];
  /** Release cap of a permitting rule (PROTOCOL §5 "marking-based release"). */
  maxTlp?: Tlp;
  /** What to do with objects without a TLP marking; absent means allow. */
  unmarked?: Unmarked;
}

export interface TraceEntry {
  ruleId: string;
  file: string;
  result: 'matched' | 'skipped';
  /** For a skipped rule, every condition that failed, e.g. "operations: publish not in [discover, subscribe]". */
  why: string;
}

export interface Explanation {
  decision: Decision;
  trace: TraceEntry[];
  /** Set when the request itself was refused before any rule was looked at (bad topic or operation). */
  note?: string;
}

export interface TopicDecl {
  name: string;
  title?: string;
  description?: string;
  contentType: ContentType;
  filtering: 'controller' | 'publisher';
  /** Topic-declared filter name → dotted property path of the STIX object (e.g. location → x_location). */
  filterFields: Record<string, string>;
  maxItems: number;
  /** XEP-0060 pubsub#item_expire: seconds after which an item is deleted; absent or 0 = never. */
  itemExpire?: number;
  /** Root namespace of payloads; required for (and only for) application/xml. */
  payloadNamespace?: string;
  notificationType?: 'normal' | 'headline';
  file: string;
  line?: number;
}

export interface AutoApproveEntry {
  id: string;
  /** Certificate issuer attributes, exact match (every listed attribute must be equal). */
  issuer?: Record<string, string>;
  subject?: Record<string, string>;
  /** The device type the node declared must be one of these. */
  deviceTypes?: string[];
  /** Matches when the node asked for no group outside these (asking for none matches). */
  requestedGroups?: string[];
  /** Groups given on approval. */
  groups: string[];
  description?: string;
  file: string;
  line?: number;
}

export interface AutoApproveRequest {
  issuer: Record<string, string>;
  subject: Record<string, string>;
  deviceType?: string;
  requestedGroups: string[];
}

/** A glob compiled once at load. */
export interface Glob {
  source: string;
  re: RegExp;
  /** First topic segment when it is literal (used by the rule index); null for wildcards or client globs. */
  literalHead: string | null;
}

export interface CompiledRule {
  id: string;
  effect: Effect;
  file: string;
  line?: number;
  description?: string;
  /** null: the key was left out, which matches anything. */
  operations: readonly Operation[] | null;
  groups: readonly string[] | null;
  topics: readonly Glob[] | null;
  clients: readonly Glob[] | null;
  deviceTypes: readonly string[] | null;
  subject: Readonly<Record<string, string>> | null;
  issuer: Readonly<Record<string, string>> | null;
  maxTlp?: Tlp;
  unmarked?: Unmarked;
}

/** A loaded policy is deeply frozen: decide() keeps its rule index per Policy object, so never mutate one. */
export interface Policy {
  /** Administrators' bare JIDs, lower-cased. */
  admins: string[];
  /** Declared groups: name → description. */
  groups: Record<string, string>;
  autoApprove: AutoApproveEntry[];
  topics: TopicDecl[];
  /** In decision order: file-name order, then order of appearance. */
  rules: CompiledRule[];
  /** Per-account rate limits and the suspension rule (README "Rate limits"). */
  limits: LimitsPolicy;
  /** File names (no folder) read, in order. */
  files: string[];
  loadedAt: string;
}

export interface PolicyError {
  /** Path of the file as found (folder joined with the name), or the folder itself. */
  file: string;
  line?: number;
  message: string;
}

export type LoadResult = { ok: true; policy: Policy } | { ok: false; errors: PolicyError[] };
