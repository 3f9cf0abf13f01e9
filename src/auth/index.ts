// Built-in authentication and authorization from files, as hooks like any user's: a
// Mosquitto-format password file (plus Starling's schemes and SCRAM-SHA-256 enhanced
// authentication) and a Mosquitto-format ACL file. See docs/security.md.
//
//   const auth = fileAuth({ passwordFile: 'passwd', aclFile: 'acl' });
//   const broker = createBroker({ hooks: [auth] });
//   process.on('SIGHUP', () => void auth.reload());

import type { Subscription } from '../codec/types.js';
import type { AuthenticateRequest, ClientInfo, Hooks, Message, Verdict } from '../broker/types.js';
import { parseSharedFilter } from '../topics/index.js';
import { loadAclFile, loadAclFileSync, type AclTable } from './acl-file.js';
import { sourceKey, type BackoffOptions } from './backoff.js';
import { AuthFileError } from './errors.js';
import { verifyHash } from './hashes.js';
import { LoginGuard, type LoginLimits, type LoginStats } from './login-guard.js';
import { loadPasswordFile, loadPasswordFileSync, type PasswordTable } from './password-file.js';
import { parseClientFirst, scramAuth, type ScramOptions, type ScramRequest } from './scram.js';

export interface FileAuthOptions {
  /**
   * Password file: `user:hash` lines from mosquitto_passwd ($6$, $7$) or starling passwd
   * ($scrypt$, SCRAM-SHA-256$). With it, a client giving a user name must give that user's
   * password (CONNACK 0x86 otherwise), unless its user name came from a verified client
   * certificate (a listener's certificateAsUsername), which authenticates it. Without it,
   * user names are not checked, as in Mosquitto without password_file: the listener's
   * anonymous policy decides alone.
   */
  passwordFile?: string;
  /** ACL file in Mosquitto's acl_file syntax. Without it, every client may do everything. */
  aclFile?: string;
  /**
   * Delay before refusing a wrong password, and before the next attempt from the same
   * address, or against the same user from it, is checked: 250 ms doubling per consecutive
   * failure to 10 s, 10,000 addresses (see backoff.ts and login-guard.ts). false turns it off.
   */
  failureDelay?: BackoffOptions | false;
  /** Bounds on the hashing work logins cause (login-guard.ts, LOGIN_DEFAULTS). */
  logins?: LoginLimits;
  /**
   * SCRAM-SHA-256 enhanced authentication (5.0) for the password file's SCRAM-SHA-256
   * entries. Default on; offered while there is a password file.
   */
  scram?: boolean | Pick<ScramOptions, 'nonce' | 'bindUsername'>;
  /**
   * How SUBSCRIBE is judged by the ACL: 'filter' (default) refuses a filter no read rule
   * covers (SUBACK 0x87 / 0x80); 'delivery' grants every filter, as Mosquitto 2.0's acl_file
   * does, and relies on the per-message delivery check alone. Each delivery is checked
   * either way.
   */
  subscribeCheck?: 'filter' | 'delivery';
  /** Where loads, reload problems and (at debug) ACL denials go; a pino logger fits. Default: nowhere. */
  log?: AuthLogger;
}

export interface AuthLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

/** The files in use; a reload may name others, or none. */
export interface AuthFiles {
  readonly passwordFile?: string | undefined;
  readonly aclFile?: string | undefined;
}

export interface ReloadResult {
  /** True when every file was read; false when one kept its previous rules. */
  readonly ok: boolean;
  readonly errors: readonly AuthFileError[];
}

export interface FileAuthStats {
  readonly logins: Readonly<LoginStats>;
  /** Logins admitted and not yet checked, and hashes being computed, now. */
  readonly pendingLogins: number;
  readonly hashing: number;
  /** ACL refusals: publishes (wills included), subscriptions, and deliveries not made. */
  readonly aclDenied: Readonly<Record<'publish' | 'subscribe' | 'read', number>>;
}

