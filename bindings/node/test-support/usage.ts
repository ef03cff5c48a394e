// Type-checked by declarations.test.js (tsc --strict --noEmit): the API as a TypeScript user
// writes it, against index.d.ts. Each @ts-expect-error line must be an error, or tsc fails.
import * as sessmgr from 'sessmgr';
import { ConflictError, MISSING, Session, createSession } from 'sessmgr';

const web: Session = createSession({ type: 'web', IPAddress: '192.0.2.7', idleTimeout: 90 });
const id: string = web.rotateId({ privileges: ['WebAdmin'], userName: 'ann' });
const admin: boolean = web.hasPrivilege('WebAdmin');
const mayRead: boolean = web.hasPermission('City.name', 'read');
const { granted, value } = web.request('WebAdmin', '/cart');
console.log(granted === true, value === MISSING);
const why: sessmgr.PermissionExplanation = web.explainPermission('City', 'execute');
const info: sessmgr.SessionInfo = web.info;
const type: 'web' | 'rest' | 'remote' | 'storedProcedure' | 'standalone' = info.type;
web.identifier = 'ann@kiosk-3';
web.storage.set('cart', [42]).set('user', { name: 'Ann' });
const cart: sessmgr.Json | undefined = web.storage.get('cart');
const visits: number | bigint = web.storage.increment('/visits', 1n);
try {
  web.storage.compareAndSet('/cart', MISSING, { items: [] });
} catch (error) {
  if (error instanceof ConflictError) {
    const status: number = error.status;
    console.log(status, error.message);
  }
}
const end: Date | null = web.lifetimeEnd;
web.lifetimeEnd = null;
const page = sessmgr.clientsQuery({ search: 'kiosk', limit: 20 });
const total: number = page.total;
sessmgr.disconnectClient(web.clientId, 'bye', 60);
const found: sessmgr.SessionInfo | null = sessmgr.sessionInfo(id);
console.log(mayRead, why.reason, why.checks[0]?.requires?.[0]?.privileges[0]?.through);
console.log(admin, type, cart, visits, end, total, found, sessmgr.ERRORS.get(4)?.name);

// @ts-expect-error: a privilege is a string
web.hasPrivilege(42);
// @ts-expect-error: actions are 4D's, case-sensitive
web.hasPermission('City', 'Read');
// @ts-expect-error: the ID is read-only
web.id = 'x';
// @ts-expect-error: not JSON
web.storage.set('f', () => 1);
// @ts-expect-error: the state is one of three
web.state = 'asleep';
