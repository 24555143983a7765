# Usage: see scripts/taxii2client-check.mjs. Not part of npm test: the library is not on npm and PyPI is
# unreachable from CI, so this is run by hand (Debian python3-requests, python3-six, python3-tz).
# Drives the grid's TAXII door with the OASIS taxii2-client (v21), as a TIP would.
import json, sys, uuid
import os
sys.path.insert(0, os.environ['TAXII2CLIENT_DIR'])  # a checkout of github.com/oasis-open/cti-taxii-client
from taxii2client.v21 import Server, ApiRoot, Collection, as_pages
base, ca, cert, key, token = sys.argv[1:6]
results = []
def check(name, cond, detail=''):
    results.append((name, bool(cond)))
    print(('PASS ' if cond else 'FAIL ') + name + (' ' + str(detail) if detail else ''))
server = Server(base + '/taxii2/', verify=ca, cert=(cert, key))
check('discovery title', server.title is not None, server.title)
check('api_roots', len(server.api_roots) == 1, [a.url for a in server.api_roots])
root = server.default
check('api root versions', root.versions == ['application/taxii+json;version=2.1'], root.versions)
check('max_content_length', root.max_content_length > 0, root.max_content_length)
cols = {c.alias: c for c in root.collections}
check('collections', 'threat-intel/indicators' in cols, sorted(cols))
col = cols['threat-intel/indicators']
check('collection can_write', col.can_write is True and col.can_read is True)
ids = []
objs = []
for i in range(25):
    o = {'type': 'indicator', 'spec_version': '2.1', 'id': 'indicator--' + str(uuid.uuid4()), 'created': '2026-01-01T00:00:00.000Z', 'modified': '2026-01-01T00:00:00.000Z',
         'name': 'client %d' % i, 'pattern': "[ipv4-addr:value = '10.9.0.%d']" % i, 'pattern_type': 'stix', 'valid_from': '2026-01-01T00:00:00Z'}
    objs.append(o); ids.append(o['id'])
status = col.add_objects(json.dumps({'objects': objs}), wait_for_completion=True)
check('add_objects status complete', status.status == 'complete' and status.success_count == 25, (status.status, status.success_count, status.failure_count))
st2 = root.get_status(status.id)
check('get_status', st2.id == status.id and st2.success_count == 25)
env = col.get_objects()
check('get_objects', len(env['objects']) >= 25, len(env['objects']))
seen = []
for page in as_pages(col.get_objects, per_request=7):
    seen.extend(o['id'] for o in page.get('objects', []))
check('as_pages objects per_request=7 (next cursor)', sorted(set(ids)) == sorted(set(seen) & set(ids)) and len(seen) == len(set(seen)), len(seen))
mseen = []
for page in as_pages(col.get_manifest, per_request=10):
    mseen.extend(o['id'] for o in page.get('objects', []))
check('as_pages manifest', set(ids) <= set(mseen) and len(mseen) == len(set(mseen)), len(mseen))
one = col.get_object(ids[3])
check('get_object', [o['id'] for o in one['objects']] == [ids[3]])
vs = col.object_versions(ids[3])
check('object_versions', vs['versions'] == ['2026-01-01T00:00:00.000Z'], vs)
flt = col.get_objects(type='indicator', id=ids[5])
check('get_objects filter kwargs (match[type], match[id])', [o['id'] for o in flt['objects']] == [ids[5]])
aa = col.get_objects(added_after='2000-01-01T00:00:00Z')
check('added_after', len(aa['objects']) >= 25)
try:
    col.get_object('indicator--00000000-0000-4000-8000-000000000000')
    check('404 raises', False)
except Exception as e:
    check('404 raises an HTTP error', '404' in str(e), type(e).__name__)
b = Server(base + '/taxii2/', verify=ca, user='soc1@grid.test', password=token)
check('HTTP Basic token (soc1)', [c.alias for c in b.default.collections if c.alias == 'threat-intel/indicators'] == ['threat-intel/indicators'])
bcol = [c for c in b.default.collections if c.alias == 'threat-intel/indicators'][0]
check('Basic reads what mTLS posted', set(ids) <= {o['id'] for o in bcol.get_objects()['objects']})
print('SUMMARY %d/%d passed' % (sum(1 for _, ok in results if ok), len(results)))
sys.exit(0 if all(ok for _, ok in results) else 1)
