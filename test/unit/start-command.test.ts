/**
 * `npm start` and the production start command: package.json's start script is the one place the V8 limits and the
 * process environment (glibc's malloc arenas) are written; the bundle, infra/ and the bench take them from there.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PRODUCTION_ENTRY, productionStartCommand, startEnvironment } from '../../src/cli/bundle';
import { projectRoot } from '../../src/paths';

const projectStart = (JSON.parse(readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;

describe('the start command', function () {
  it('npm start limits the malloc arenas and the V8 heap', function () {
    assert.deepEqual(startEnvironment(projectStart), { MALLOC_ARENA_MAX: '2' });
    assert.equal(productionStartCommand(projectStart), `node --max-semi-space-size=4 --max-old-space-size=384 ${PRODUCTION_ENTRY}`);
  });

  it('takes the environment before node, and the flags, from any start script of that form', function () {
    const start = 'MALLOC_ARENA_MAX=4 UV_THREADPOOL_SIZE=2 node --max-old-space-size=256 dist/src/cli/start.js';
    assert.deepEqual(startEnvironment(start), { MALLOC_ARENA_MAX: '4', UV_THREADPOOL_SIZE: '2' });
    assert.equal(productionStartCommand(start), `node --max-old-space-size=256 ${PRODUCTION_ENTRY}`);
    assert.deepEqual(startEnvironment('node dist/src/cli/start.js'), {});
    // a NAME=value after node is an argument of node's, not the environment
    assert.deepEqual(startEnvironment('node X=1 dist/src/cli/start.js'), {});
  });

  it('App Service gets the same environment as app settings', function () {
    const web = readFileSync(path.join(projectRoot(), 'infra', 'modules', 'web.bicep'), 'utf8');
    for (const [name, value] of Object.entries(startEnvironment(projectStart))) {
      assert.match(web, new RegExp(`^\\s*${name}: '${value}'$`, 'm'), `infra/modules/web.bicep sets the app setting ${name}=${value}`);
    }
  });
});