export interface FileAuth extends Hooks {
  /**
   * Reads the files again; with `files`, switches to those (a file named for the first time
   * is applied too, and a file left out is dropped). A file that cannot be read or has a
   * bad line keeps its previous table (and name); the errors name file and line and are
   * logged through `log`. Reloads run one after another. When the ACL file comes or goes,
   * call `broker.hooks.refresh()` afterwards: the ACL checks are defined only while there
   * is one.
   */
  reload(files?: AuthFiles): Promise<ReloadResult>;
  /** The files whose tables are in use. */
  readonly files: AuthFiles;
  /** The tables in use. */
  readonly passwords: PasswordTable | undefined;
  readonly acl: AclTable | undefined;
  readonly stats: FileAuthStats;
  /**
   * The bounds on password logins (back-off per source, hashing bound). Other ways of logging
   * in with these passwords (the dashboard) go through it too, so that they share MQTT's
   * back-off and hashing slots instead of adding their own.
   */
  readonly guard: LoginGuard;
  /**
   * One user's password against the table in use, as a `guard.check()` callback: timed, and
   * an unknown user answered as late as a real check (see LoginGuard.imitate). Never throws.
   */
  verifyPassword(username: string, password: string, release: () => void): Promise<boolean>;
}

const ALLOWED: Verdict = Object.freeze({ ok: true });
const NOT_AUTHORIZED: Verdict = Object.freeze({ ok: false, reasonCode: 0x87 });
const BAD_CREDENTIALS: Verdict = Object.freeze({ ok: false, reasonCode: 0x86 });
/** Refused unchecked: the source has too many logins in progress (3.1.1: 0x03). */
const RATE_CODE = 0x9f;
const RATE_EXCEEDED: Verdict = Object.freeze({ ok: false, reasonCode: RATE_CODE });
/** Refused unchecked: too many logins are waiting over all sources (3.1.1: 0x03). */
const BUSY_CODE = 0x89;
const BUSY: Verdict = Object.freeze({ ok: false, reasonCode: BUSY_CODE });
const REFUSAL = { failed: BAD_CREDENTIALS, source: RATE_EXCEEDED, busy: BUSY } as const;

/**
 * Hooks checking a password file and an ACL file. Reads the files now and throws an
 * AuthFileError (file:line) if one is bad. authenticate is in place even without a password
 * file (it abstains), so that a reload can add one. The ACL checks (authorizePublish,
 * authorizeSubscribe, authorizeDelivery) are defined only while there is an ACL file, so
 * that messages pay for no check that allows everything: after a reload that adds or removes
 * the ACL file, call `broker.hooks.refresh()` (the CLI does).
 */
