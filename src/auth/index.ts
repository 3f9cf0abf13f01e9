// Built-in authentication and authorization from files, as hooks like any user's: a
// Mosquitto-format password file (plus Starling's schemes and SCRAM-SHA-256 enhanced
// authentication) and a Mosquitto-format ACL file. See README.md in this folder.
//
//   const auth = fileAuth({ passwordFile: 'passwd', aclFile: 'acl' });
//   const broker = createBroker({ hooks: [auth] });
//   process.on('SIGHUP', () => void auth.reload());

import type { Subscription } from '../codec/types.js';
import type { AuthenticateRequest, ClientInfo, Hooks, Message, Verdict } from '../broker/types.js';
import { parseSharedFilter } from '../topics/index.js';
import { loadAclFile, loadAclFileSync, type AclTable } from './acl-file.js';
import { FailureBackoff, sourceKey, type BackoffOptions } from './backoff.js';
import { AuthFileError } from './errors.js';
import { loadPasswordFile, loadPasswordFileSync, type PasswordTable } from './password-file.js';
import { scramAuth, type ScramOptions, type ScramRequest } from './scram.js';

export interface FileAuthOptions {
  /**
   * Password file: `user:hash` lines from mosquitto_passwd ($6$, $7$) or starling passwd
   * ($scrypt$, SCRAM-SHA-256$). With it, a client giving a user name must give that user's
   * password (CONNACK 0x86 otherwise). Without it, user names are not checked, as in
   * Mosquitto without password_file: the listener's anonymous policy decides alone.
   */
  passwordFile?: string;
  /** ACL file in Mosquitto's acl_file syntax. Without it, every client may do everything. */
  aclFile?: string;
  /**
   * Delay before refusing a wrong password, growing per consecutive failure from the same
   * address (see backoff.ts for the defaults: 250 ms doubling to 10 s, 10,000 addresses).
   * false turns it off.
   */
  failureDelay?: BackoffOptions | false;
  /**
   * SCRAM-SHA-256 enhanced authentication (5.0) for the password file's SCRAM-SHA-256
   * entries. Default on when there is a password file.
   */
  scram?: boolean | Pick<ScramOptions, 'nonce' | 'bindUsername'>;
  /**
   * How SUBSCRIBE is judged by the ACL: 'filter' (default) refuses a filter no read rule
   * covers (SUBACK 0x87 / 0x80); 'delivery' grants every filter, as Mosquitto 2.0's acl_file
   * does, and relies on the per-message delivery check alone. Each delivery is checked
   * either way.
   */
  subscribeCheck?: 'filter' | 'delivery';
  /** Where reload problems go; a pino logger fits. Default: nowhere (reload() returns them). */
  log?: AuthLogger;
}

export interface AuthLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}


export interface ReloadResult {
  /** True when every file was read; false when one kept its previous rules. */
  readonly ok: boolean;
  readonly errors: readonly AuthFileError[];
}

export interface FileAuth extends Hooks {
  /**
   * Reads both files again. A file that cannot be read or has a bad line keeps its previous
   * table; the errors name file and line and are logged through `log`.
   */
  reload(): Promise<ReloadResult>;
  /** The tables in use. */
  readonly passwords: PasswordTable | undefined;
  readonly acl: AclTable | undefined;
}

const ALLOWED: Verdict = Object.freeze({ ok: true });
const NOT_AUTHORIZED: Verdict = Object.freeze({ ok: false, reasonCode: 0x87 });
const BAD_CREDENTIALS: Verdict = Object.freeze({ ok: false, reasonCode: 0x86 });

/**
 * Hooks checking a password file and an ACL file. Reads the files now and throws an
 * AuthFileError (file:line) if one is bad.
 */
