// One registry: what goes wrong → HTTP status and a TAXII 2.1 error message (PROTOCOL §13:
// `title`, `description`, `http_status`, always application/taxii+json;version=2.1).
import type { FastifyReply } from 'fastify';
import type { ErrorCode, Fail } from '../result.js';
import { WWW_AUTHENTICATE } from '../https/index.js';
import { TAXII_MEDIA } from './media.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 406: 'Not Acceptable',
  413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 429: 'Too Many Requests',
  500: 'Internal Server Error', 503: 'Service Unavailable',
};

/** Core error codes → HTTP status. Topics a node may not see are 404 (never 403: nothing leaks). */
const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  'registration-required': 403, 'account-pending': 403, 'account-revoked': 403, 'account-suspended': 403,
  'rate-limited': 429, 'queue-full': 503,
  'item-not-found': 404, 'closed-node': 403, forbidden: 403, 'not-allowed': 403,
  'invalid-payload': 422, 'payload-too-big': 413, 'invalid-options': 400, 'bad-request': 400, 'not-acceptable': 422,
  'service-unavailable': 503,
};

export interface TaxiiError {
  title: string;
  description: string;
  http_status: string;
}

export function taxiiError(status: number, description: string): TaxiiError {
  return { title: TITLES[status] ?? 'Error', description, http_status: String(status) };
}

/**
 * A Buffer, not a string: fastify would rewrite a string's Content-Type (adding charset and
 * quoting the version), and TAXII clients compare it as written.
 */
export function sendError(reply: FastifyReply, status: number, description: string): FastifyReply {
  if (status === 401) void reply.header('www-authenticate', WWW_AUTHENTICATE);
  return reply.code(status).header('content-type', TAXII_MEDIA).send(Buffer.from(JSON.stringify(taxiiError(status, description)), 'utf8'));
}

export function sendFail(reply: FastifyReply, f: Fail): FastifyReply {
  const status = STATUS_OF[f.fail] ?? 500;
  return sendError(reply, status, f.text ?? f.fail);
}