export function fileAuth(options: FileAuthOptions): FileAuth {
  const { log } = options;
  let files: AuthFiles = { passwordFile: options.passwordFile, aclFile: options.aclFile };
  let passwords = files.passwordFile === undefined ? undefined : loadPasswordFileSync(files.passwordFile);
  let acl = files.aclFile === undefined ? undefined : loadAclFileSync(files.aclFile);
  const guard = new LoginGuard(options.logins, options.failureDelay ?? {});
  const filterCheck = (options.subscribeCheck ?? 'filter') === 'filter';
  const aclDenied = { publish: 0, subscribe: 0, read: 0 };
  let reloading: Promise<unknown> = Promise.resolve();
  if (files.passwordFile !== undefined || files.aclFile !== undefined) loaded(log, 'auth files loaded', files, passwords, acl);

  const denied = (access: keyof typeof aclDenied, client: { id: string; username: string | undefined }, topic: string): Verdict => {
    aclDenied[access]++;
    log?.debug?.({ clientId: client.id, username: client.username, access, topic }, 'ACL denied');
    return NOT_AUTHORIZED;
  };

  const reload = async (next: AuthFiles): Promise<ReloadResult> => {
    const errors: AuthFileError[] = [];
    const [p, a] = await Promise.allSettled([
      next.passwordFile === undefined ? undefined : loadPasswordFile(next.passwordFile),
      next.aclFile === undefined ? undefined : loadAclFile(next.aclFile),
    ]);
    if (p.status === 'fulfilled') {
      if (p.value === undefined && passwords !== undefined) log?.warn({ file: files.passwordFile }, 'auth: no password file any more: user names are not checked');
      passwords = p.value;
      files = { ...files, passwordFile: next.passwordFile };
    } else errors.push(asFileError(p.reason, next.passwordFile!));
    if (a.status === 'fulfilled') {
      if (a.value === undefined && acl !== undefined) log?.warn({ file: files.aclFile }, 'auth: no ACL file any more: every client may do everything');
      acl = a.value;
      files = { ...files, aclFile: next.aclFile };
    } else errors.push(asFileError(a.reason, next.aclFile!));
    applyAcl();
    for (const err of errors) log?.warn({ file: err.file, line: err.line, reason: err.reason }, `auth reload: keeping the previous rules: ${err.message}`);
    if (errors.length === 0) loaded(log, 'auth files reloaded', files, passwords, acl);
    else warnWeak(log, p.status === 'fulfilled' ? passwords : undefined);
    return { ok: errors.length === 0, errors };
  };

  const checkPassword = async (req: AuthenticateRequest, table: PasswordTable, username: string): Promise<Verdict> => {
    const password = req.password;
    const outcome = await guard.check(sourceKey(req.remoteAddress), username, (release) => verify(table, username, password, release));
    return outcome.ok ? ALLOWED : REFUSAL[outcome.why];
  };

  const verify = async (table: PasswordTable, username: string, password: Buffer | undefined, release: () => void): Promise<boolean> => {
    try {
      const record = table.get(username);
      if (record !== undefined && password !== undefined) return await guard.timed(record, () => verifyHash(record, password));
      return await guard.imitate(table.decoy, release, () => verifyHash(table.decoy, Buffer.alloc(0)));
    } catch (err) {
      // A hash the platform refuses (memory, parameters): a refusal, never a crash.
      log?.warn({ username, err: (err as Error).message }, 'password check failed');
      return false;
    }
  };

  const hooks: FileAuth = {
    get files() {
      return files;
    },
    get passwords() {
      return passwords;
    },
    get acl() {
      return acl;
    },
    guard,
    verifyPassword(username: string, password: string, release: () => void): Promise<boolean> {
      const table = passwords;
      if (table === undefined) return Promise.resolve(false);
      return verify(table, username, Buffer.from(password, 'utf8'), release);
    },
    get stats(): FileAuthStats {
      return { logins: guard.stats, pendingLogins: guard.pending, hashing: guard.hashing, aclDenied };
    },
    reload(next?: AuthFiles): Promise<ReloadResult> {
      const run = reloading.then(() => reload(next ?? files));
      reloading = run.catch(() => undefined);
      return run;
    },

    authenticate(req: AuthenticateRequest): Verdict | undefined | Promise<Verdict> {
      const table = passwords;
      // No password file: abstain, and the listener's policy decides as without this hook.
      if (table === undefined) return undefined;
      // A user name taken from a certificate the listener's CA verified is authenticated by
      // it (Mosquitto's use_identity_as_username): the password file is not consulted.
      if (req.peer?.certificateUsername !== undefined) return ALLOWED;
      if (req.username === undefined) return req.listener.allowAnonymous ? ALLOWED : NOT_AUTHORIZED;
      return checkPassword(req, table, req.username);
    },

    authorizePublish(client: ClientInfo, message: Message): Verdict {
      const table = acl;
      if (table === undefined || table.check('write', client.id, client.username, message.topic)) return ALLOWED;
      return denied('publish', client, message.topic);
    },

    authorizeSubscribe(client: ClientInfo, sub: Subscription): Verdict {
      const table = acl;
      if (table === undefined || !filterCheck) return ALLOWED;
      // A shared subscription receives what its Topic Filter matches: that is what is judged.
      const filter = parseSharedFilter(sub.topicFilter)?.filter ?? sub.topicFilter;
      return table.check('subscribe', client.id, client.username, filter) ? ALLOWED : denied('subscribe', client, sub.topicFilter);
    },

    authorizeDelivery(client: { id: string; username: string | undefined }, message: Message): boolean {
      const table = acl;
      if (table === undefined || table.check('read', client.id, client.username, message.topic)) return true;
      denied('read', client, message.topic);
      return false;
    },
  };

  // The ACL checks, taken off the object while there is no ACL file (see above).
  const aclChecks = { authorizePublish: hooks.authorizePublish, authorizeSubscribe: hooks.authorizeSubscribe, authorizeDelivery: hooks.authorizeDelivery };
  function applyAcl(): void {
    for (const key of ['authorizePublish', 'authorizeSubscribe', 'authorizeDelivery'] as const) {
      if (acl === undefined) delete hooks[key];
      else (hooks as unknown as Record<string, unknown>)[key] = aclChecks[key];
    }
  }
  applyAcl();

  if (options.scram !== false) {
    const extra = typeof options.scram === 'object' ? options.scram : {};
    const source = (req: ScramRequest): string => sourceKey(req.remoteAddress ?? '');
    const scram = scramAuth({
      credentials: () => passwords,
      // With an ACL the CONNECT User Name decides what a client may do: it must be the
      // user SCRAM proved (see docs/security.md).
      bindUsername: extra.bindUsername ?? (() => (acl !== undefined ? 'require' : 'if-known')),
      ...(extra.nonce && { nonce: extra.nonce }),
      admit: async (req, username) => {
        req.state[SCRAM_USER] = username;
        const outcome = await guard.start(source(req), username);
        return outcome.ok ? undefined : outcome.why === 'busy' ? BUSY_CODE : RATE_CODE;
      },
      onFailure: (req, _reason, admitted) => guard.failed(source(req), scramUser(req), admitted),
      onSuccess: (req, username) => guard.succeeded(source(req), username),
    });
    // Without a password file there is nobody to authenticate: the method is not offered
    // (0x8C, as for any unknown method), while a reload may add the file later.
    hooks.enhancedAuth = (req) => (req.step === 0 && passwords === undefined ? undefined : scram(req));
  }

  return hooks;
}

