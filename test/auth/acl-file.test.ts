// The ACL file, checked against Mosquitto's documented semantics (mosquitto.conf(5),
// acl_file) and its source (src/security_default.c, lib/util_topic.c): the anonymous
// section, user sections, %c/%u patterns, read/write/readwrite/deny, wildcards in rules,
// `$` topics, and subscriptions judged filter against filter.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthFileError } from '../../src/auth/errors.js';
import { parseAclFile, type AclAccess, type AclTable } from '../../src/auth/acl-file.js';

const ACL = `# Rules before any user line: anonymous clients.
topic read public/#
topic write public/anonymous-box

# alice
user alice
topic readwrite alice/#
topic deny alice/private
topic read sensors/+/temperature
topic write  commands/lights
topic logs/alice

user bob
topic read $SYS/broker/#
topic read #

# Patterns: everyone, whatever user line came before.
pattern readwrite devices/%c/#
pattern read inbox/%u
pattern deny devices/%c/firmware
`;

const table = parseAclFile(ACL, 'acl');
const can = (t: AclTable, access: AclAccess, clientId: string, username: string | undefined, topic: string): boolean => t.check(access, clientId, username, topic);

test('rules before any user line apply to anonymous clients only', () => {
  assert.equal(can(table, 'read', 'c1', undefined, 'public/news'), true);
  assert.equal(can(table, 'write', 'c1', undefined, 'public/anonymous-box'), true);
  assert.equal(can(table, 'write', 'c1', undefined, 'public/news'), false, 'read does not grant write');
  // A client with a user name has its user section (or none), not the anonymous one.
  assert.equal(can(table, 'read', 'c1', 'alice', 'public/news'), false);
  assert.equal(can(table, 'read', 'c1', 'nobody', 'public/news'), false);
});

test('a user section applies to that user name only, not to a client id of that name', () => {
  assert.equal(can(table, 'write', 'c2', 'alice', 'alice/notes'), true);
  assert.equal(can(table, 'read', 'c2', 'alice', 'alice/notes'), true);
  assert.equal(can(table, 'write', 'c2', 'bob', 'alice/notes'), false);
  assert.equal(can(table, 'write', 'alice', undefined, 'alice/notes'), false);
});

test('read, write and readwrite grant what they say; "topic <t>" alone grants readwrite', () => {
  assert.equal(can(table, 'read', 'c', 'alice', 'sensors/kitchen/temperature'), true);
  assert.equal(can(table, 'write', 'c', 'alice', 'sensors/kitchen/temperature'), false);
  assert.equal(can(table, 'write', 'c', 'alice', 'commands/lights'), true);
  assert.equal(can(table, 'read', 'c', 'alice', 'commands/lights'), false);
  assert.equal(can(table, 'read', 'c', 'alice', 'logs/alice'), true);
  assert.equal(can(table, 'write', 'c', 'alice', 'logs/alice'), true);
});

test('deny takes precedence over a broader grant, wherever it is in the section', () => {
  assert.equal(can(table, 'read', 'c', 'alice', 'alice/private'), false);
  assert.equal(can(table, 'write', 'c', 'alice', 'alice/private'), false);
  assert.equal(can(table, 'write', 'c', 'alice', 'alice/private/deeper'), true, 'deny alice/private is that topic only');
  const later = parseAclFile('user u\ntopic deny a/b\ntopic readwrite a/#\n', 'f');
  assert.equal(can(later, 'read', 'c', 'u', 'a/b'), false);
});

test('wildcards in rules match as in subscriptions: + one level, # any number including the parent', () => {
  assert.equal(can(table, 'read', 'c', 'alice', 'sensors/hall/temperature'), true);
  assert.equal(can(table, 'read', 'c', 'alice', 'sensors/hall/humidity'), false);
  assert.equal(can(table, 'read', 'c', 'alice', 'sensors/a/b/temperature'), false);
  assert.equal(can(table, 'read', 'c', 'alice', 'alice'), true, 'alice/# matches alice');
  assert.equal(can(table, 'read', 'c', 'alice', 'alicex'), false);
});

