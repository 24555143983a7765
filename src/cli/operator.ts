// Who runs an account command, for DECIDED BY and the audit log: the login behind sudo
// ($SUDO_USER) before the account it runs as ($USER, then the OS's idea of it). The admin
// socket only admits the controller's own user, so this names the person, it proves nothing.
import { userInfo } from 'node:os';

const LOGIN = /^[A-Za-z0-9._][A-Za-z0-9._@-]{0,63}$/;

export function operatorName(env: NodeJS.ProcessEnv = process.env): { operator?: string } {
  let name = env.SUDO_USER || env.USER || env.LOGNAME;
  if (!name) {
    try {
      name = userInfo().username;
    } catch {
      name = undefined;
    }
  }
  return name && LOGIN.test(name) ? { operator: name } : {};
}
