// `grid-node csr --jid J --out-key K --out-csr C`: a key that never leaves the node (written
// 0600, never over an existing file) and the CSR to hand to the operator's CA
// (`grid-controller certs sign`).
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { makeKeyAndCsr, type CsrKeyType } from '../csr.js';
import { info } from './output.js';

export interface CsrOpts {
  jid: string;
  outKey: string;
  outCsr: string;
  keyType?: string;
  o?: string;
  ou?: string;
}

/** Creates `path` with `mode`, refusing to replace anything already there. */
function writeNew(path: string, text: string, mode: number): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', mode);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'EEXIST' ? `${path} exists: move it away first (a key is never overwritten)` : `cannot create ${path}: ${code ?? (e as Error).message}`);
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

export async function csrCmd(o: CsrOpts): Promise<void> {
  const jid = o.jid.trim().toLowerCase();
  if (!/^[^\s@/]+@[^\s@/]+$/.test(jid)) throw new Error(`--jid ${JSON.stringify(o.jid)} is not a bare JID like soc1@grid.example`);
  const keyType = (o.keyType ?? 'rsa') as CsrKeyType;
  if (keyType !== 'rsa' && keyType !== 'ec') throw new Error('--key-type must be rsa (2048 bits) or ec (P-256)');
  const { keyPem, csrPem } = makeKeyAndCsr({ jid, ...(o.o ? { O: o.o } : {}), ...(o.ou ? { OU: o.ou } : {}) }, keyType);
  for (const p of [o.outKey, o.outCsr]) if (existsSync(p)) throw new Error(`${p} exists: move it away first (a key is never overwritten)`);
  writeNew(o.outKey, keyPem, 0o600);
  writeNew(o.outCsr, csrPem, 0o644);
  info(`key ${o.outKey} (0600, keep it on this node); CSR ${o.outCsr}: send it to your CA operator (grid-controller certs sign)`);
}