test('$ topics are matched only by rules that start with $: "#" does not reach $SYS', () => {
  assert.equal(can(table, 'read', 'c', 'bob', 'anything/at/all'), true);
  assert.equal(can(table, 'read', 'c', 'bob', '$SYS/broker/uptime'), true);
  assert.equal(can(table, 'read', 'c', 'bob', '$SYS/other'), false);
});

test('pattern %c is replaced by the client id and applies to every client, anonymous ones included', () => {
  for (const user of [undefined, 'alice', 'bob', 'nobody']) {
    assert.equal(can(table, 'write', 'dev-7', user, 'devices/dev-7/state'), true, `user ${user}`);
    assert.equal(can(table, 'write', 'dev-7', user, 'devices/dev-8/state'), false, `user ${user}`);
  }
});

test('pattern %u is replaced by the user name and does not apply to anonymous clients', () => {
  assert.equal(can(table, 'read', 'c', 'carol', 'inbox/carol'), true);
  assert.equal(can(table, 'read', 'c', 'carol', 'inbox/dave'), false);
  assert.equal(can(table, 'write', 'c', 'carol', 'inbox/carol'), false, 'the pattern grants read only');
  assert.equal(can(table, 'read', 'c', undefined, 'inbox/%u'), false);
});

test('pattern deny wins over pattern grants; the client\'s own section is checked before patterns, as in Mosquitto', () => {
  assert.equal(can(table, 'write', 'dev-7', undefined, 'devices/dev-7/firmware'), false);
  assert.equal(can(table, 'read', 'dev-7', 'carol', 'devices/dev-7/firmware'), false);
  // bob's own "topic read #" grants before the pattern denial is looked at.
  assert.equal(can(table, 'read', 'dev-7', 'bob', 'devices/dev-7/firmware'), true);
});

test('a client id or user name with + or # gets nothing from patterns (CVE-2017-7650), but keeps its own section', () => {
  assert.equal(can(table, 'write', '+', undefined, 'devices/+/state'), false);
  assert.equal(can(table, 'read', 'c', '#', 'inbox/#'), false);
  assert.equal(can(table, 'read', 'dev#', 'alice', 'alice/notes'), true);
  assert.equal(can(table, 'write', 'dev#', 'alice', 'devices/dev#/x'), false);
});

test('a user without a section, and any client when there are no patterns, gets nothing', () => {
  const noPatterns = parseAclFile('topic read a/#\nuser u\ntopic read b/#\n', 'f');
  assert.equal(can(noPatterns, 'read', 'c', 'v', 'b/x'), false);
  assert.equal(can(noPatterns, 'read', 'c', 'v', 'a/x'), false);
  const empty = parseAclFile('# nothing\n', 'f');
  assert.equal(can(empty, 'read', 'c', undefined, 'a'), false);
  assert.equal(can(empty, 'write', 'c', 'u', 'a'), false);
});

test('sections for the same user add up; user names may contain spaces', () => {
  const t = parseAclFile('user John Smith\ntopic read a\nuser other\ntopic read b\nuser John Smith\ntopic read c\n', 'f');
  assert.equal(can(t, 'read', 'x', 'John Smith', 'a'), true);
  assert.equal(can(t, 'read', 'x', 'John Smith', 'c'), true);
  assert.equal(can(t, 'read', 'x', 'John Smith', 'b'), false);
});

test('a topic may contain spaces after the access type; "topic read" alone is the topic "read" (as Mosquitto parses it)', () => {
  const t = parseAclFile('topic write my topic/with spaces\ntopic read\n', 'f');
  assert.equal(can(t, 'write', 'c', undefined, 'my topic/with spaces'), true);
  assert.equal(can(t, 'write', 'c', undefined, 'read'), true);
  assert.equal(can(t, 'read', 'c', undefined, 'read'), true);
});

// --- subscriptions --------------------------------------------------------------------------

