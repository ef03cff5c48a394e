// The JS API, mirroring 4D's Session class (and the Python package's tests).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { inspect } from 'node:util';
import { beforeEach, test } from 'node:test';

import * as sessmgr from 'sessmgr';

const SEED_ROLES = {
  privileges: [
    { privilege: 'simple', includes: [] },
    { privilege: 'medium', includes: ['simple'] },
  ],
  roles: [{ role: 'Medium', privileges: ['medium'] }],
  permissions: { allowed: [{ applyTo: 'ds', type: 'datastore', read: ['medium'] }] },
  forceLogin: false,
  restrictedByDefault: false,
};

beforeEach(() => sessmgr.reset());

test('a session is created and described as 4D describes it', () => {
  const s = sessmgr.createSession({
    type: 'remote',
    userName: 'Designer',
    machineName: 'My Computer',
    IPAddress: 'localhost',
    persistentID: '8FFDAE519F1F4DCDB81E8E8DB00AD101',
  });
  const info = s.info;
  assert.deepEqual(Object.keys(info), [
    'type', 'userName', 'machineName', 'systemUserName', 'IPAddress', 'hostType',
    'creationDateTime', 'state', 'ID', 'persistentID',
  ]);
  assert.equal(info.ID, s.id);
  assert.match(s.id, /^[0-9A-F]{32}$/);
  assert.equal(s.userName, 'Designer');
  assert.deepEqual(sessmgr.sessionInfo(s.id.toLowerCase()), info);
  assert.deepEqual(new sessmgr.Session(s.id.toLowerCase()).id, s.id);
  assert.deepEqual(sessmgr.sessionsList(), [info]);
  for (const shown of [inspect(s), JSON.stringify(s), String(s)]) {
    assert.ok(!shown.includes(s.id), `a Session logged shows its ID: ${shown}`);
  }
  s.close();
  assert.equal(sessmgr.sessionInfo(s.id), null);
  assert.equal(sessmgr.sessionInfo('not an id'), null);
  assert.throws(() => s.touch(), sessmgr.NotFoundError);
});

test('every failure is an Error subclass carrying the status and the library message', () => {
  const s = sessmgr.createSession();
  s.close();
  try {
    s.touch();
    assert.fail('touch of a closed session succeeded');
  } catch (error) {
    assert.ok(error instanceof sessmgr.NotFoundError);
    assert.ok(error instanceof sessmgr.SessmgrError);
    assert.ok(error instanceof Error);
    assert.equal(error.status, 4);
    assert.equal(error.name, 'NotFoundError');
    assert.match(error.message, /^sessmgr_session_touch: /);
    assert.ok(!error.message.includes(s.id), 'an error message never shows a session ID');
  }
  assert.throws(() => sessmgr.configure({ maxSessionz: 1 }), sessmgr.InvalidArgumentError);
  assert.throws(() => sessmgr.createSession({ type: 'ftp' }), {
    name: 'InvalidArgumentError',
    status: 2,
  });
  assert.throws(() => sessmgr.loadRoles('{"privileges": ['), sessmgr.InvalidJsonError);
  assert.throws(() => sessmgr.clockAdvance(1), sessmgr.BadStateError);
  sessmgr.configure({ maxSessions: 1, overloadPolicy: 'refuse' });
  sessmgr.createSession();
  assert.throws(() => sessmgr.createSession(), sessmgr.LimitExceededError);
  // What JS can hold but C cannot take is refused before the call.
  assert.throws(() => new sessmgr.Session('nul\0inside'), sessmgr.InvalidArgumentError);
  assert.throws(() => sessmgr.createSession({ IPAddress: 10n }), sessmgr.InvalidArgumentError);
  assert.throws(() => sessmgr.clockAdvance(1.5), sessmgr.InvalidArgumentError);
  assert.throws(() => sessmgr.sendMessage(-1, 'x'), sessmgr.InvalidArgumentError);
  assert.equal(sessmgr.version().split('.').length, 3);
});

