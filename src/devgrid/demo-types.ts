// Vocabulary of the demo grid (`bash scripts/demo.sh`): what it is asked to do and the
// structured summary it returns (the test asserts on the summary, people read the screen).
import type { ServerKind } from './types.js';
import type { Filter, Tlp } from '../agent/index.js';

export interface DemoOptions {
  /** The XMPP server (default $GRID_TEST_SERVER, else Prosody). */
  server?: ServerKind;
  /** Work dir for certificates, logs and data; default <repo>/var/demo. Data is fresh each run. */
  workDir?: string;
  /** ATT&CK for ICS bundle to replay. */
  dataFile?: string;
  /** Replay at most this many bundles (default: all of them). */
  bundles?: number;
  /** Objects per bundle (default 30). */
  bundleSize?: number;
  /** Pause between bundles so a person can follow, ms (default 120). */
  delayMs?: number;
  /** Wait for Ctrl-C (or the signal) after the replay instead of ending. */
  stay?: boolean;
  /** Only the summary table (and errors) on screen. */
  quiet?: boolean;
  /** Colours; default: only when stdout is a TTY. */
  color?: boolean;
  /** Where the screen lines go; default process.stdout. */
  out?: NodeJS.WritableStream;
  /** Aborting stops the replay and everything the demo started. */
  signal?: AbortSignal;
}

/** One node of the demo and how it registers. */
export interface DemoNode {
  name: string;
  /** Certificate subject OU (the soc auto-approval entry matches OU soc). */
  ou: string;
  role: 'provider' | 'consumer';
  deviceType?: string;
  groups?: string[];
  /** Subscription filter (consumers). */
  filter?: Filter;
  /** Approved by the administrator through `grid-controller accounts approve`. */
  adminApproves?: string[];
  /** One line on screen saying why this node is here. */
  story: string;
}

/** Counts of STIX objects by type and by TLP (`unmarked` when no TLP marking). */
export interface ObjectCounts {
  items: number;
  objects: number;
  byType: Record<string, number>;
  byTlp: Partial<Record<Tlp | 'unmarked', number>>;
}

export interface ConsumerSummary extends ObjectCounts {
  name: string;
  jid: string;
  filter?: Filter;
  /** The TLP cap of the policy rule that lets it subscribe, as the controller applies it. */
  cap?: string;
  subtopic?: string;
  /** A filtered query over the stored items gave the same items and object count. */
  matchesQuery: boolean;
  /** Item ids the query listed that never arrived live (empty when all arrived). */
  missing: string[];
}

export interface RegistrationSummary {
  name: string;
  jid: string;
  status: string;
  groups: string[];
  /** `auto:<entry id>`, `cli`, `admin:<jid>` … as the account registry recorded it. */
  decidedBy: string;
}

export interface DemoSummary {
  registrations: RegistrationSummary[];
  topic: string;
  /** Subtopics the publisher was told about (node ids). */
  subtopicsAnnounced: string[];
  published: ObjectCounts;
  /** Objects left out of the replay (too big for one item), by id. */
  skipped: string[];
  consumers: ConsumerSummary[];
  replayMs: number;
  totalMs: number;
  workDir: string;
  /** The XMPP server's OS pid (gone once the demo returned). */
  serverPid: number;
  aborted: boolean;
  /** Step 5 (PROTOCOL §13): what the TAXII clients read and what the POST reached. */
  taxii?: { url: string; collection: string; soc1Objects: number; partner1Objects: number; posted: string; notified: string[] };
}
