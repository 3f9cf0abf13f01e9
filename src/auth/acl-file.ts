// The ACL file, in Mosquitto's acl_file syntax (mosquitto.conf(5)), read and checked as
// Mosquitto 2.0 does (src/security_default.c: aclfile__parse, mosquitto_acl_check_default):
//
//   # comment
//   topic [read|write|readwrite|deny] <topic>     before any `user` line: anonymous clients
//   user <username>                               the topic lines after it: that user
//   pattern [read|write|readwrite|deny] <topic>   everyone; %c = client id, %u = user name
//
// A client's own rules are its user section (or the anonymous section when it gave no user
// name; a user without a section has none), then the patterns. In each list a matching
// `deny` wins over any grant; the client's own grants are checked before the pattern
// denials, as in Mosquitto. Nothing matching means no access.
//
// Publishing checks write on the topic; each delivery checks read on the message's topic.
// Subscribing checks the filter against the read rules with Mosquitto's filter-against-
// filter comparison (lib/util_topic.c, sub_matches_acl): a rule covers a subscription when
// every topic the subscription can match, the rule matches too. So `a/#` covers `a/+/b`
// while `a/+` does not cover `a/#`, and a `deny` rule refuses the subscriptions it covers.
// (Mosquitto 2.0's acl_file grants every SUBSCRIBE and relies on the per-delivery check; the
// stricter filter check tells the client at SUBACK instead of silently delivering nothing.)

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { validateTopicFilter } from '../topics/index.js';
import { AuthFileError, unreadable } from './errors.js';

export type AclAccess = 'read' | 'write' | 'subscribe';

const READ = 1;
const WRITE = 2;
const DENY = 0;

interface Rule {
  readonly topic: string;
  readonly levels: readonly string[];
  /** READ | WRITE, or DENY (0). */
  readonly access: number;
  readonly line: number;
}

interface PatternRule extends Rule {
  readonly usesUsername: boolean;
}

/** One list of rules with its denials first, as Mosquitto orders them. */
interface RuleList<R extends Rule = Rule> {
  readonly deny: readonly R[];
  readonly allow: readonly R[];
}

/** Patterns with %c/%u replaced for one client. */
type Expanded = RuleList<Rule>;

const EXPANSION_CACHE = 4096;

export class AclTable {
  /** The patterns expanded per (client id, user name): a bounded cache, rebuilt freely. */
  private readonly expansions = new Map<string, Expanded>();

  constructor(
    /** Where the table came from, for messages; undefined when built in memory. */
    readonly file: string | undefined,
    private readonly anonymous: RuleList | undefined,
    private readonly users: ReadonlyMap<string, RuleList>,
    private readonly patterns: RuleList<PatternRule>,
  ) {}

  /** Counts, for logs. */
  get stats(): { users: number; rules: number; patterns: number } {
    let rules = this.anonymous ? this.anonymous.deny.length + this.anonymous.allow.length : 0;
    for (const l of this.users.values()) rules += l.deny.length + l.allow.length;
    return { users: this.users.size, rules, patterns: this.patterns.deny.length + this.patterns.allow.length };
  }

  /**
   * May this client read (receive) or write (publish) `topic`, or subscribe to the filter
   * `topic`? Pure: the answer depends only on the table and the arguments.
   */
  check(access: AclAccess, clientId: string, username: string | undefined, topic: string): boolean {
    const target = topic.split('/');
    const bit = access === 'write' ? WRITE : READ;
    const match = access === 'subscribe' ? covers : matches;

    const own = username === undefined ? this.anonymous : this.users.get(username);
    if (own !== undefined) {
      for (const r of own.deny) if (match(r.levels, target)) return false;
      for (const r of own.allow) if ((r.access & bit) !== 0 && match(r.levels, target)) return true;
    }

    if (this.patterns.deny.length + this.patterns.allow.length === 0) return false;
    // A client id or user name holding a wildcard could widen a pattern to other clients'
    // topics (CVE-2017-7650): Mosquitto denies such clients everything once patterns exist.
    if (hasWildcard(clientId) || (username !== undefined && hasWildcard(username))) return false;
    const expanded = this.expand(clientId, username);
    for (const r of expanded.deny) if (match(r.levels, target)) return false;
    for (const r of expanded.allow) if ((r.access & bit) !== 0 && match(r.levels, target)) return true;
    return false;
  }

  private expand(clientId: string, username: string | undefined): Expanded {
    const key = `${username === undefined ? '\u0000' : `=${username}`}\u0000${clientId}`;
    let e = this.expansions.get(key);
    if (e !== undefined) return e;
    const one = (r: PatternRule): Rule | undefined => {
      // A %u pattern does not apply to a client without a user name.
      if (r.usesUsername && username === undefined) return undefined;
      const topic = substitute(r.topic, clientId, username);
      return topic === r.topic ? r : { topic, levels: topic.split('/'), access: r.access, line: r.line };
    };
    const keep = (rules: readonly PatternRule[]): Rule[] => rules.map(one).filter((r): r is Rule => r !== undefined);
    e = { deny: keep(this.patterns.deny), allow: keep(this.patterns.allow) };
    if (this.expansions.size >= EXPANSION_CACHE) this.expansions.clear();
    this.expansions.set(key, e);
    return e;
  }
}

