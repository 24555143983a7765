// Per-account tokens for HTTP Basic on the TAXII door (PROTOCOL §13). A token is 32 random
// bytes (base64url); only its SHA-256 is stored. With that much entropy a slow hash adds
// nothing (there is no dictionary to try), and a fast one keeps every request cheap.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface StoredToken {
  /** SHA-256 of the token's UTF-8, hex. */
  sha256: string;
  createdAt: string;
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented token with the stored hash. */
export function tokenMatches(stored: StoredToken | undefined, presented: string): boolean {
  if (!stored) return false;
  const a = Buffer.from(hashToken(presented), 'hex');
  const b = Buffer.from(stored.sha256, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
