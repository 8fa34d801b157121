/**
 * Where the local cloud's parts live: the package (plugin, requirements; only read) and the
 * project (state), which `fnmesh local` finds the way npm finds a project.
 */
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot, projectDirOf, stateDirOf } from '../../infra/localstack/localstack.ts';

describe('the local cloud’s places', () => {
  const scratch = realpathSync(mkdtempSync(join(tmpdir(), 'fnmesh-places-')));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('the package root holds the plugin, its pinned requirements and the Lambda SDK manifests', () => {
    for (const file of ['plugin/pyproject.toml', 'requirements.txt', 'constraints.txt', 'lambda-sdk/v3/package-lock.json'])
      expect(existsSync(join(packageRoot, 'infra', 'localstack', file)), file).toBe(true);
  });

  it('the project is the nearest folder up with a package.json', () => {
    const project = join(scratch, 'service');
    mkdirSync(join(project, 'src', 'handlers'), { recursive: true });
    writeFileSync(join(project, 'package.json'), '{}');
    expect(projectDirOf({}, join(project, 'src', 'handlers'))).toBe(project);
    expect(projectDirOf({}, project)).toBe(project);
  });

  it('FNMESH_PROJECT_DIR names the project (relative to the working directory)', () => {
    expect(projectDirOf({ FNMESH_PROJECT_DIR: '/srv/app' }, scratch)).toBe('/srv/app');
    expect(projectDirOf({ FNMESH_PROJECT_DIR: 'app' }, scratch)).toBe(join(scratch, 'app'));
  });

  it('without a package.json up the tree, the working directory', () => {
    const bare = join(scratch, 'bare');
    mkdirSync(bare);
    // Only if nothing above the scratch folder has a package.json (as under /tmp).
    if (projectDirOf({}, scratch) === scratch) expect(projectDirOf({}, bare)).toBe(bare);
  });

  it('state goes to .localstack/ on 4566 and .localstack-<port>/ on any other port', () => {
    expect(stateDirOf('/srv/app', 4566)).toBe('/srv/app/.localstack');
    expect(stateDirOf('/srv/app', 4722)).toBe('/srv/app/.localstack-4722');
  });
});