const hasWildcard = (s: string): boolean => s.includes('+') || s.includes('#');

/** Mosquitto replaces every %c and %u in the text of the rule (src/security_default.c). */
function substitute(topic: string, clientId: string, username: string | undefined): string {
  return topic.replace(/%([cu])/g, (whole, which: string) => (which === 'c' ? clientId : (username ?? whole)));
}

/**
 * Does the rule's filter match a topic name? MQTT matching (section 4.7), with Mosquitto's
 * rule that a topic starting with '$' is only matched by a rule starting with '$'.
 */
function matches(filter: readonly string[], topic: readonly string[]): boolean {
  if (filter[0]!.startsWith('$') !== topic[0]!.startsWith('$')) return false;
  for (let i = 0; i < filter.length; i++) {
    const f = filter[i]!;
    if (f === '#') return true; // also matches the parent level: `a/#` matches `a`
    if (i >= topic.length) return false;
    if (f !== '+' && f !== topic[i]) return false;
  }
  return filter.length === topic.length;
}

/**
 * Does the rule's filter cover a subscription's filter: every topic the subscription can
 * match, the rule matches? Mosquitto's sub_matches_acl: `+` in the rule covers one level of
 * anything but `#`; `#` in the rule covers the rest; a literal level covers only itself.
 */
function covers(rule: readonly string[], sub: readonly string[]): boolean {
  if (rule[0]!.startsWith('$') !== sub[0]!.startsWith('$')) return false;
  for (let i = 0; i < rule.length; i++) {
    const r = rule[i]!;
    if (r === '#') return true;
    if (i >= sub.length) return false;
    const s = sub[i]!;
    if (r === '+') {
      if (s === '#') return false;
      continue;
    }
    if (r !== s) return false;
  }
  return rule.length === sub.length;
}

// --- parsing --------------------------------------------------------------------------------

const ACCESS: Readonly<Record<string, number>> = { read: READ, write: WRITE, readwrite: READ | WRITE, deny: DENY };

class ListBuilder<R extends Rule> {
  readonly deny: R[] = [];
  readonly allow: R[] = [];
  add(rule: R): void {
    (rule.access === DENY ? this.deny : this.allow).push(rule);
  }
}

/** Parses an ACL file's text. `file` names it in errors. */
export function parseAclFile(text: string, file: string): AclTable {
  let anonymous: ListBuilder<Rule> | undefined;
  const users = new Map<string, ListBuilder<Rule>>();
  const patterns = new ListBuilder<PatternRule>();
  let user: string | undefined;

  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [keyword, rest] = splitWord(line);
    if (keyword === 'topic' || keyword === 'pattern') {
      if (rest === '') throw new AuthFileError(file, lineNo, `empty topic in "${keyword}" line`);
      // `topic <topic>` grants readwrite; with two or more words the first is the access
      // type and the rest of the line, spaces included, is the topic (as Mosquitto reads it).
      const [first, remainder] = splitWord(rest);
      let access = READ | WRITE;
      let topic = rest;
      if (remainder !== '') {
        const a = ACCESS[first];
        if (a === undefined) throw new AuthFileError(file, lineNo, `invalid access type "${first}" (read, write, readwrite or deny)`);
        access = a;
        topic = remainder;
      }
      const invalid = validateTopicFilter(topic);
      if (invalid !== undefined) throw new AuthFileError(file, lineNo, `invalid ACL topic "${topic}": ${invalid}`);
      const rule: Rule = { topic, levels: topic.split('/'), access, line: lineNo };
      if (keyword === 'pattern') {
        patterns.add({ ...rule, usesUsername: topic.includes('%u') });
      } else if (user === undefined) {
        (anonymous ??= new ListBuilder()).add(rule);
      } else {
        let list = users.get(user);
        if (list === undefined) users.set(user, (list = new ListBuilder()));
        list.add(rule);
      }
    } else if (keyword === 'user') {
      if (rest === '') throw new AuthFileError(file, lineNo, 'missing user name');
      user = rest;
    } else {
      throw new AuthFileError(file, lineNo, `invalid line (expected topic, pattern or user): ${line}`);
    }
  }
  const freeze = <R extends Rule>(b: ListBuilder<R>): RuleList<R> => Object.freeze({ deny: Object.freeze(b.deny), allow: Object.freeze(b.allow) });
  return new AclTable(
    file,
    anonymous && freeze(anonymous),
    new Map([...users].map(([u, b]) => [u, freeze(b)])),
    freeze(patterns),
  );
}

/** The first word (space or tab separated) and the trimmed rest of the line. */
function splitWord(s: string): [string, string] {
  const m = /^(\S+)\s*(.*)$/.exec(s);
  return m === null ? ['', ''] : [m[1]!, m[2]!.trim()];
}

export async function loadAclFile(file: string): Promise<AclTable> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw unreadable(file, err);
  }
  return parseAclFile(text, file);
}

export function loadAclFileSync(file: string): AclTable {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw unreadable(file, err);
  }
  return parseAclFile(text, file);
}
