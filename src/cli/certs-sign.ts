// `grid-controller certs sign CSR --ca-cert … --ca-key … --jid J`: a node certificate from
// the operator's CA for a CSR made on the node (`grid-node csr`). Prints the certificate's
// facts on stderr-free stdout lines; the CA key is read, never printed or logged.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CsrError, signCsr } from '../identity/csr.js';

interface SignOpts {
  caCert: string;
  caKey: string;
  jid: string;
  days?: string;
  out?: string;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new CsrError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function runCertsSign(csrPath: string, o: SignOpts): { lines: string[]; certPem: string } {
  const days = o.days === undefined ? 365 : Number(o.days);
  if (!Number.isInteger(days) || days <= 0 || days > 3650) throw new CsrError(`--days must be a whole number of days from 1 to 3650, got ${o.days}`);
  const r = signCsr({ certPem: readText(o.caCert, '--ca-cert'), keyPem: readText(o.caKey, '--ca-key') }, readText(csrPath, 'the CSR'), { jid: o.jid, days });
  const subject = Object.entries(r.subject).map(([k, v]) => `${k}=${v}`).join(', ');
  const lines = [
    `issued    xmppAddr ${o.jid.trim().toLowerCase()}, EKU clientAuth`,
    `subject   ${subject || '(empty)'}`,
    `serial    ${r.serial}`,
    `notAfter  ${r.notAfter}`,
    `SHA-256   ${r.fingerprint}`,
  ];
  return { lines, certPem: r.certPem };
}

export function registerCertsSign(certs: Command): void {
  certs
    .command('sign <csr>')
    .description('issue a node certificate from your CA for a CSR made on the node (grid-node csr): '
      + 'id-on-xmppAddr SAN = --jid, clientAuth EKU; the CSR\'s signature is checked and weak keys refused')
    .requiredOption('--ca-cert <file>', 'the CA certificate (PEM); must be a CA (basicConstraints cA)')
    .requiredOption('--ca-key <file>', 'the CA private key (PEM, unencrypted; keep it off the controller host if you can)')
    .requiredOption('--jid <jid>', 'the node\'s bare JID, e.g. soc1@grid.example')
    .option('--days <n>', 'validity in days (default 365; never past the CA\'s own expiry)')
    .option('--out <file>', 'write the certificate here (default: print it on stdout after the summary)')
    .addHelpText('after', '\nRefused: CSRs whose signature does not verify, RSA keys under 2048 bits, EC curves other than\n'
      + 'P-256/384/521, SHA-1 signatures. Extensions the CSR asks for are ignored; the subject is kept.')
    .action((csr: string, opts: SignOpts) => {
      try {
        const { lines, certPem } = runCertsSign(csr, opts);
        if (opts.out) {
          writeFileSync(opts.out, certPem, { mode: 0o644 });
          lines.push(`written   ${opts.out}`);
          process.stdout.write(`${lines.join('\n')}\n`);
        } else process.stdout.write(`${lines.join('\n')}\n${certPem}`);
      } catch (e) {
        process.stderr.write(`grid-controller certs sign: ${(e as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
