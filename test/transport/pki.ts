// A throwaway PKI for the TLS tests, made with the openssl command line (node:crypto cannot
// issue X.509 certificates): a CA, two server certificates for 127.0.0.1 and localhost (the
// second to test reloading), a client certificate CN=device-42, and a client certificate
// from a CA the broker does not trust. EC P-256 keys keep it fast.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from '../helpers/tools.js';

export const openssl = findExecutable('openssl', 'apt-get install openssl');

export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

export interface Pki {
  readonly dir: string;
  /** The CA file (PEM). */
  readonly ca: string;
  readonly caPem: Buffer;
  /** CN=localhost, SAN IP:127.0.0.1, DNS:localhost. */
  readonly server: KeyPair;
  /** CN=starling-reloaded, same SANs: what a reload installs. */
  readonly server2: KeyPair;
  /** O=Starling Tests, CN=device-42, SAN DNS:device-42.example, email:ops@example.com. */
  readonly client: KeyPair;
  /** CN=intruder, signed by another CA. */
  readonly rogue: KeyPair;
  pem(file: string): Buffer;
  remove(): void;
}

function sh(args: string[], cwd: string): void {
  const r = spawnSync(openssl.path!, args, { cwd, encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

function key(dir: string, name: string): void {
  sh(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], dir);
}

function ca(dir: string, name: string, cn: string): void {
  key(dir, name);
  sh(['req', '-x509', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-days', '2', '-out', `${name}.crt`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
}

let serial = 1;
function leaf(dir: string, name: string, issuer: string, subject: string, ext: string): KeyPair {
  key(dir, name);
  sh(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], dir);
  writeFileSync(join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\n${ext}\n`);
  sh(['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.crt`, '-CAkey', `${issuer}.key`, '-set_serial', String(++serial),
    '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.crt`], dir);
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

/** Makes the PKI in a fresh temporary directory (openssl must be there: check `openssl`). */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'starling-pki-'));
  ca(dir, 'ca', 'Starling Test CA');
  ca(dir, 'other-ca', 'Someone Else CA');
  const serverExt = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth';
  const clientExt = 'extendedKeyUsage=clientAuth';
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    caPem: readFileSync(join(dir, 'ca.crt')),
    server: leaf(dir, 'server', 'ca', '/CN=localhost', serverExt),
    server2: leaf(dir, 'server2', 'ca', '/CN=starling-reloaded', serverExt),
    client: leaf(dir, 'client', 'ca', '/O=Starling Tests/CN=device-42', `${clientExt}\nsubjectAltName=DNS:device-42.example,email:ops@example.com`),
    rogue: leaf(dir, 'rogue', 'other-ca', '/CN=intruder', clientExt),
    pem: (file: string) => readFileSync(file),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
