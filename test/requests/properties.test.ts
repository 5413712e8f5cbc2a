/**
 * Property-based tests: for every form kind, 10,000 random inputs (unicode, empty, huge, control characters,
 * injection-like text, quotes, wrong types, unknown keys …) never make validation throw; each yields either
 * FieldErrors (a known field, a non-empty message) or a request that passes an invariant check written
 * independently of the validator — and that the planner accepts in the same tenant. The command line
 * round-trips values and never throws on any text.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { plan } from '../../src/plans/planner';
import { formatCommand, parseCommand } from '../../src/requests/command-line';
import { KIND_IDS, KINDS } from '../../src/requests/kinds';
import { validateRequest } from '../../src/requests/validate';
import { FakeLookup, sampleObjects } from './fixtures';
import { NASTY, profiles, valuesFor } from './generators';
import { BAD_CHARS, broken } from './invariants';

const RUNS = 10_000;
const timings: string[] = [];

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe('properties: validation never throws and yields errors or sound requests', function () {
  this.timeout(300_000);
  const lookup = new FakeLookup(sampleObjects());

  for (const kind of KIND_IDS) {
    it(`${kind}: ${RUNS} random inputs`, async function () {
      const known = new Set([...KINDS[kind].fields.map((f) => f.id), 'request', 'kind']);
      let valid = 0;
      let rejected = 0;
      const started = process.hrtime.bigint();
      await fc.assert(
        fc.asyncProperty(valuesFor(kind), profiles, async (values, profile) => {
          const r = await validateRequest(kind, values, { lookup, profile });
          if (r.ok) {
            valid++;
            assert.equal(r.request.kind, kind);
            assert.deepEqual(await broken(r.request, profile, lookup), [], JSON.stringify(r.request));
            const p = plan(r.request, profile); // validated in this tenant → the planner accepts it
            assert.ok(p.steps.length > 0);
          } else {
            rejected++;
            assert.ok(r.errors.length > 0);
            for (const e of r.errors) {
              assert.ok(known.has(e.field), `unknown field ${e.field}`);
              assert.ok(typeof e.message === 'string' && e.message.length > 0 && e.message.length < 2000, e.message);
              assert.doesNotMatch(e.message, BAD_CHARS, 'messages never carry control or invisible characters');
              assert.doesNotMatch(e.message, /could not be validated/, 'every rejection names its reason');
            }
          }
        }),
        { numRuns: RUNS },
      );
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      timings.push(`${kind}: ${ms.toFixed(0)} ms (${valid} valid, ${rejected} with errors)`);
      assert.equal(valid + rejected, RUNS);
      assert.ok(valid > RUNS / 100, `only ${valid} valid inputs: the generator no longer reaches the deeper rules`);
    });
  }
});

describe('properties: the command line', function () {
  this.timeout(120_000);

  after(function () {
    console.log(`      property test timings (${RUNS} runs each):\n        ${timings.join('\n        ')}`);
  });

  it(`round-trips any values of every kind (${RUNS} runs)`, function () {
    const started = process.hrtime.bigint();
    const value = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.constantFrom(...NASTY, '"quoted"', 'a=b', '“smart”', '\\"', 'to'));
    const kindAndValues = fc.constantFrom(...KIND_IDS).chain((kind) =>
      fc.tuple(fc.constant(kind), fc.dictionary(fc.constantFrom(...KINDS[kind].fields.map((f) => f.id)), value, { maxKeys: KINDS[kind].fields.length })),
    );
    fc.assert(
      fc.property(kindAndValues, ([kind, values]) => {
        const line = formatCommand(kind, values);
        const parsed = parseCommand(line);
        assert.ok(parsed.ok, `${line}: ${JSON.stringify(parsed)}`);
        assert.equal(parsed.kind, kind);
        assert.deepEqual(parsed.values, { ...values });
      }),
      { numRuns: RUNS },
    );
    timings.push(`command line round trip: ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(0)} ms`);
  });

  it(`never throws on any text (${RUNS} runs)`, function () {
    const started = process.hrtime.bigint();
    const phrase = fc.constantFrom('', 'new mailbox ', 'new shared ', 'convert ', 'offboard ', 'cloud-managed ', 'add address ', 'new ');
    fc.assert(
      fc.property(phrase, fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom(...NASTY)), (p, rest) => {
        const r = parseCommand(p + rest);
        if (!r.ok) for (const e of r.errors) assert.ok(e.message.length > 0 && e.field.length > 0);
      }),
      { numRuns: RUNS },
    );
    timings.push(`command line, any text: ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(0)} ms`);
  });
});
