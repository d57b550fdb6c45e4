import { testConnection } from '../../src/core/test-connection.js';
import { provisionRegistry } from '../support/app-role.js';

describe('testConnection against the test server', () => {
  test('a provisioned application role passes all ten checks', async () => {
    const registry = await provisionRegistry();
    const result = await testConnection(registry.context());
    console.log(JSON.stringify(result, null, 2));
    expect(result.ok).toBe(true);
    await registry.drop();
  });
});
