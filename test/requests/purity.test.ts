import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

function sources(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(ROOT, folder, f));
}

describe('purity of src/requests and src/plans', function () {
  const allowed: Record<string, string[]> = { 'src/requests': ['src/requests'], 'src/plans': ['src/plans', 'src/requests'] };
  for (const [folder, may] of Object.entries(allowed)) {
    it(`${folder} imports only ${may.join(' and ')}, and reads no clock, randomness or environment`, function () {
      for (const file of sources(folder)) {
        const text = readFileSync(file, 'utf8');
        const specs = [...text.matchAll(/(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
        for (const spec of specs) {
          assert.ok(spec.startsWith('.'), `${relative(ROOT, file)} imports the package "${spec}"`);
          const target = relative(ROOT, resolve(dirname(file), spec));
          assert.ok(may.some((m) => target === m || target.startsWith(`${m}/`)), `${relative(ROOT, file)} imports ${target}`);
        }
        assert.doesNotMatch(text, /Date\.now\(|new Date\(\)|Math\.random|process\.|performance\.now/, `${relative(ROOT, file)} is not pure`);
      }
    });
  }
});