test('the identifier is FileMaker’s, within its limit', () => {
  const s = sessmgr.createSession({ type: 'remote', userName: 'Guest' });
  assert.equal(s.identifier, '');
  s.identifier = 'S1234567 é';
  assert.equal(s.identifier, 'S1234567 é');
  assert.equal(sessmgr.clientsList().response.clients[0].userName, 'S1234567 é');
  assert.throws(() => {
    s.identifier = 'x'.repeat(257);
  }, sessmgr.LimitExceededError);
  assert.throws(() => {
    s.identifier = 'nul\0inside';
  }, sessmgr.InvalidArgumentError);
  assert.equal(s.identifier, 'S1234567 é');
  const local = sessmgr.createSession({ type: 'standalone' });
  assert.throws(() => {
    local.identifier = 'x';
  }, sessmgr.NotSupportedError);
});

test('a request in one call: activity, a privilege and a storage read', () => {
  sessmgr.configure({ clock: 'manual' });
  sessmgr.loadRoles(SEED_ROLES);
  const s = sessmgr.createSession();
  s.setPrivileges('medium');
  s.storage.set('cart', [1, 2]);
  const before = s.expirationDate.getTime();
  sessmgr.clockAdvance(600);
  assert.deepEqual(s.request('simple', '/cart'), { granted: true, value: [1, 2] });
  assert.ok(s.expirationDate.getTime() > before);
  assert.deepEqual(s.request('WebAdmin', '/nothing'), { granted: false, value: sessmgr.MISSING });
  assert.deepEqual(s.request(), { granted: undefined, value: undefined });
  assert.throws(() => s.request('simple', 'no-slash'), sessmgr.InvalidArgumentError);
});

test('permissions as 4D resolves them from roles.json', () => {
  sessmgr.loadRoles({
    privileges: [{ privilege: 'general' }, { privilege: 'detail' }],
    roles: [{ role: 'Manager', privileges: ['general'] }],
    permissions: {
      allowed: [
        { applyTo: 'Employee', type: 'dataclass', read: ['general'] },
        { applyTo: 'Employee.salary', type: 'attribute', read: ['detail'] },
      ],
    },
    restrictedByDefault: true,
  });
  const web = sessmgr.createSession();
  assert.equal(web.hasPermission('Employee', 'read'), false);
  web.setPrivileges({ roles: 'Manager' });
  assert.equal(web.hasPermission('Employee.name', 'read'), true);
  assert.equal(web.hasPermission('Employee.salary', 'read'), false);
  const why = web.explainPermission('Employee.salary', 'read');
  assert.equal(why.allowed, false);
  assert.deepEqual(why.checks[0].requires[1].privileges[0].through, ['through role "Manager"']);
  assert.equal(sessmgr.createSession({ type: 'remote' }).hasPermission('Employee', 'create'), true);
  assert.throws(() => web.hasPermission('Employee', 'Read'), (e) => e instanceof sessmgr.InvalidArgumentError && /case-sensitive/.test(e.message));
  assert.throws(() => web.explainPermission('a.b.c', 'read'), sessmgr.InvalidArgumentError);
  assert.throws(() => web.hasPermission('nul\0', 'read'), sessmgr.InvalidArgumentError);
});

test('privileges and roles as 4D has them, and the rotation at login', () => {
  sessmgr.loadRoles(SEED_ROLES);
  const web = sessmgr.createSession();
  assert.ok(web.isGuest());
  assert.equal(web.setPrivileges({ roles: ['Medium'], privileges: 'ghost', userName: 'ann' }), true);
  assert.deepEqual(web.ignoredPrivileges, ['ghost']);
  assert.deepEqual(web.getPrivileges(), ['simple', 'medium']);
  assert.equal(web.hasPrivilege('simple'), true);
  assert.equal(web.hasPrivilege('WebAdmin'), false);
  assert.equal(web.userName, 'ann');
  assert.equal(web.clearPrivileges(), true);
  assert.ok(web.isGuest());
  const remote = sessmgr.createSession({ type: 'remote' });
  assert.equal(remote.setPrivileges('simple'), false);
  assert.equal(remote.hasPrivilege('anything'), true);

  web.storage.set('cart', [1]);
  const before = web.id;
  const after = web.rotateId({ privileges: ['medium'], userName: 'bob' });
  assert.equal(after, web.id);
  assert.notEqual(after, before);
  assert.equal(sessmgr.sessionInfo(before), null);
  assert.equal(web.userName, 'bob');
  assert.ok(web.hasPrivilege('simple'));
  assert.deepEqual(web.storage.get('cart'), [1]);
  assert.deepEqual(sessmgr.userSessions('bob').map((c) => c.id), [String(web.clientId)]);
  assert.equal(sessmgr.userCloseSessions('bob'), 1);
  assert.throws(() => web.touch(), sessmgr.NotFoundError);
});

