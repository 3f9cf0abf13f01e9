// Runs the registered hooks in order. With no hook of a kind registered the answer is
// immediate and synchronous, so the QoS 0 path makes no promise; a hook that returns a
// promise makes the rest of the chain async.

import type { QoS, Subscription } from '../codec/types.js';
import type { AuthenticateRequest, AuthStep, ClientInfo, DeliveryTarget, EnhancedAuthRequest, Hooks, Message, Verdict } from './types.js';

export const ALLOW: Verdict = Object.freeze({ ok: true });

type MaybePromise<T> = T | Promise<T>;

const isPromise = <T>(v: MaybePromise<T>): v is Promise<T> => typeof (v as Promise<T>)?.then === 'function';

/** Calls `step` on each hook in turn while `next` says go on; async only if a step is. */
function chain<H, T>(hooks: readonly H[], start: T, step: (h: H, acc: T) => MaybePromise<T> | undefined, next: (acc: T) => boolean, from = 0): MaybePromise<T> {
  let acc = start;
  for (let i = from; i < hooks.length && next(acc); i++) {
    const r = step(hooks[i]!, acc);
    if (r === undefined) continue;
    if (isPromise(r)) return r.then((v) => chain(hooks, v, step, next, i + 1));
    acc = r;
  }
  return acc;
}

export class HookRunner {
  authenticators: Hooks[] = [];
  private enhanced: Hooks[] = [];
  private publishAuth: Hooks[] = [];
  private subscribeAuth: Hooks[] = [];
  private publishHooks: Hooks[] = [];
  private connectHooks: Hooks[] = [];
  private disconnectHooks: Hooks[] = [];
  private subscribeHooks: Hooks[] = [];

  constructor(private readonly hooks: readonly Hooks[]) {
    this.refresh();
  }

  /**
   * Looks again at which methods the hooks define. A hook object whose rules come and go
   * (fileAuth without an ACL file defines no authorization methods, so messages pay for
   * none) sets or removes its methods, then the broker's owner calls this.
   */
  refresh(): void {
    const hooks = this.hooks;
    this.authenticators = hooks.filter((h) => h.authenticate);
    this.enhanced = hooks.filter((h) => h.enhancedAuth);
    this.publishAuth = hooks.filter((h) => h.authorizePublish);
    this.subscribeAuth = hooks.filter((h) => h.authorizeSubscribe);
    this.publishHooks = hooks.filter((h) => h.onPublish);
    this.connectHooks = hooks.filter((h) => h.onConnect);
    this.disconnectHooks = hooks.filter((h) => h.onDisconnect);
    this.subscribeHooks = hooks.filter((h) => h.onSubscribe);
    const delivery = hooks.filter((h) => h.authorizeDelivery);
    this.deliveryCheck =
      delivery.length === 0
        ? undefined
        : (target, message) => {
            for (const h of delivery) if (!h.authorizeDelivery!(target, message)) return false;
            return true;
          };
  }

  /** A per-delivery check, or undefined when no hook defines one (the router then skips it). */
  deliveryCheck: ((target: DeliveryTarget, message: Message) => boolean) | undefined = undefined;

  /**
   * Every hook must allow; a hook answering undefined abstains. When all abstain the
   * listener's policy decides, as with no hook at all (a hook whose rules can come and go,
   * like fileAuth's on a reload, keeps its place without changing that policy).
   */
  authenticate(req: AuthenticateRequest, from = 0, answered = false): MaybePromise<Verdict> {
    const hooks = this.authenticators;
    for (let i = from; i < hooks.length; i++) {
      const r = hooks[i]!.authenticate!(req);
      if (r === undefined) continue;
      if (isPromise(r)) return r.then((v) => (v === undefined ? this.authenticate(req, i + 1, answered) : v.ok ? this.authenticate(req, i + 1, true) : v));
      if (!r.ok) return r;
      answered = true;
    }
    return answered ? ALLOW : listenerPolicy(req);
  }

  /** The first hook that knows the method answers; undefined when none does. */
  enhancedAuth(req: EnhancedAuthRequest): MaybePromise<AuthStep | undefined> {
    return chain<Hooks, AuthStep | undefined>(this.enhanced, undefined, (h) => h.enhancedAuth!(req), (v) => v === undefined);
  }

  get hasPublishHooks(): boolean {
    return this.publishAuth.length > 0 || this.publishHooks.length > 0;
  }

  authorizePublish(client: ClientInfo, message: Message): MaybePromise<Verdict> {
    return chain<Hooks, Verdict>(this.publishAuth, ALLOW, (h) => h.authorizePublish!(client, message), (v) => v.ok);
  }

  /** Lets each onPublish hook rewrite the message; null drops it. */
  onPublish(client: ClientInfo | undefined, message: Message): MaybePromise<Message | null> {
    return chain<Hooks, Message | null>(
      this.publishHooks,
      message,
      (h, m) => {
        const r = h.onPublish!(client, m!);
        return isPromise(r) ? r.then((v) => (v === undefined ? m : v)) : r === undefined ? m : r;
      },
      (m) => m !== null,
    );
  }

  /** The granted QoS (0..2) or a denial. */
  authorizeSubscribe(client: ClientInfo, sub: Subscription): MaybePromise<Verdict | QoS> {
    return chain<Hooks, Verdict | QoS>(this.subscribeAuth, sub.qos, (h, acc) => {
      const r = h.authorizeSubscribe!(client, sub);
      const lower = (v: Verdict | QoS): Verdict | QoS => (typeof v === 'number' ? (Math.min(v, acc as QoS) as QoS) : v.ok ? acc : v);
      return isPromise(r) ? r.then(lower) : lower(r);
    }, (acc) => typeof acc === 'number');
  }

  /** Notifications: errors are logged by the caller's catch, never thrown into the broker. */
  onConnect(client: ClientInfo): void | Promise<unknown> {
    if (this.connectHooks.length === 0) return;
    return Promise.all(this.connectHooks.map(async (h) => h.onConnect!(client)));
  }

  onDisconnect(client: ClientInfo, reason: string): void | Promise<unknown> {
    if (this.disconnectHooks.length === 0) return;
    return Promise.all(this.disconnectHooks.map(async (h) => h.onDisconnect!(client, reason)));
  }

  onSubscribe(client: ClientInfo, subs: readonly Subscription[], granted: readonly number[]): void | Promise<unknown> {
    if (this.subscribeHooks.length === 0) return;
    return Promise.all(this.subscribeHooks.map(async (h) => h.onSubscribe!(client, subs, granted)));
  }
}

/**
 * Without an authenticate hook's answer: a certificate the listener's CA verified vouches for
 * the client (Mosquitto's use_identity_as_username does the same); otherwise the listener's
 * allowAnonymous decides, for clients with a user name too (nothing could check it).
 */
export function listenerPolicy(req: Pick<AuthenticateRequest, 'username' | 'listener' | 'peer'>): Verdict {
  if (req.peer?.certificateUsername !== undefined) return ALLOW;
  if (req.listener.allowAnonymous) return ALLOW;
  return { ok: false, reasonCode: req.username === undefined ? 0x87 : 0x86 };
}

export { isPromise, type MaybePromise };
