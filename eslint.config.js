// @ts-check
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import noTicketComments from './eslint-rules/no-ticket-comments.js';

/** Zones resolve against this directory, so `npx eslint` gives the same answer from any working directory. */
const ROOT = import.meta.dirname;

/** Test code: every `test/` folder and every `*.test.ts`. Production code never imports it. */
const TEST_FILES = ['**/test/**', '**/*.test.ts'];

const STAGES = ['ingest', 'transcoder', 'packager', 'storage'];

/**
 * The import boundaries: each top-level folder and the folders it may import besides itself. Data flows one way
 * (STYLE.md, "The shape of the repository"): core → media → ingest → transcoder → packager → storage → pipeline →
 * api → player. A later stage may import an earlier one, never the other way round. db/ sits beside the stages and
 * only the orchestration (pipeline/) and the API use it: stages return results and do not write video rows. ops/
 * (configuration, composition roots, CLIs) is the top: only ops/, bench/ and tests import it.
 * @type {Record<string, readonly string[]>}
 */
const MAY_IMPORT = {
  core: [],
  media: ['core'],
  db: ['core'],
  ingest: ['core', 'media'],
  transcoder: ['core', 'media', 'ingest'],
  packager: ['core', 'media', 'ingest', 'transcoder'],
  storage: ['core', 'media', 'ingest', 'transcoder', 'packager'],
  pipeline: ['core', 'media', 'db', ...STAGES],
  api: ['core', 'media', 'db', ...STAGES, 'pipeline'],
  player: ['core', 'media', 'db', ...STAGES, 'pipeline', 'api'],
  bench: ['core', 'media', 'db', ...STAGES, 'pipeline', 'api', 'player', 'ops'],
  ops: ['core', 'media', 'db', ...STAGES, 'pipeline', 'api', 'player', 'bench'],
};
const LAYERS = Object.keys(MAY_IMPORT);

/**
 * The folders `folder` may not import, as one zone (none for a folder that may import everything).
 * @param {string} folder
 * @param {readonly string[]} allowed
 */
function layerZones(folder, allowed) {
  const from = LAYERS.filter((l) => l !== folder && !allowed.includes(l));
  const may = allowed.length ? allowed.map((l) => `${l}/`).join(', ') : 'nothing outside itself';
  return from.length ? [{ target: folder, from, message: `${folder}/ may import ${may} (data flows one way, see eslint.config.js).` }] : [];
}

/**
 * Two config blocks per folder. Its production files: the folders of its layer, and no test code. Its test files: any
 * production code, their own folder's test code and the shared `test/helpers/`, never another folder's tests or the
 * top-level suites in `test/`.
 * The top-level `test/` (system tests and helpers) and root files have no boundary.
 * @param {string} folder
 * @returns {import('eslint').Linter.Config[]}
 */
function boundaries(folder) {
  const allowed = MAY_IMPORT[folder] ?? [];
  const production = [
    ...layerZones(folder, allowed),
    { target: folder, from: ['**/test/**'], message: 'Production code never imports test code.' },
  ];
  // Tests live beside the code they test and may exercise it through any production module (an ingest test may start
  // the whole app); what they may not do is reach into another folder's tests: shared fixtures go to test/helpers/.
  const tests = [
    {
      target: folder,
      from: LAYERS.filter((l) => l !== folder).map((l) => `${l}/test`),
      message: "Tests use their own folder's test code and test/helpers/ only; move shared fixtures to test/helpers/.",
    },
    {
      target: folder,
      from: ['test'],
      except: ['./helpers'],
      message: 'Of the top-level test/, folder tests may import test/helpers/ only.',
    },
  ];
  const rule = 'import-x/no-restricted-paths';
  return [
    {
      name: `boundaries/${folder}`,
      files: [`${folder}/**`],
      ignores: TEST_FILES,
      rules: { [rule]: ['error', { basePath: ROOT, zones: production }] },
    },
    {
      name: `boundaries/${folder}-tests`,
      files: TEST_FILES.map((t) => `${folder}/${t}`),
      rules: { [rule]: ['error', { basePath: ROOT, zones: tests }] },
    },
  ];
}

export default defineConfig([
  globalIgnores(['data/', 'dist/', 'test-artifacts/', 'bench/results/', 'bench/.cache/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    name: 'project/all',
    plugins: { 'import-x': importX, local: { rules: { 'no-ticket-comments': noTicketComments } } },
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Swallowed errors are banned (STYLE.md): a catch block handles, rethrows or says in a comment why it may drop.
      'no-empty': ['error', { allowEmptyCatch: false }],
      'local/no-ticket-comments': 'error',
      // Input sanitizers (upload metadata) match control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    name: 'project/player',
    files: ['player/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  ...LAYERS.flatMap(boundaries),
]);