test('the storage: keys, JSON Pointers and merge patches', () => {
  const s = sessmgr.createSession();
  const storage = s.storage;
  assert.deepEqual(storage.value(), {});
  assert.equal(storage.get('cart'), undefined);
  storage.set('cart', { items: [42] }).set('a/b~c', 'odd key');
  assert.deepEqual(storage.get('cart'), { items: [42] });
  assert.equal(storage.get('a/b~c'), 'odd key');
  assert.equal(storage.getAt('/a~1b~0c'), 'odd key');
  assert.deepEqual(storage.keys().sort(), ['a/b~c', 'cart']);
  assert.ok(storage.has('cart') && !storage.has('nothing'));
  storage.setAt('/cart/items/-', 43);
  assert.deepEqual(storage.getAt('/cart/items'), [42, 43]);
  assert.throws(() => storage.getAt('/cart/none'), sessmgr.NoValueError);
  storage.merge({ cart: null, user: { name: 'Ann' } });
  assert.deepEqual(storage.value(), { 'a/b~c': 'odd key', user: { name: 'Ann' } });
  assert.equal(storage.delete('user'), true);
  assert.equal(storage.delete('user'), false);
  assert.throws(() => storage.removeAt('/user'), sessmgr.NoValueError);
  assert.throws(() => storage.set('f', () => 1), sessmgr.InvalidArgumentError);
  assert.throws(() => storage.set('big', 1n), sessmgr.InvalidArgumentError);
  assert.throws(() => storage.getAt('no slash'), sessmgr.InvalidArgumentError);
  assert.deepEqual(storage.value(), { 'a/b~c': 'odd key' });
});

test('compareAndSet and increment are atomic with no callback', () => {
  const storage = sessmgr.createSession().storage;
  storage.compareAndSet('/cart', sessmgr.MISSING, { b: 2, a: [1] });
  // Equal as JSON: another order of members, 1.0 for 1.
  storage.compareAndSet('/cart', { a: [1.0], b: 2 }, null);
  assert.equal(storage.get('cart'), null);
  assert.throws(() => storage.compareAndSet('/cart', 'secret', 1), (error) => {
    assert.ok(error instanceof sessmgr.ConflictError);
    assert.equal(error.status, 13);
    assert.ok(!error.message.includes('secret'));
    assert.match(error.message, /null of 4 bytes/);
    return true;
  });
  storage.compareAndSet('/cart', null, sessmgr.MISSING);
  assert.ok(!storage.has('cart'));
  assert.equal(storage.increment('/n'), 1);
  assert.equal(storage.increment('/n', -5), -4);
  assert.equal(storage.increment('/big', 2n ** 62n), 2n ** 62n, 'beyond 2^53: a BigInt');
  assert.throws(() => storage.increment('/big', 2n ** 62n), sessmgr.LimitExceededError);
  storage.set('s', '1');
  assert.throws(() => storage.increment('/s'), sessmgr.ConflictError);
  assert.throws(() => storage.increment('/n', 2n ** 63n), sessmgr.InvalidArgumentError);
  assert.throws(() => storage.increment('/n', 0.5), sessmgr.InvalidArgumentError);
  assert.equal(storage.increment('/n', 0), -4);
  assert.deepEqual(Object.keys(storage.value()).sort(), ['big', 'n', 's']);
});

