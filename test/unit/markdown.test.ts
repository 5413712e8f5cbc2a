/**
 * Adaptive Card markdown escaping, and the card renderer that applies it to every bound value in one place: a
 * template's own text stays markup, a value never does, plain-text properties (inputs, choices, action data) get
 * values as they are. The renderer is tested on a template written here, as a new card would be: it cannot forget.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { CardRenderer, type CardName } from '../../src/bot/cards';
import { bulletList, escapeMarkdown, md } from '../../src/bot/markdown';

/** What CommonMark shows for backslash escapes: the character alone. */
const shown = (markdown: string): string => markdown.replace(/\\([!-/:-@[-`{-~])/g, '$1');

/** Markup characters not escaped (inline anywhere; block markers at a line start). */
function unescapedMarkup(markdown: string): string[] {
  const found: string[] = [];
  for (const line of markdown.split('\n')) {
    if (/^\s*([#>+=|-]|\d+[.)])/.test(line)) found.push(`line start: ${line}`);
    for (let i = 0; i < line.length; i++) {
      if (line[i] === '\\') i++;
      else if ('[]*_<`~'.includes(line[i] ?? '')) found.push(`${line[i]} in ${line}`);
    }
    // an escaped ampersand is no entity, and does not join what stands around it into one (`&\&a;` shows as `&&a;`)
    if (/&(#\d+|#x[0-9a-f]+|[a-z]\w*);/i.test(line.replace(/\\&/g, ' '))) found.push(`entity in ${line}`);
    if (/(^|[^\\])(https?:\/\/|www\.)/i.test(line)) found.push(`bare link in ${line}`);
  }
  return found;
}

describe('escapeMarkdown', function () {
  const cases: [string, string][] = [
    ['[Approve here](https://evil.example/phish)', '\\[Approve here\\](https\\://evil.example/phish)'],
    ['**bold** _it_ ~~del~~ `code`', '\\*\\*bold\\*\\* \\_it\\_ \\~\\~del\\~\\~ \\`code\\`'],
    ['# Heading', '\\# Heading'],
    ['- item', '\\- item'],
    ['+ item', '\\+ item'],
    ['> quote', '\\> quote'],
    ['12. item', '12\\. item'],
    ['3) item', '3\\) item'],
    ['<at>Ada</at>', '\\<at>Ada\\</at>'],
    ['back\\slash', 'back\\\\slash'],
    ['&amp; &#42; &x', '\\&amp; \\&#42; &x'],
    ['&&a;', '&\\&a;'],
    ['see www.evil.example', 'see www\\.evil.example'],
    ['line one\n# two\r\n- three', 'line one\n\\# two\n\\- three'],
    ["O'Brien", "O'Brien"],
    ['Sales & Marketing', 'Sales & Marketing'],
    ['Ångström-Müller 2025-03-03 R-12', 'Ångström-Müller 2025-03-03 R-12'],
    ['ada.byron@contoso.example', 'ada.byron@contoso.example'],
  ];
  for (const [value, escaped] of cases) {
    it(`${JSON.stringify(value)} → ${JSON.stringify(escaped)}`, function () {
      assert.equal(escapeMarkdown(value), escaped);
      assert.deepEqual(unescapedMarkup(escapeMarkdown(value)), []);
    });
  }

  it('reads the same for any text, and leaves no markup (property)', function () {
    const text = fc.string({ unit: fc.constantFrom(...'ab 1.#-+*_[]()<>`~\\&;!:/|=w\n'.split('')), maxLength: 60 });
    fc.assert(
      fc.property(text, (s) => {
        const out = escapeMarkdown(s);
        assert.equal(shown(out), s.split('\n').map((l) => l.replace(/^[ \t]+/, '')).join('\n'));
        assert.deepEqual(unescapedMarkup(out), []);
      }),
      { numRuns: 2000 },
    );
  });

  it('a text with nothing to escape comes back as it is, exactly as the line-by-line escape would give it (property)', function () {
    // A CR at the end makes escapeMarkdown take its line-by-line path whatever the text: that path's answer, plus a line
    // break for the CR, is what the text alone must give.
    const text = fc.string({ unit: fc.constantFrom(...'aW w.1)9#-+*_[]<`~\\&:/|=>\t\r\nxyz'.split(''), 'http://', 'WWW.', 'Www.x', '&amp;', '12.', '\n3)'), maxLength: 30 });
    fc.assert(
      fc.property(text, (s) => assert.equal(escapeMarkdown(s), escapeMarkdown(`${s}\r`).slice(0, -1))),
      { numRuns: 5000 },
    );
    for (const plain of ['Bench Loadrxnba', 'bench.loadrxnba@contoso.example', 'Waiting for approval.', 'R-1 · User mailbox']) assert.equal(escapeMarkdown(plain), plain);
  });

  it('md escapes what it interpolates and keeps its own markup; inside a code span only backticks change', function () {
    assert.equal(md`Type **help**, ${'*not bold*'}`.source, 'Type **help**, \\*not bold\\*');
    assert.equal(md`run \`${'a*b`c'}\` now`.source, 'run `a*bˋc` now');
    assert.equal(md`outer ${md`**inner**`}`.source, 'outer **inner**');
    assert.equal(bulletList(['a*b', '# c']).source, '- a\\*b\n- \\# c');
  });
});

describe('CardRenderer: values are escaped wherever a card shows them as markdown', function () {
  let dir: string;
  let cards: CardRenderer;
  const name = 'notice' as CardName; // the renderer reads cards/<name>.json from its directory: a template written here

  before(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mailroom-markdown-'));
    const template = {
      type: 'AdaptiveCard',
      version: '1.5',
      body: [
        { type: 'TextBlock', text: '**${title}** by ${who}', wrap: true },
        { type: 'TextBlock', text: '${text}', $when: "${tone == 'a_b'}" },
        { type: 'TextBlock', text: 'Try \\`${command}\\` or ${if(count(list) > 0, join(list, \', \'), \'none\')}' },
        { type: 'TextBlock', $data: '${list}', text: '• ${$data}' },
        { type: 'FactSet', facts: '${facts}' },
        { type: 'FactSet', facts: [{ $data: '${facts}', title: '${title}', value: '${value}' }] },
        { type: 'Container', items: '${blocks}' },
        { type: 'Input.Text', id: 'v', label: '${title}', value: '${who}', placeholder: '${who}' },
        { type: 'Input.ChoiceSet', id: 'c', label: 'C', choices: [{ $data: '${facts}', title: '${title}', value: '${value}' }] },
      ],
      actions: [{ type: 'Action.Execute', title: '${title}', verb: 'x', data: { who: '${who}' } }],
    };
    writeFileSync(path.join(dir, 'notice.json'), JSON.stringify(template));
    cards = new CardRenderer(dir);
  });

  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  const EVIL = '[Approve here](https://evil.example/phish)';

  it('escapes every binding in TextBlocks and facts (also when the facts or blocks are bound whole), keeps the template markup', function () {
    const card = cards.render(name, {
      title: 'a_b*c',
      who: EVIL,
      tone: 'a_b',
      text: '# heading',
      command: 'new x`y',
      list: ['- one', '**two**'],
      facts: [{ title: 'Department', value: EVIL }],
      blocks: [{ type: 'TextBlock', text: EVIL }],
    });
    const body = card.body as Record<string, unknown>[];
    const texts = body.filter((b) => b.type === 'TextBlock').map((b) => b.text);
    assert.deepEqual(texts, [
      '**a\\_b\\*c** by \\[Approve here\\](https\\://evil.example/phish)',
      '\\# heading',
      'Try `new xˋy` or \\- one, \\*\\*two\\*\\*',
      '• \\- one',
      '• \\*\\*two\\*\\*',
    ]);
    const factSets = body.filter((b) => b.type === 'FactSet').map((b) => b.facts);
    assert.deepEqual(factSets, [[{ title: 'Department', value: '\\[Approve here\\](https\\://evil.example/phish)' }], [{ title: 'Department', value: '\\[Approve here\\](https\\://evil.example/phish)' }]]);
    assert.deepEqual((body.find((b) => b.type === 'Container')?.items as Record<string, unknown>[])[0]?.text, '\\[Approve here\\](https\\://evil.example/phish)');
    // Plain-text properties: as they are.
    const input = body.find((b) => b.type === 'Input.Text');
    assert.deepEqual([input?.label, input?.value, input?.placeholder], ['a_b*c', EVIL, EVIL]);
    assert.deepEqual((body.find((b) => b.type === 'Input.ChoiceSet')?.choices as unknown[])[0], { title: 'Department', value: EVIL });
    assert.deepEqual((card.actions as Record<string, unknown>[])[0], { type: 'Action.Execute', title: 'a_b*c', verb: 'x', data: { who: EVIL } });
  });

  it('md values are markup; marker characters in data cannot make a value markup, and come back as typed', function () {
    const who = '\uE000[a](https://evil.example)\uE001\uE002\uE003';
    const card = cards.render(name, { title: md`**${'x_y'}**`, who, tone: '', text: '', command: '', list: [], facts: [], blocks: [] });
    const first = (card.body as Record<string, unknown>[])[0]?.text;
    // escaped as any value is: the link is text, the characters are the ones typed
    assert.equal(first, '****x\\_y**** by \uE000\\[a\\](https\\://evil.example)\uE001\uE002\uE003');
    // a plain-text property (an input's value, as a form echoes what was typed) has them unchanged
    const input = (card.body as Record<string, unknown>[]).find((b) => b.type === 'Input.Text');
    assert.equal(input?.value, who);
    assert.deepEqual((card.actions as Record<string, unknown>[])[0]?.data, { who });
  });
});