const SCRAM_USER = 'fileAuth.user';

/** The user a SCRAM exchange named, for counting its failure. */
function scramUser(req: ScramRequest): string {
  const admitted = req.state[SCRAM_USER];
  if (typeof admitted === 'string') return admitted;
  if (req.username !== undefined) return req.username;
  const first = req.step === 0 && req.data !== undefined ? parseClientFirst(req.data.toString('utf8')) : undefined;
  return typeof first === 'object' ? first.username : '';
}

/** One info line naming what is in force, and a warning per kind of weak hash. */
function loaded(log: AuthLogger | undefined, msg: string, files: AuthFiles, passwords: PasswordTable | undefined, acl: AclTable | undefined): void {
  if (log === undefined) return;
  log.info(
    {
      passwordFile: files.passwordFile ?? null,
      users: passwords?.size ?? 0,
      aclFile: files.aclFile ?? null,
      ...(acl !== undefined && { acl: acl.stats }),
    },
    msg,
  );
  warnWeak(log, passwords);
}

const WEAK_USERS_SHOWN = 10;

function warnWeak(log: AuthLogger | undefined, passwords: PasswordTable | undefined): void {
  if (log === undefined || passwords === undefined) return;
  for (const [reason, users] of passwords.weak()) {
    log.warn(
      { file: passwords.file, reason, count: users.length, users: users.slice(0, WEAK_USERS_SHOWN) },
      `weak password hashes in ${passwords.file ?? 'the password table'}: ${users.length} user(s) with ${reason}; re-create them with starling passwd`,
    );
  }
}

function asFileError(err: unknown, file: string): AuthFileError {
  return err instanceof AuthFileError ? err : new AuthFileError(file, 0, String((err as Error)?.message ?? err));
}

export { AuthFileError } from './errors.js';
export { AclTable, parseAclFile, loadAclFile, type AclAccess } from './acl-file.js';
export { PasswordTable, parsePasswordFile, loadPasswordFile, passwordLine } from './password-file.js';
export { createRecord, decodeHash, encodeHash, verifyHash, scramKeys, weakness, DEFAULTS as HASH_DEFAULTS, type PasswordRecord, type Scheme } from './hashes.js';
export { FailureBackoff, BACKOFF_DEFAULTS, sourceKey, type BackoffOptions } from './backoff.js';
export { scramAuth, SCRAM_SHA_256, type ScramOptions } from './scram.js';
export { LoginGuard, LOGIN_DEFAULTS, type LoginLimits, type LoginStats } from './login-guard.js';