test('timeouts, the absolute lifetime, and the manual clock', () => {
  sessmgr.configure({ clock: 'manual' });
  const s = sessmgr.createSession({ idleTimeout: 75 });
  assert.equal(s.idleTimeout, 75);
  s.idleTimeout = 90;
  assert.equal(s.idleTimeout, 90);
  assert.ok(s.expirationDate instanceof Date);
  assert.equal(s.lifetimeEnd, null);
  const end = new Date(Date.parse(s.info.creationDateTime) + 3_600_000);
  s.lifetimeEnd = end;
  assert.equal(s.lifetimeEnd.getTime(), end.getTime());
  assert.throws(() => {
    s.lifetimeEnd = new Date('nonsense');
  }, sessmgr.InvalidArgumentError);
  s.lifetimeEnd = null;
  assert.equal(s.lifetimeEnd, null);
  sessmgr.clockAdvance(89 * 60);
  s.touch();
  sessmgr.clockAdvance(91 * 60);
  assert.equal(sessmgr.sweep(), 1);
  assert.equal(sessmgr.sessionCount(), 0);
});

test('clients by number, messages, files, passcodes, queries and stats', () => {
  const s = sessmgr.createSession({ IPAddress: '192.0.2.7' });
  const client = s.clientId;
  assert.ok(client > 0);
  const listed = sessmgr.clientsList().response.clients;
  assert.deepEqual(listed.map((c) => c.id), [String(client)]);
  assert.ok(!JSON.stringify(listed).includes(s.id));
  sessmgr.sendMessage(client, 'The server restarts at noon.');
  assert.deepEqual(s.takeMessages().map((m) => m.text), ['The server restarts at noon.']);
  assert.deepEqual(s.takeMessages(), []);
  s.attachFile('Invoices', { accountName: 'ann' });
  assert.deepEqual(sessmgr.clientsList().response.clients[0].guestFiles.map((f) => f.filename), ['Invoices']);
  s.detachFile('Invoices');
  assert.throws(() => s.detachFile('Invoices'), sessmgr.NoValueError);

  const token = s.createOtp(60);
  assert.equal(sessmgr.restore(token).id, s.id);
  assert.throws(() => sessmgr.restore(token), sessmgr.NotFoundError);

  sessmgr.createSession({ type: 'rest', IPAddress: '198.51.100.1' });
  const page = sessmgr.clientsQuery({ ipaddress: '192.0.2.', limit: 10 });
  assert.equal(page.total, 1);
  assert.deepEqual(page.clients.map((c) => c.id), [String(client)]);
  const sessions = sessmgr.sessionsQuery({ type: 'rest' });
  assert.equal(sessions.total, 1);
  assert.ok(!JSON.stringify(sessions).includes(s.id));
  assert.throws(() => sessmgr.sessionsQuery({ type: 'ftp' }), sessmgr.InvalidArgumentError);
  assert.equal(typeof sessmgr.stats(), 'object');

  sessmgr.disconnectClient(client, 'Please save your work.', 60);
  assert.equal(s.info.state, 'disconnecting');
  assert.ok('disconnectAt' in s.takeMessages()[0]);
  assert.throws(() => sessmgr.disconnectClient(client, null, -1), sessmgr.InvalidArgumentError);
  sessmgr.disconnectClient(client);
  assert.throws(() => s.touch(), sessmgr.NotFoundError);
});

test('every string the library hands out is freed', () => {
  // 100,000 reads of a 10 KB value: 1 GB if the strings were kept, about nothing if freed.
  const s = sessmgr.createSession();
  s.storage.set('blob', 'x'.repeat(10_000));
  const read = () => {
    for (let i = 0; i < 100_000; i += 1) s.storage.get('blob');
  };
  read(); // the heap's own growth first
  const before = process.memoryUsage.rss();
  read();
  const grown = process.memoryUsage.rss() - before;
  assert.ok(grown < 200 * 2 ** 20, `the process grew by ${grown} bytes`);
});

test('a library that cannot be found says where it looked', () => {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', "import 'sessmgr'"], {
    env: { ...process.env, SESSMGR_LIBRARY: '/nowhere/libsessmgr.so', LD_LIBRARY_PATH: '' },
    cwd: new URL('..', import.meta.url),
    encoding: 'utf8',
  });
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /LibraryNotFoundError/);
  assert.match(result.stderr, /\/nowhere\/libsessmgr\.so/);
  assert.match(result.stderr, /SESSMGR_LIBRARY/);
});
