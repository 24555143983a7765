// Collection ids (PROTOCOL §13): the first 16 bytes of SHA-256 over
// `<controller JID> + "\n" + <topic name>`, version nibble 4, variant 10, as a UUID — stable
// across restarts and across the instances of a cluster.
import { createHash } from 'node:crypto';

export function collectionId(controllerJid: string, topic: string): string {
  const b = createHash('sha256').update(`${controllerJid}\n${topic}`, 'utf8').digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
