// Scrapes a running controller's Prometheus endpoint the way Prometheus does: the text
// exposition format, parsed into `name{labels}` → value.
import assert from 'node:assert/strict';

export async function scrape(metricsUrl: string | null | undefined): Promise<Map<string, number>> {
  assert.ok(metricsUrl, 'the controller runs a metrics endpoint (GRID_METRICS_LISTEN)');
  const res = await fetch(`${metricsUrl}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}
