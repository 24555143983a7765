// Auto-approval at registration (PROTOCOL §2 step 6, §12): the first matching entry approves.
import type { AutoApproveEntry, AutoApproveRequest, Policy } from './types.js';

function attrsMatch(want: Record<string, string> | undefined, have: Record<string, string>): boolean {
  if (!want) return true;
  for (const k in want) if (have[k] !== want[k]) return false;
  return true;
}

/** Why one entry does not match, or null when it does (also used to explain a pending account). */
export function autoApproveMismatch(entry: AutoApproveEntry, req: AutoApproveRequest): string | null {
  if (!attrsMatch(entry.issuer, req.issuer)) return 'issuer differs';
  if (!attrsMatch(entry.subject, req.subject)) return 'subject differs';
  if (entry.deviceTypes) {
    if (req.deviceType === undefined) return `no device type declared (entry wants one of ${entry.deviceTypes.join(', ')})`;
    if (!entry.deviceTypes.includes(req.deviceType)) return `device type '${req.deviceType}' not in ${entry.deviceTypes.join(', ')}`;
  }
  if (entry.requestedGroups) {
    const allowed = entry.requestedGroups;
    const outside = req.requestedGroups.filter((g) => !allowed.includes(g));
    if (outside.length > 0) return `requested groups outside ${allowed.join(', ')}: ${outside.join(', ')}`;
  }
  return null;
}

/** The first entry that approves this registration, or null: the account waits for an administrator. */
export function matchAutoApprove(policy: Policy, req: AutoApproveRequest): AutoApproveEntry | null {
  for (const entry of policy.autoApprove) {
    if (autoApproveMismatch(entry, req) === null) return entry;
  }
  return null;
}
