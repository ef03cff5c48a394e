// The Node quick start of docs/node.md (run by the package's tests).
import * as sessmgr from 'sessmgr';

const web = sessmgr.createSession({ IPAddress: '192.0.2.7' }); // a web guest
web.rotateId({ privileges: ['WebAdmin'], userName: 'ann' }); // the login: a new ID
web.storage.set('cart', [42]);
const visits = web.storage.increment('/visits');
console.log(`admin=${web.hasPrivilege('WebAdmin') ? 'yes' : 'no'} visits=${visits} cart=${JSON.stringify(web.storage.get('cart'))}`);
web.close();
