// Issues the first key of a new key ring (what `keyward api-keys create` does against a stored
// ring): prints `{ ring, key }` as JSON. The ring goes into the API_KEYS secret, the key to the client.
import { createApiKey, emptyKeyRing } from '@keyward/core';

const pepper = process.env.API_KEY_PEPPER;
if (pepper === undefined) throw new Error('API_KEY_PEPPER is not set');
const { ring, key } = createApiKey(emptyKeyRing(), { client: 'partner', env: 'live', scopes: ['charges:read'], pepper });
console.log(JSON.stringify({ ring, key }));
