// Where this package is installed: the directory of its package.json (this file is
// dist/package-root.js, or src/package-root.ts when run from source).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