export function fileAuth(options: FileAuthOptions): FileAuth {
  const { passwordFile, aclFile, log } = options;
  let passwords = passwordFile === undefined ? undefined : loadPasswordFileSync(passwordFile);
  let acl = aclFile === undefined ? undefined : loadAclFileSync(aclFile);
  const backoff = options.failureDelay === false ? undefined : new FailureBackoff(options.failureDelay);
  const filterCheck = (options.subscribeCheck ?? 'filter') === 'filter';

  const hooks: FileAuth = {
    get passwords() {
      return passwords;
    },
    get acl() {
      return acl;
    },
    async reload(): Promise<ReloadResult> {
      const errors: AuthFileError[] = [];
      const [p, a] = await Promise.allSettled([
        passwordFile === undefined ? undefined : loadPasswordFile(passwordFile),
        aclFile === undefined ? undefined : loadAclFile(aclFile),
      ]);
      if (p.status === 'fulfilled') passwords = p.value;
      else errors.push(asFileError(p.reason, passwordFile!));
      if (a.status === 'fulfilled') acl = a.value;
      else errors.push(asFileError(a.reason, aclFile!));
      for (const err of errors) log?.warn({ file: err.file, line: err.line, reason: err.reason }, `auth reload: keeping the previous rules: ${err.message}`);
      if (errors.length === 0) log?.info({ users: passwords?.size, acl: acl?.stats }, 'auth files reloaded');
      return { ok: errors.length === 0, errors };
    },
  };

  if (passwordFile !== undefined) {
    hooks.authenticate = async (req: AuthenticateRequest): Promise<Verdict> => {
      if (req.username === undefined) return req.listener.allowAnonymous ? ALLOWED : NOT_AUTHORIZED;
      const ok = await passwords!.verify(req.username, req.password);
      if (ok) {
        backoff?.succeeded(sourceKey(req.remoteAddress));
        return ALLOWED;
      }
      await backoff?.failed(sourceKey(req.remoteAddress));
      return BAD_CREDENTIALS;
    };

    if (options.scram !== false) {
      const extra = typeof options.scram === 'object' ? options.scram : {};
      hooks.enhancedAuth = scramAuth({
        credentials: () => passwords,
        // With an ACL the CONNECT User Name decides what a client may do: it must be the
        // user SCRAM proved, which needs the broker to tell the hook (see README.md).
        bindUsername: extra.bindUsername ?? (aclFile !== undefined ? 'require' : 'if-known'),
        ...(extra.nonce && { nonce: extra.nonce }),
        onFailure: (req: ScramRequest) => (req.remoteAddress !== undefined ? backoff?.failed(sourceKey(req.remoteAddress)) : undefined),
        onSuccess: (req: ScramRequest) => {
          if (req.remoteAddress !== undefined) backoff?.succeeded(sourceKey(req.remoteAddress));
        },
      });
    }
  }

  if (aclFile !== undefined) {
    hooks.authorizePublish = (client: ClientInfo, message: Message): Verdict =>
      acl!.check('write', client.id, client.username, message.topic) ? ALLOWED : NOT_AUTHORIZED;
    hooks.authorizeSubscribe = (client: ClientInfo, sub: Subscription): Verdict => {
      if (!filterCheck) return ALLOWED;
      // A shared subscription receives what its Topic Filter matches: that is what is judged.
      const filter = parseSharedFilter(sub.topicFilter)?.filter ?? sub.topicFilter;
      return acl!.check('subscribe', client.id, client.username, filter) ? ALLOWED : NOT_AUTHORIZED;
    };
    hooks.authorizeDelivery = (client: { id: string; username: string | undefined }, message: Message): boolean => acl!.check('read', client.id, client.username, message.topic);
  }

  return hooks;
}

function asFileError(err: unknown, file: string): AuthFileError {
  return err instanceof AuthFileError ? err : new AuthFileError(file, 0, String((err as Error)?.message ?? err));
}

export { AuthFileError } from './errors.js';
export { AclTable, parseAclFile, loadAclFile, type AclAccess } from './acl-file.js';
export { PasswordTable, parsePasswordFile, loadPasswordFile, passwordLine } from './password-file.js';
export { createRecord, decodeHash, encodeHash, verifyHash, scramKeys, DEFAULTS as HASH_DEFAULTS, type PasswordRecord, type Scheme } from './hashes.js';
export { FailureBackoff, BACKOFF_DEFAULTS, sourceKey, type BackoffOptions } from './backoff.js';
export { scramAuth, SCRAM_SHA_256, type ScramOptions } from './scram.js';
