import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { storeRoutesFromDeployment } from '../../src/hub/store/index.js';

describe('the store part of a deployment', () => {
  it('takes routes, schema version and storeAndForwardConfiguration.timeToLiveSecs', () => {
    const routes = { r: 'FROM /messages/* INTO $upstream' };
    assert.deepEqual(storeRoutesFromDeployment({ schemaVersion: '1.1', routes, storeAndForwardConfiguration: { timeToLiveSecs: 60 } }), { routes, schemaVersion: '1.1', timeToLiveSecs: 60 });
  });

  it('ignores a missing or unusable TTL (the store default applies) and missing routes', () => {
    assert.deepEqual(storeRoutesFromDeployment({}), { routes: {} });
    for (const timeToLiveSecs of [0, -5, '60', null, Number.NaN]) {
      assert.deepEqual(storeRoutesFromDeployment({ storeAndForwardConfiguration: { timeToLiveSecs } }), { routes: {} }, String(timeToLiveSecs));
    }
  });
});
