// A small HTTPS client for tests of the controller's HTTPS server: node:https with a client
// certificate and/or HTTP Basic, the project's CA, answers read whole.
import { request } from 'node:https';
import type { Pem } from '../../src/identity/types.js';

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

export interface ClientOptions {
  base: string;
  ca: string;
  cert?: Pem;
  basic?: { user: string; password: string };
}

export interface Req {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Overrides the client's certificate for this request (null: none). */
  cert?: Pem | null;
  basic?: { user: string; password: string } | null;
}

export function httpsClient(o: ClientOptions) {
  return (path: string, r: Req = {}): Promise<HttpsAnswer> => {
    const url = new URL(path, o.base);
    const cert = r.cert === undefined ? o.cert : r.cert ?? undefined;
    const basic = r.basic === undefined ? o.basic : r.basic ?? undefined;
    const headers: Record<string, string> = { ...(r.headers ?? {}) };
    if (basic) headers.authorization = `Basic ${Buffer.from(`${basic.user}:${basic.password}`).toString('base64')}`;
    if (r.body !== undefined) headers['content-length'] = String(Buffer.byteLength(r.body));
    return new Promise((resolve, reject) => {
      const req = request(url, {
        method: r.method ?? 'GET', headers, ca: o.ca, servername: 'localhost', agent: false,
        ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}),
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      if (r.body !== undefined) req.write(r.body);
      req.end();
    });
  };
}