test('subscribing needs a read rule that covers the whole filter', () => {
  assert.equal(can(table, 'subscribe', 'c', 'alice', 'alice/#'), true);
  assert.equal(can(table, 'subscribe', 'c', 'alice', 'alice/+/notes'), true);
  assert.equal(can(table, 'subscribe', 'c', 'alice', 'sensors/+/temperature'), true);
  assert.equal(can(table, 'subscribe', 'c', 'alice', 'sensors/hall/temperature'), true);
  assert.equal(can(table, 'subscribe', 'c', undefined, 'public/+'), true);
});

test('subscribing to a wider filter than the rules allow is refused', () => {
  assert.equal(can(table, 'subscribe', 'c', 'alice', '#'), false);
  assert.equal(can(table, 'subscribe', 'c', 'alice', 'sensors/#'), false);
  assert.equal(can(table, 'subscribe', 'c', 'alice', 'sensors/+/+'), false);
  assert.equal(can(table, 'subscribe', 'c', 'alice', '+/notes'), false);
  assert.equal(can(table, 'subscribe', 'c', undefined, '#'), false);
});

test('a + rule covers a + or a literal level but not #', () => {
  const t = parseAclFile('topic read a/+\n', 'f');
  assert.equal(can(t, 'subscribe', 'c', undefined, 'a/+'), true);
  assert.equal(can(t, 'subscribe', 'c', undefined, 'a/b'), true);
  assert.equal(can(t, 'subscribe', 'c', undefined, 'a/#'), false);
  assert.equal(can(t, 'subscribe', 'c', undefined, 'a'), false);
  assert.equal(can(t, 'subscribe', 'c', undefined, 'a/b/c'), false);
});

test('a write-only rule does not allow subscribing', () => {
  assert.equal(can(table, 'subscribe', 'c', 'alice', 'commands/lights'), false);
  assert.equal(can(table, 'subscribe', 'c', undefined, 'public/anonymous-box'), true, 'public/# grants read');
});

test('a deny rule refuses the subscriptions it covers; a wider filter is granted and each delivery is checked', () => {
  assert.equal(can(table, 'subscribe', 'c', 'alice', 'alice/private'), false);
  assert.equal(can(table, 'subscribe', 'c', 'alice', 'alice/+'), true);
  assert.equal(can(table, 'read', 'c', 'alice', 'alice/private'), false, 'the delivery check');
});

test('patterns are substituted for subscriptions too', () => {
  assert.equal(can(table, 'subscribe', 'dev-7', undefined, 'devices/dev-7/+'), true);
  assert.equal(can(table, 'subscribe', 'dev-7', undefined, 'devices/+/state'), false);
  assert.equal(can(table, 'subscribe', 'dev-7', undefined, 'devices/dev-7/firmware'), false);
});

test('$ filters are covered only by $ rules', () => {
  assert.equal(can(table, 'subscribe', 'c', 'bob', '#'), true);
  assert.equal(can(table, 'subscribe', 'c', 'bob', '$SYS/broker/+'), true);
  assert.equal(can(table, 'subscribe', 'c', 'bob', '$SYS/#'), false);
});

// --- parsing --------------------------------------------------------------------------------

test('comments, blank lines, CRLF line ends and tabs between words are accepted', () => {
  const t = parseAclFile('# c\r\n\r\n  # indented\r\ntopic\tread\ta/b\r\n', 'f');
  assert.equal(can(t, 'read', 'c', undefined, 'a/b'), true);
});

for (const [name, line, reason] of [
  ['an unknown access type', 'topic reed a/b', /invalid access type "reed"/],
  ['a topic without a topic', 'topic', /empty topic/],
  ['a pattern without a topic', 'pattern', /empty topic/],
  ['an invalid topic filter', 'topic read a/#/b', /invalid ACL topic "a\/#\/b"/],
  ['a user line without a name', 'user', /missing user name/],
  ['an unknown keyword', 'topics read a', /invalid line/],
] as const) {
  test(`${name} is refused with the file and line`, () => {
    assert.throws(
      () => parseAclFile(`# header\ntopic read ok\n${line}\n`, '/etc/starling/acl'),
      (err: unknown) => err instanceof AuthFileError && err.line === 3 && err.file === '/etc/starling/acl' && reason.test(err.message),
    );
  });
}
